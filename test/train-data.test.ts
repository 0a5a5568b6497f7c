// Training data pipeline: cache (mod-crop + MATLAB bicubic LR), sampler, worker loader; schedule.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readImage } from '../src/image/io.js';
import { listImages, PatchSampler, parseScaleDown, prepareCache, scaleDownFor } from '../src/train/dataset.js';
import { BatchLoader } from '../src/train/loader.js';
import { lrAt } from '../src/train/schedule.js';

const shared = path.resolve(import.meta.dirname, '../../shared');
const set5 = path.join(shared, 'data/bench/Set5_matlab_lr');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightsr-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('training cache', () => {
  it('lists images recursively and rejects an empty folder', () => {
    const files = listImages(set5);
    expect(files.length).toBe(5 + 5 * 3); // HR + LR_bicubic/X2..X4
    expect(files.every((f) => f.endsWith('.bmp'))).toBe(true);
    fs.mkdirSync(path.join(tmp, 'empty'));
    expect(() => listImages(path.join(tmp, 'empty'))).toThrow(/no images/);
    expect(() => listImages(path.join(tmp, 'missing'))).toThrow(/not found/);
  });

  it('parses scale-down rules', () => {
    const r = parseScaleDown('jpg=0.5,JPEG=0.25');
    expect(scaleDownFor('a/b.JPG', r)).toBe(0.5);
    expect(scaleDownFor('a/b.jpeg', r)).toBe(0.25);
    expect(scaleDownFor('a/b.png', r)).toBe(1);
    expect(scaleDownFor('x.png', parseScaleDown('0.5'))).toBe(0.5);
    expect(() => parseScaleDown('2')).toThrow(/factor/);
  });

  for (const s of [2, 3]) {
    it(`stores mod-cropped HR and an LR identical to MATLAB's (Set5 BMP test vectors, x${s})`, async () => {
      const cache = await prepareCache({ trainDir: path.join(set5, 'HR'), scale: s, cacheRoot: path.join(tmp, 'cache') });
      expect(cache.built).toBe(true);
      expect(cache.images.map((i) => i.name)).toEqual(['baby.bmp', 'bird.bmp', 'butterfly.bmp', 'head.bmp', 'woman.bmp']);
      const lrBin = fs.readFileSync(cache.lrFile);
      const hrBin = fs.readFileSync(cache.hrFile);
      for (const im of cache.images) {
        const name = path.basename(im.name, '.bmp');
        const hr = (await readImage(path.join(set5, 'HR', im.name))).image;
        expect(im.width).toBe(hr.width - (hr.width % s));
        expect(im.height).toBe(hr.height - (hr.height % s));
        // first HR row is the source's first row, cropped
        expect(Buffer.compare(hrBin.subarray(im.hrOffset, im.hrOffset + im.width * 3), Buffer.from(hr.data.subarray(0, im.width * 3)))).toBe(0);
        const ref = (await readImage(path.join(set5, 'LR_bicubic', `X${s}`, `${name}x${s}.bmp`))).image;
        expect([ref.width, ref.height]).toEqual([im.width / s, im.height / s]);
        const mine = lrBin.subarray(im.lrOffset, im.lrOffset + ref.data.length);
        expect(Buffer.compare(mine, Buffer.from(ref.data))).toBe(0);
      }
      // second call: reused from disk, nothing decoded
      const again = await prepareCache({ trainDir: path.join(set5, 'HR'), scale: s, cacheRoot: path.join(tmp, 'cache') });
      expect(again.built).toBe(false);
      expect(again.dir).toBe(cache.dir);
    });
  }
});

