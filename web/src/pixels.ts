// Browser image decode and the float conversions of `lightsr upscale` (src/image/io.ts: toPlanarRGB and
// fromPlanar, which live next to sharp and cannot be bundled): the network sees RGB × (1/255); output values
// are clamped to [0,1] and rounded to 8 bits.
import type { PlanarImage } from '../../src/image/types.js';

export interface Rgba {
  width: number;
  height: number;
  /** Interleaved RGBA, 8-bit. */
  data: Uint8ClampedArray;
}

/**
 * Decode an image file with the browser's decoders: EXIF orientation applied (as the CLI does), no colour
 * management (pixel values as stored, like the CLI, which keeps the ICC profile aside).
 */
export async function decodeBlob(blob: Blob): Promise<Rgba> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error('cannot decode this file as an image (use PNG, JPEG, WebP, GIF, BMP or AVIF)');
  }
  try {
    const { width, height } = bmp;
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser has no 2D canvas in workers');
    ctx.drawImage(bmp, 0, 0);
    return { width, height, data: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bmp.close();
  }
}

/** RGB planes (and the alpha plane when some pixel is not opaque), values × (1/255). */
export function toPlanar(img: Rgba): { rgb: PlanarImage; alpha?: PlanarImage } {
  const { width, height, data } = img;
  const n = width * height;
  const inv = 1 / 255;
  const rgb = new Float32Array(3 * n);
  const a = new Float32Array(n);
  let opaque = true;
  for (let i = 0; i < n; i++) {
    rgb[i] = data[4 * i] * inv;
    rgb[n + i] = data[4 * i + 1] * inv;
    rgb[2 * n + i] = data[4 * i + 2] * inv;
    a[i] = data[4 * i + 3] * inv;
    if (data[4 * i + 3] !== 255) opaque = false;
  }
  const out: { rgb: PlanarImage; alpha?: PlanarImage } = { rgb: { channels: 3, height, width, data: rgb } };
  if (!opaque) out.alpha = { channels: 1, height, width, data: a };
  return out;
}

/** Interleaved 8-bit RGB or RGBA from planar RGB (+ alpha): clamp to [0,1], ×255, round; NaN → 0. */
export function toBytes(rgb: PlanarImage, alpha?: PlanarImage): { data: Uint8Array; channels: 3 | 4 } {
  const { height, width } = rgb;
  if (rgb.channels !== 3) throw new Error(`expected an RGB result, got ${rgb.channels} channels`);
  const n = width * height;
  const oc = alpha ? 4 : 3;
  const out = new Uint8Array(n * oc);
  const q = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0);
  for (let c = 0; c < 3; c++) {
    const p = rgb.data.subarray(c * n, (c + 1) * n);
    for (let i = 0; i < n; i++) out[i * oc + c] = q(p[i]);
  }
  if (alpha) for (let i = 0; i < n; i++) out[i * oc + 3] = q(alpha.data[i]);
  return { data: out, channels: oc };
}
