import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { psnr, quantizeU8, quantizedY, scoreY, shave, ssim } from '../src/eval/metrics.js';
import { modCrop } from '../src/image/bicubic.js';
import { readImageRGB } from '../src/image/io.js';
import type { PlanarImage } from '../src/image/types.js';
import { outputsDir, referenceOutputs, referenceScores, set5Hr } from './helpers/fixtures.js';

describe('PSNR / SSIM on Y (spec §6.3–6.4)', () => {
  // metrics.json holds the official PyTorch outputs' scores (float Y, border = scale), 4 / 6 decimals.
  for (const model of readdirSync(outputsDir).sort()) {
    it(`reproduces the reference scores of ${model} on Set5`, async () => {
      const scale = Number(model.slice(-1));
      const ref = referenceScores(model);
      const names = Object.keys(ref).filter((k) => k !== 'mean');
      expect(names.length).toBe(5);
      let sp = 0, ss = 0;
      for (const name of names) {
        const hr = modCrop(await readImageRGB(set5Hr(name)), scale);
        const sr = await readImageRGB(path.join(referenceOutputs(model), `${name}.png`));
        const r = scoreY(sr, hr, scale);
        expect(Math.abs(r.psnr - ref[name].psnr_y)).toBeLessThan(1e-4);
        expect(Math.abs(r.ssim - ref[name].ssim_y)).toBeLessThan(1e-6);
        sp += r.psnr; ss += r.ssim;
      }
      expect(Math.abs(sp / 5 - ref.mean.psnr_y)).toBeLessThan(1e-4);
      expect(Math.abs(ss / 5 - ref.mean.ssim_y)).toBeLessThan(1e-6);
    });
  }

  it('PSNR formula, identical images, and SSIM bounds', () => {
    const a = Float64Array.from({ length: 400 }, (_, i) => (i * 37) % 256);
    const b = a.map((v) => v + 5);
    expect(psnr(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 25), 12);
    expect(psnr(a, a)).toBe(Infinity);
    expect(ssim(a, a, 20, 20)).toBeCloseTo(1, 12);
    const s = ssim(a, b, 20, 20);
    expect(s).toBeLessThan(1);
    expect(s).toBeGreaterThan(0.9); // a constant offset of 5 barely changes structure
    const noise = a.map((v, i) => (i % 2 ? 255 - v : v));
    expect(ssim(a, noise, 20, 20)).toBeLessThan(s);
    expect(() => ssim(a, b, 10, 40 + 1)).toThrow(/differ in size/);
    expect(() => ssim(a.subarray(0, 100), b.subarray(0, 100), 10, 10)).toThrow(/at least 11x11/);
  });

  it('SSIM of a constant-mean shift matches the closed form', () => {
    // For a constant image pair (σ = 0) the map is (2μ1μ2 + C1)/(μ1² + μ2² + C1) everywhere.
    const a = new Float64Array(15 * 15).fill(100), b = new Float64Array(15 * 15).fill(120);
    const C1 = (0.01 * 255) ** 2;
    expect(ssim(a, b, 15, 15)).toBeCloseTo((2 * 100 * 120 + C1) / (100 * 100 + 120 * 120 + C1), 12);
  });

  it('quantises SR (clamp, ×255, round) before Y, and crops the border', () => {
    const sr: PlanarImage = { channels: 3, height: 1, width: 4, data: new Float32Array([-1, 0.5, 2, 0.2, 0, 0, 0, 0, 0, 0, 0, 0]) };
    expect(Array.from(quantizeU8(sr).subarray(0, 4))).toEqual([0, 128, 255, 51]);
    expect(quantizedY(sr)[1]).toBeCloseTo(16 + (65.481 * 128) / 255, 10);
    const p = Float64Array.from({ length: 25 }, (_, i) => i);
    expect(Array.from(shave(p, 5, 5, 2).data)).toEqual([12]);
    expect(() => shave(p, 5, 5, 3)).toThrow(/too small/);
    const hr: PlanarImage = { channels: 3, height: 2, width: 4, data: new Float32Array(24) };
    expect(() => scoreY(sr, hr, 0)).toThrow(/1x4 but the HR image is 2x4/);
  });

  it('a gray image scores like its RGB expansion', () => {
    const g: PlanarImage = { channels: 1, height: 16, width: 16, data: Float32Array.from({ length: 256 }, (_, i) => ((i * 13) % 256) / 255) };
    const rgb: PlanarImage = { channels: 3, height: 16, width: 16, data: new Float32Array(768) };
    for (let c = 0; c < 3; c++) rgb.data.set(g.data, c * 256);
    expect(Array.from(quantizedY(g))).toEqual(Array.from(quantizedY(rgb)));
  });
});
