// Comparisons of computed outputs with references, shared by the test files.
import sharp from 'sharp';
import { expect } from 'vitest';
import { quantizeU8 } from '../../src/eval/metrics.js';
import { readImage } from '../../src/image/io.js';
import type { PlanarImage, RawImage } from '../../src/image/types.js';

/** Largest absolute difference of two equally long arrays (the lengths are asserted). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Our output (planar, quantised to uint8) against a reference PNG: share of equal values, largest difference. */
export async function compareToPng(sr: PlanarImage, file: string): Promise<{ equal: number; maxDiff: number }> {
  const { image } = await readImage(file);
  expect([image.width, image.height, image.channels]).toEqual([sr.width, sr.height, 3]);
  const q = quantizeU8(sr);
  const n = sr.width * sr.height;
  let equal = 0;
  let maxDiff = 0;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const d = Math.abs(q[c * n + i] - image.data[i * 3 + c]);
      if (d === 0) equal++;
      maxDiff = Math.max(maxDiff, d);
    }
  }
  return { equal: equal / (3 * n), maxDiff };
}

/** A `width`×`height` window of an image file as 8-bit RGB pixels (decoded by sharp, alpha dropped). */
export async function cropRaw(file: string, left: number, top: number, width: number, height: number): Promise<RawImage> {
  const { data } = await sharp(file).extract({ left, top, width, height }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width, height, channels: 3, bitDepth: 8, data: new Uint8Array(data) };
}
