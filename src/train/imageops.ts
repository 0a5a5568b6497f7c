// Image helpers for the training cache: decode any supported file to 8-bit RGB (HWC) and resize it with the
// MATLAB-compatible bicubic (rounded to uint8 after each pass, as MATLAB does on uint8 images).
import { outputSize, resizePlanes } from '../image/bicubic.js';
import { readImage, to8bit } from '../image/io.js';

export interface Rgb8 {
  width: number;
  height: number;
  /** RGB, interleaved HWC. */
  data: Uint8Array;
}

/** Decode to 8-bit RGB: gray is repeated to 3 channels, alpha dropped, 16-bit rounded to 8-bit. */
export async function decodeRgb8(file: string): Promise<Rgb8> {
  const img = to8bit((await readImage(file)).image);
  const { width, height, channels: c } = img;
  const src = img.data as Uint8Array;
  if (c === 3) return { width, height, data: src };
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    if (c >= 3) {
      out[3 * i] = src[o];
      out[3 * i + 1] = src[o + 1];
      out[3 * i + 2] = src[o + 2];
    } else {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[o];
    }
  }
  return { width, height, data: out };
}

/**
 * imresize(img, factor, 'bicubic') on uint8 RGB. For factor 1/s on a mod-cropped image the output is
 * exactly width/s × height/s (computed as integers, not via ⌈w·factor⌉, to avoid float round-up).
 */
export function downscaleRgb8(img: Rgb8, factor: number): Rgb8 {
  const { width: w, height: h } = img;
  const inv = 1 / factor;
  const exact = Number.isInteger(Math.round(inv)) && Math.abs(inv - Math.round(inv)) < 1e-9;
  const s = Math.round(inv);
  const outW = exact && w % s === 0 ? w / s : outputSize(w, factor);
  const outH = exact && h % s === 0 ? h / s : outputSize(h, factor);
  const n = w * h;
  const planes = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    planes[i] = img.data[3 * i];
    planes[n + i] = img.data[3 * i + 1];
    planes[2 * n + i] = img.data[3 * i + 2];
  }
  const r = resizePlanes(planes, 3, h, w, factor, factor, outH, outW, { roundMax: 255 });
  const m = outW * outH;
  const out = new Uint8Array(3 * m);
  for (let i = 0; i < m; i++) {
    out[3 * i] = r[i];
    out[3 * i + 1] = r[m + i];
    out[3 * i + 2] = r[2 * m + i];
  }
  return { width: outW, height: outH, data: out };
}
