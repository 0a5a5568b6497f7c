// MATLAB-compatible imresize(..., 'bicubic'): cubic kernel a = −0.5, antialiasing when downscaling,
// symmetric borders, output size ⌈in·scale⌉, one separable 1-D pass per axis (the axis with the
// smaller scale first, height first on ties). On integer images MATLAB stores each 1-D pass in the
// input class, i.e. rounds (half away from zero) and saturates after every pass; we do the same.
import { cropPlanar } from './tiling.js';
import type { PlanarImage, RawImage } from './types.js';

/** MATLAB's cubic(x), written in the same operation order. */
function cubic(x: number): number {
  const a = Math.abs(x);
  const a2 = a * a;
  const a3 = a2 * a;
  if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
  if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
  return 0;
}

/** Per output sample: `taps` source indices (0-based, mirrored) and normalised weights. */
export interface Contributions {
  outLen: number;
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

export function contributions(inLen: number, outLen: number, scale: number, antialias = true): Contributions {
  const aa = scale < 1 && antialias;
  const width = aa ? 4 / scale : 4;
  const P = Math.ceil(width) + 2;
  const rawW = new Float64Array(outLen * P);
  const rawI = new Int32Array(outLen * P);
  const used = new Uint8Array(P); // MATLAB drops tap columns that are zero for every output
  for (let x = 1; x <= outLen; x++) {
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    const row = (x - 1) * P;
    let sum = 0;
    for (let k = 0; k < P; k++) {
      const idx = left + k;
      const w = aa ? scale * cubic(scale * (u - idx)) : cubic(u - idx);
      rawW[row + k] = w;
      sum += w;
      rawI[row + k] = mirror(idx - 1, inLen);
    }
    for (let k = 0; k < P; k++) {
      rawW[row + k] /= sum;
      if (rawW[row + k] !== 0) used[k] = 1;
    }
  }
  const keep = [...used.keys()].filter((k) => used[k]);
  const taps = keep.length;
  const index = new Int32Array(outLen * taps);
  const weight = new Float64Array(outLen * taps);
  for (let o = 0; o < outLen; o++) {
    keep.forEach((k, j) => {
      index[o * taps + j] = rawI[o * P + k];
      weight[o * taps + j] = rawW[o * P + k];
    });
  }
  return { outLen, taps, index, weight };
}

/** Symmetric border: …, x1, x0 | x0, x1, … | x(n−1), x(n−2), … (period 2n). */
function mirror(i: number, n: number): number {
  const p = 2 * n;
  let m = ((i % p) + p) % p;
  if (m >= n) m = p - 1 - m;
  return m;
}

/** Output size MATLAB uses for a scale factor. */
export function outputSize(inLen: number, scale: number): number {
  return Math.ceil(inLen * scale);
}

export interface ResizeOptions {
  /** Round half away from zero and clamp to [0, max] after each 1-D pass (MATLAB integer images). */
  roundMax?: number;
  antialias?: boolean;
}

/**
 * Resize `channels` planes (CHW) with separate vertical / horizontal scale factors. Values are in the
 * caller's units (e.g. 0–255 when rounding). Returns Float64Array planes.
 */
export function resizePlanes(
  src: ArrayLike<number>, channels: number, h: number, w: number,
  scaleH: number, scaleW: number, outH = outputSize(h, scaleH), outW = outputSize(w, scaleW), opts: ResizeOptions = {},
): Float64Array {
  if (!(scaleH > 0 && scaleW > 0 && outH > 0 && outW > 0)) throw new Error(`invalid resize ${h}x${w} → ${outH}x${outW}`);
  const aa = opts.antialias ?? true;
  const max = opts.roundMax;
  const heightFirst = scaleH <= scaleW;
  let cur: Float64Array = src instanceof Float64Array ? src : Float64Array.from(src); // monomorphic passes
  let ch = h, cw = w;
  for (const axis of heightFirst ? ['h', 'w'] : ['w', 'h']) {
    if (axis === 'h') {
      cur = passH(cur, channels, ch, cw, contributions(ch, outH, scaleH, aa), max);
      ch = outH;
    } else {
      cur = passW(cur, channels, ch, cw, contributions(cw, outW, scaleW, aa), max);
      cw = outW;
    }
  }
  return cur;
}

function quantise(v: number, max: number): number {
  return v <= 0 ? 0 : v >= max ? max : Math.round(v); // v ≥ 0 here, so half-up = half away from zero
}

function passH(src: Float64Array, c: number, h: number, w: number, k: Contributions, max?: number): Float64Array {
  const { outLen, taps, index, weight } = k;
  const out = new Float64Array(c * outLen * w);
  for (let p = 0; p < c; p++) {
    const base = p * h * w;
    for (let y = 0; y < outLen; y++) {
      const o = (p * outLen + y) * w;
      // Accumulate whole rows tap by tap: per pixel the sum order is still tap 0, 1, 2, …
      for (let t = 0; t < taps; t++) {
        const wt = weight[y * taps + t];
        const s = base + index[y * taps + t] * w;
        for (let x = 0; x < w; x++) out[o + x] += wt * src[s + x];
      }
      if (max !== undefined) for (let x = 0; x < w; x++) out[o + x] = quantise(out[o + x], max);
    }
  }
  return out;
}

function passW(src: Float64Array, c: number, h: number, w: number, k: Contributions, max?: number): Float64Array {
  const { outLen, taps, index, weight } = k;
  const out = new Float64Array(c * h * outLen);
  for (let r = 0; r < c * h; r++) {
    const s = r * w;
    const o = r * outLen;
    for (let x = 0; x < outLen; x++) {
      const k0 = x * taps;
      let acc = 0;
      for (let t = 0; t < taps; t++) acc += weight[k0 + t] * src[s + index[k0 + t]];
      out[o + x] = max === undefined ? acc : quantise(acc, max);
    }
  }
  return out;
}

/** imresize(img, scale, 'bicubic') on an integer image (uint8/uint16 semantics, as MATLAB). */
export function imresize(img: RawImage, scale: number): RawImage {
  const { width: w, height: h, channels: c } = img;
  const outH = outputSize(h, scale), outW = outputSize(w, scale);
  // HWC → CHW, resize, back.
  const planes = new Float64Array(c * h * w);
  for (let i = 0; i < h * w; i++) for (let p = 0; p < c; p++) planes[p * h * w + i] = img.data[i * c + p];
  const max = img.bitDepth === 16 ? 65535 : 255;
  const r = resizePlanes(planes, c, h, w, scale, scale, outH, outW, { roundMax: max });
  const n = outH * outW;
  const data = img.bitDepth === 16 ? new Uint16Array(n * c) : new Uint8Array(n * c);
  for (let i = 0; i < n; i++) for (let p = 0; p < c; p++) data[i * c + p] = r[p * n + i];
  return { width: outW, height: outH, channels: c, bitDepth: img.bitDepth, data };
}

/**
 * Bicubic resize of a float planar image. With `quantize: 255` values are treated as uint8 images in
 * [0,1]: scaled by 255 and rounded/clamped after each pass, as MATLAB does for uint8 (the classic
 * "Bicubic" baseline of SR papers).
 */
export function imresizePlanar(img: PlanarImage, scale: number, opts: { quantize?: number; outH?: number; outW?: number } = {}): PlanarImage {
  const { channels: c, height: h, width: w } = img;
  const outH = opts.outH ?? outputSize(h, scale), outW = opts.outW ?? outputSize(w, scale);
  const q = opts.quantize;
  let src: ArrayLike<number> = img.data;
  if (q !== undefined) {
    const s = new Float64Array(img.data.length);
    for (let i = 0; i < s.length; i++) s[i] = quantise(img.data[i] * q, q);
    src = s;
  }
  const r = resizePlanes(src, c, h, w, scale, scale, outH, outW, q === undefined ? {} : { roundMax: q });
  const data = new Float32Array(r.length);
  if (q === undefined) data.set(r);
  else for (let i = 0; i < r.length; i++) data[i] = r[i] / q;
  return { channels: c, height: outH, width: outW, data };
}

/** Crop the bottom/right so both sides are multiples of `s` (modcrop). */
export function modCrop<T extends RawImage | PlanarImage>(img: T, s: number): T {
  const h = img.height - (img.height % s), w = img.width - (img.width % s);
  return crop(img, 0, 0, h, w);
}

/** Sub-image [top, top+h) × [left, left+w). */
export function crop<T extends RawImage | PlanarImage>(img: T, top: number, left: number, h: number, w: number): T {
  if (top < 0 || left < 0 || h <= 0 || w <= 0 || top + h > img.height || left + w > img.width) {
    throw new Error(`crop ${h}x${w}+${top}+${left} is outside the ${img.height}x${img.width} image`);
  }
  if (h === img.height && w === img.width) return img;
  if ('bitDepth' in img) {
    const c = img.channels;
    const data = img.bitDepth === 16 ? new Uint16Array(h * w * c) : new Uint8Array(h * w * c);
    for (let y = 0; y < h; y++) {
      const s = ((top + y) * img.width + left) * c;
      data.set(img.data.subarray(s, s + w * c), y * w * c);
    }
    return { ...img, width: w, height: h, data };
  }
  return cropPlanar(img as PlanarImage, top, left, h, w) as T;
}