describe('sampler and loader', () => {
  it('gives deterministic batches whose LR and HR crops are aligned under all 8 transforms', async () => {
    const cache = await prepareCache({ trainDir: path.join(set5, 'HR'), scale: 2, cacheRoot: path.join(tmp, 'cache') });
    const P = 32;
    const sampler = new PatchSampler(cache, P, 8, 7);
    // butterfly/head/... : every image holds floor(W/32)·floor(H/32) patches
    expect(sampler.patchesPerPass).toBe(cache.images.reduce((a, im) => a + Math.floor(im.width / P) * Math.floor(im.height / P), 0));
    expect(sampler.defaultItersPerEpoch).toBe(Math.ceil(sampler.patchesPerPass / 8));
    expect(new PatchSampler(cache, P, 8, 7).batchSpecs(3, 5)).toEqual(sampler.batchSpecs(3, 5));
    expect(new PatchSampler(cache, P, 8, 8).batchSpecs(3, 5)).not.toEqual(sampler.batchSpecs(3, 5));

    const ipe = 4;
    const loader = new BatchLoader(cache, sampler, ipe, 2);
    const seen = new Set<number>();
    const augs = new Set<number>();
    const hashes: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const b = await loader.next();
        expect([b.epoch, b.iter]).toEqual([Math.floor(i / ipe), i % ipe]);
        expect(b.lrShape).toEqual([8, 3, 16, 16]);
        expect(b.hrShape).toEqual([8, 3, 32, 32]);
        hashes.push(b.hash);
        const specs = sampler.batchSpecs(b.epoch, b.iter);
        for (let k = 0; k < 8; k++) {
          augs.add(specs[k].aug);
          seen.add(specs[k].img);
          // 2×2 box average of the HR crop must match the LR crop (same transform); a flipped or shifted
          // LR would not.
          const lr = b.lr.subarray(k * 768, (k + 1) * 768);
          const hr = b.hr.subarray(k * 3072, (k + 1) * 3072);
          let err = 0;
          let errFlip = 0;
          for (let c = 0; c < 3; c++) for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
            const H = (yy: number, xx: number) => hr[c * 1024 + yy * 32 + xx];
            const box = (H(2 * y, 2 * x) + H(2 * y + 1, 2 * x) + H(2 * y, 2 * x + 1) + H(2 * y + 1, 2 * x + 1)) / 4;
            err += Math.abs(box - lr[c * 256 + y * 16 + x]);
            errFlip += Math.abs(box - lr[c * 256 + y * 16 + (15 - x)]);
          }
          expect(err / 768).toBeLessThan(0.03);
          expect(errFlip / 768).toBeGreaterThan(err / 768);
        }
      }
      expect(augs.size).toBeGreaterThan(4);
      expect(seen.size).toBe(5);
      // A restart at (1, 2) yields the same batches as the uninterrupted stream.
      loader.seek(1, 2);
      expect((await loader.next()).hash).toBe(hashes[6]);
      expect((await loader.next()).hash).toBe(hashes[7]);
    } finally {
      await loader.close();
    }
  });

  it('checks the patch size', async () => {
    const cache = await prepareCache({ trainDir: path.join(set5, 'HR'), scale: 3, cacheRoot: path.join(tmp, 'cache') });
    expect(() => new PatchSampler(cache, 32, 2, 0)).toThrow(/multiple of the scale/);
    expect(() => new PatchSampler(cache, 3000, 2, 0)).toThrow(/use a smaller patch size$/);
  });
});

describe('learning-rate schedule', () => {
  it('steps, warms up and follows a cosine', () => {
    const step = { lr: 1e-3, kind: 'step' as const, stepIters: 10, gamma: 0.5, warmup: 0, totalIters: 100, minLr: 0 };
    expect(lrAt(step, 0)).toBe(1e-3);
    expect(lrAt(step, 9)).toBe(1e-3);
    expect(lrAt(step, 10)).toBe(5e-4);
    expect(lrAt(step, 35)).toBe(1.25e-4);
    const warm = { ...step, warmup: 4 };
    expect([0, 1, 2, 3].map((t) => lrAt(warm, t))).toEqual([2.5e-4, 5e-4, 7.5e-4, 1e-3]);
    const cos = { lr: 1e-3, kind: 'cosine' as const, warmup: 0, totalIters: 100, minLr: 1e-5 };
    expect(lrAt(cos, 0)).toBeCloseTo(1e-3, 12);
    expect(lrAt(cos, 50)).toBeCloseTo((1e-3 + 1e-5) / 2, 12);
    expect(lrAt(cos, 100)).toBeCloseTo(1e-5, 12);
  });
});
