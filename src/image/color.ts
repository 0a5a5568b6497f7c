// ITU-R BT.601 YCbCr as MATLAB rgb2ycbcr / ycbcr2rgb (studio range: Y in [16,235], Cb/Cr in [16,240] of 255).
import type { PlanarImage } from './types.js';

const M = [
  [65.481, 128.553, 24.966],
  [-37.797, -74.203, 112.0],
  [112.0, -93.786, -18.214],
];
const OFF = [16, 128, 128];

/** Y on the 0–255 scale (float64) from planar RGB in [0,1]. Gray (1-channel) input counts as R = G = B. */
export function rgbToY(img: PlanarImage): Float64Array {
  const n = img.height * img.width;
  const d = img.data;
  const y = new Float64Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) y[i] = 16 + (M[0][0] + M[0][1] + M[0][2]) * d[i];
    return y;
  }
  if (img.channels < 3) throw new Error(`rgbToY expects 1 or 3 channels, got ${img.channels}`);
  for (let i = 0; i < n; i++) y[i] = 16 + 65.481 * d[i] + 128.553 * d[n + i] + 24.966 * d[2 * n + i];
  return y;
}

/** Y (0–255 scale, float64) from planar uint8 RGB (values 0–255). */
export function rgbU8ToY(planes: Uint8Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = 16 + (65.481 * planes[i] + 128.553 * planes[n + i] + 24.966 * planes[2 * n + i]) / 255;
  }
  return y;
}

/** Planar RGB [0,1] → planar YCbCr [0,1] (MATLAB rgb2ycbcr on double input). */
export function rgbToYCbCr(img: PlanarImage): PlanarImage {
  if (img.channels !== 3) throw new Error(`rgbToYCbCr expects 3 channels, got ${img.channels}`);
  const n = img.height * img.width;
  const d = img.data;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const [a, b, g] = M[c];
    for (let i = 0; i < n; i++) out[c * n + i] = (OFF[c] + a * d[i] + b * d[n + i] + g * d[2 * n + i]) / 255;
  }
  return { ...img, data: out };
}

/** Planar YCbCr [0,1] → planar RGB [0,1] (inverse of rgbToYCbCr; not clamped). */
export function yCbCrToRgb(img: PlanarImage): PlanarImage {
  if (img.channels !== 3) throw new Error(`yCbCrToRgb expects 3 channels, got ${img.channels}`);
  const inv = invert3(M);
  const n = img.height * img.width;
  const d = img.data;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const y = d[i] * 255 - OFF[0], cb = d[n + i] * 255 - OFF[1], cr = d[2 * n + i] * 255 - OFF[2];
    for (let c = 0; c < 3; c++) out[c * n + i] = inv[c][0] * y + inv[c][1] * cb + inv[c][2] * cr;
  }
  return { ...img, data: out };
}

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    [A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
    [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
    [C / det, -(a * h - b * g) / det, (a * e - b * d) / det],
  ];
}

/** BT.601 luma of an RGB planar image (float, any range), as a 1-channel image: gray in, gray out. */
export function lumaPlanar(img: PlanarImage): PlanarImage {
  const n = img.height * img.width;
  const d = img.data;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * d[i] + 0.587 * d[n + i] + 0.114 * d[2 * n + i];
  return { channels: 1, height: img.height, width: img.width, data: y };
}
