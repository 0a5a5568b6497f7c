import { describe, expect, it } from 'vitest';
import { contributions, crop, imresize, imresizePlanar, modCrop, outputSize } from '../src/image/bicubic.js';
import { rgbToY, rgbToYCbCr, yCbCrToRgb } from '../src/image/color.js';
import { readImage, toPlanarRGB } from '../src/image/io.js';
import type { PlanarImage, RawImage } from '../src/image/types.js';
import { SET5, set5Hr, set5Lr } from './helpers/fixtures.js';

describe('MATLAB imresize bicubic', () => {
  // The official Set5 LR files were written by MATLAB: imresize(modcrop(HR, s), 1/s, 'bicubic') on uint8.
  for (const s of [2, 3, 4]) {
    for (const name of SET5) {
      it(`${name} ↓${s} reproduces ${name}x${s}.bmp byte for byte`, async () => {
        const hr = modCrop((await readImage(set5Hr(name))).image, s);
        const ref = (await readImage(set5Lr(name, s))).image;
        const lr = imresize(hr, 1 / s);
        expect([lr.width, lr.height, lr.channels]).toEqual([ref.width, ref.height, ref.channels]);
        let diff = 0;
        for (let i = 0; i < ref.data.length; i++) if (lr.data[i] !== ref.data[i]) diff++;
        expect(diff).toBe(0);
      });
    }
  }

  it('kernel weights: normalised, taps per MATLAB (⌈width⌉+2, minus columns that are zero everywhere)', () => {
    const up = contributions(10, 40, 4);
    expect(up.taps).toBe(4); // integer upscaling: the 2 extra columns are always zero
    const down = contributions(30, 10, 1 / 3);
    expect(down.taps).toBeLessThanOrEqual(14);
    for (const c of [up, down]) {
      for (let o = 0; o < c.outLen; o++) {
        let s = 0;
        for (let t = 0; t < c.taps; t++) {
          s += c.weight[o * c.taps + t];
          const i = c.index[o * c.taps + t];
          expect(i >= 0 && i < (c === up ? 10 : 30)).toBe(true);
        }
        expect(s).toBeCloseTo(1, 12);
      }
    }
    // x2 upscale, output 2 (1-based) sits at source 1.25: taps 0..3 (1-based) at distances 1.25, 0.25, 0.75, 1.75;
    // tap 0 lies outside and mirrors onto pixel 1 (0-based index 0).
    const c2 = contributions(8, 16, 2);
    const w = Array.from(c2.weight.subarray(c2.taps, 2 * c2.taps)).filter((v) => v !== 0);
    expect(w).toEqual([-0.0703125, 0.8671875, 0.2265625, -0.0234375]);
    expect(Array.from(c2.index.subarray(c2.taps, 2 * c2.taps)).filter((_, t) => c2.weight[c2.taps + t] !== 0)).toEqual([0, 0, 1, 2]);
    expect(outputSize(255, 1 / 3)).toBe(85);
  });

  it('keeps constants, and mirrors borders symmetrically', () => {
    const flat: PlanarImage = { channels: 2, height: 9, width: 7, data: new Float32Array(126).fill(0.3) };
    for (const s of [2, 3, 1 / 2, 1 / 3]) {
      const r = imresizePlanar(flat, s);
      expect([r.height, r.width]).toEqual([Math.ceil(9 * s), Math.ceil(7 * s)]);
      for (const v of r.data) expect(v).toBeCloseTo(0.3, 6);
    }
    // A ramp is reproduced exactly by the a = −0.5 kernel away from the borders.
    const ramp: PlanarImage = { channels: 1, height: 1, width: 16, data: Float32Array.from({ length: 16 }, (_, i) => i / 16) };
    const r = imresizePlanar(ramp, 2);
    for (let x = 4; x < 28; x++) expect(r.data[x]).toBeCloseTo((x + 0.5) / 2 / 16 - 0.5 / 16, 6);
  });

  it('float path with quantize: 255 equals the uint8 path', () => {
    const raw: RawImage = { width: 13, height: 11, channels: 3, bitDepth: 8, data: new Uint8Array(13 * 11 * 3) };
    for (let i = 0; i < raw.data.length; i++) raw.data[i] = (i * 97 + 31) % 256;
    for (const s of [2, 3, 4, 1 / 2]) {
      const a = imresize(raw, s);
      const b = imresizePlanar(toPlanarRGB(raw).rgb, s, { quantize: 255 });
      const n = a.width * a.height;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) expect(Math.round(b.data[c * n + i] * 255)).toBe(a.data[i * 3 + c]);
      // Without quantisation the float result differs (no intermediate rounding or clipping) but stays close.
      const f = imresizePlanar(toPlanarRGB(raw).rgb, s);
      let maxd = 0;
      for (let i = 0; i < f.data.length; i++) maxd = Math.max(maxd, Math.abs(f.data[i] - b.data[i]));
      expect(maxd).toBeGreaterThan(0);
      expect(maxd).toBeLessThan(0.25);
    }
  });

  it('uint16 images round to 16-bit', () => {
    const raw: RawImage = { width: 4, height: 4, channels: 1, bitDepth: 16, data: Uint16Array.from({ length: 16 }, (_, i) => i * 4000) };
    const r = imresize(raw, 2);
    expect(r.bitDepth).toBe(16);
    expect(r.data).toBeInstanceOf(Uint16Array);
    expect(Math.max(...r.data)).toBeLessThanOrEqual(65535);
    expect(r.data.some((v) => v % 257 !== 0 && v > 255)).toBe(true);
  });

  it('modCrop / crop', () => {
    const raw: RawImage = { width: 5, height: 7, channels: 1, bitDepth: 8, data: Uint8Array.from({ length: 35 }, (_, i) => i) };
    const m = modCrop(raw, 3);
    expect([m.width, m.height]).toEqual([3, 6]);
    expect(Array.from(m.data.subarray(0, 6))).toEqual([0, 1, 2, 5, 6, 7]);
    const p: PlanarImage = { channels: 2, height: 3, width: 3, data: Float32Array.from({ length: 18 }, (_, i) => i) };
    expect(Array.from(crop(p, 1, 1, 2, 2).data)).toEqual([4, 5, 7, 8, 13, 14, 16, 17]);
    expect(() => crop(p, 2, 2, 2, 2)).toThrow(/outside/);
  });
});

describe('BT.601 colour (MATLAB rgb2ycbcr)', () => {
  it('Y of black/white/primaries', () => {
    const img: PlanarImage = { channels: 3, height: 1, width: 5, data: new Float32Array([0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1]) };
    const y = rgbToY(img);
    expect(Array.from(y).map((v) => +v.toFixed(3))).toEqual([16, 235, 16 + 65.481, 16 + 128.553, 16 + 24.966]);
    const gray: PlanarImage = { channels: 1, height: 1, width: 1, data: new Float32Array([0.5]) };
    expect(rgbToY(gray)[0]).toBeCloseTo(16 + 219 * 0.5, 4);
  });

  it('YCbCr round trip', () => {
    const img: PlanarImage = { channels: 3, height: 2, width: 3, data: Float32Array.from({ length: 18 }, (_, i) => ((i * 37) % 19) / 18) };
    const ycc = rgbToYCbCr(img);
    expect(ycc.data[0]).toBeCloseTo((16 + 65.481 * img.data[0] + 128.553 * img.data[6] + 24.966 * img.data[12]) / 255, 6);
    const back = yCbCrToRgb(ycc);
    for (let i = 0; i < 18; i++) expect(back.data[i]).toBeCloseTo(img.data[i], 5);
  });
});
