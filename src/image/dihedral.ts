// The 8 dihedral transforms of a planar image (self-ensemble ×8, spec §6.6).
// Variant i = t^(i>3) ∘ h^((i mod 4)>1) ∘ v^(i odd) applied to x, where v flips the width axis,
// h flips the height axis and t swaps H and W — EDSR's forward_x8 order.
import type { PlanarImage } from './types.js';

export function flipW(img: PlanarImage): PlanarImage {
  const { channels: c, height: h, width: w, data } = img;
  const out = new Float32Array(data.length);
  for (let r = 0; r < c * h; r++) for (let x = 0; x < w; x++) out[r * w + x] = data[r * w + w - 1 - x];
  return { ...img, data: out };
}

export function flipH(img: PlanarImage): PlanarImage {
  const { channels: c, height: h, width: w, data } = img;
  const out = new Float32Array(data.length);
  for (let p = 0; p < c; p++) {
    for (let y = 0; y < h; y++) out.set(data.subarray((p * h + h - 1 - y) * w, (p * h + h - y) * w), (p * h + y) * w);
  }
  return { ...img, data: out };
}

export function transposeHW(img: PlanarImage): PlanarImage {
  const { channels: c, height: h, width: w, data } = img;
  const out = new Float32Array(data.length);
  for (let p = 0; p < c; p++) {
    const b = p * h * w;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[b + x * h + y] = data[b + y * w + x];
  }
  return { channels: c, height: w, width: h, data: out };
}

export function dihedral(img: PlanarImage, i: number): PlanarImage {
  let x = img;
  if (i % 2 === 1) x = flipW(x);
  if (i % 4 > 1) x = flipH(x);
  if (i > 3) x = transposeHW(x);
  return x;
}

export function undoDihedral(img: PlanarImage, i: number): PlanarImage {
  let x = img;
  if (i > 3) x = transposeHW(x);
  if (i % 4 > 1) x = flipH(x);
  if (i % 2 === 1) x = flipW(x);
  return x;
}
