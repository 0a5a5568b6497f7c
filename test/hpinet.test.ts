// HPINet: parameter counts, official weight loading, parity with the official PyTorch outputs (torch and
// tfjs), patch geometry, backend agreement, training backward (Gumbel path) and odd input sizes.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { register as evalCommand } from '../src/cli/eval.js';
import { register as info } from '../src/cli/info.js';
import type { Ops, Tensor, TrainOps } from '../src/engine/ops.js';
import { getOps } from '../src/engine/select.js';
import { readSafetensorsSync } from '../src/engine/safetensors.js';
import { readImage } from '../src/image/io.js';
import type { RawImage } from '../src/image/types.js';
import { HPINET_VARIANTS, HPINet } from '../src/models/hpinet.js';
import { getEntry } from '../src/models/index.js';
import { PatchAxis, PatchGrid } from '../src/nn/patches.js';
import { cliOutput } from './helpers/cli.js';
import { compareToPng, maxAbsDiff } from './helpers/compare.js';
import { readF32, referenceOutputs, referenceScores, referenceWeights, SET5, set5Lr, shared } from './helpers/fixtures.js';

const weightsFile = (tag: string) => referenceWeights(`hpinet_${tag}.safetensors`);
const refDir = (tag: string) => referenceOutputs(`hpinet_${tag}`);

let torch: TrainOps;
let tfjs: Ops;
beforeAll(async () => {
  torch = (await getOps('torch')) as TrainOps;
  tfjs = await getOps('tfjs');
});

function model(ops: Ops, variant: 'S' | 'M' | 'L', scale: number, weights?: string): HPINet {
  const m = new HPINet(ops, scale, HPINET_VARIANTS[variant]);
  if (weights) m.loadStateDict(readSafetensorsSync(weightsFile(weights)).tensors);
  return m.eval();
}

/** Forward without autograd; returns host data. */
function run(ops: Ops, m: HPINet, data: Float32Array, shape: number[]): { data: Float32Array; shape: number[] } {
  const go = () => {
    const x = ops.tensor(data, shape);
    const y = m.forward(x);
    const out = { data: ops.readSync(y) as Float32Array, shape: [...y.shape] };
    ops.dispose([x, y]);
    return out;
  };
  return 'noGrad' in ops ? (ops as TrainOps).noGrad(go) : go();
}

/** Planar [3,H,W] float input exactly as the reference script builds it: uint8 / 255 in float64, then float32. */
function planar(img: RawImage, h = img.height, w = img.width): Float32Array {
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) out[(c * h + y) * w + x] = img.data[(y * img.width + x) * img.channels + c]! / 255;
  return out;
}

async function lr(name: string, scale: number): Promise<RawImage> {
  return (await readImage(set5Lr(name, scale))).image;
}

const rand = (n: number, seed: number) => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
};

describe('HPINet structure', () => {
  it('has the published parameter counts for S/M/L at x2/x3/x4', () => {
    const expected = { S: [405_371, 477_571, 463_131], M: [782_539, 923_939, 895_659], L: [1_287_875, 1_472_515, 1_435_587] };
    for (const v of ['S', 'M', 'L'] as const) {
      [2, 3, 4].forEach((s, i) => {
        const m = getEntry(`hpinet-${v.toLowerCase()}`).create(torch, s);
        expect(m.numParams(), `${v} x${s}`).toBe(expected[v][i]);
        m.dispose();
      });
    }
    expect(getEntry('hpinet-m').train).toEqual({ lr: 1.5e-4, lrStep: 60, lrGamma: 0.5, loss: 'l1' });
  });

  it('loads the official weights with exact names and shapes', () => {
    for (const [tag, v, s] of [['m_x2', 'M', 2], ['m_x3', 'M', 3], ['m_x4', 'M', 4], ['s_x4', 'S', 4]] as const) {
      const sd = readSafetensorsSync(weightsFile(tag)).tensors;
      const m = model(torch, v, s);
      const names = m.namedParams().map(([n]) => n).sort();
      expect(names).toEqual([...sd.keys()].sort());
      for (const [n, p] of m.namedParams()) expect(p.shape, n).toEqual(sd.get(n)!.shape);
      m.loadStateDict(sd);
      // the other width / scale does not fit
      const other = model(torch, v === 'M' ? 'S' : 'M', s);
      expect(() => other.loadStateDict(sd)).toThrow(/do not fit/);
      other.dispose();
      m.dispose();
    }
  });

  it('patch axes follow the reference layout (stride P-2, last patch snapped, stripe halving)', () => {
    // literal re-enactment of the reference loops, on one axis
    for (const P of [3, 12, 14, 16, 20, 24]) {
      for (let L = P; L < 4 * P + 5; L++) {
        const step = P - 2;
        const starts: number[] = [];
        for (let i = 0; i < L + step - P; i += step) starts.push(Math.min(i, L - P));
        const scale = new Array<number>(L).fill(1);
        for (let i = step; i < L + step - P; i += step) {
          const top = i + P > L ? L - P : i;
          for (let y = top; y < i + 2; y++) scale[y]! /= 2;
        }
        const a = new PatchAxis(L, P);
        expect(a.starts).toEqual(starts);
        expect([...a.scale]).toEqual(scale);
        // every position is covered
        expect(a.sources.every((s) => s.length >= 1)).toBe(true);
      }
    }
    expect(new PatchAxis(180, 24).count).toBe(9);
    expect(() => new PatchAxis(11, 12)).toThrow(/smaller than the patch size/);
  });

  it('divide/reverse match a direct 2-D re-enactment on both backends', () => {
    for (const ops of [torch, tfjs]) {
      for (const [H, W, P] of [[23, 30, 12], [24, 24, 24], [25, 47, 24], [16, 33, 14]] as const) {
        const C = 2;
        const x = rand(C * H * W, H * 100 + W);
        const grid = new PatchGrid(H, W, P);
        const n = grid.count;
        // scale patch k by (k + 1) between division and aggregation
        const got = ops.tidy(() => {
          const t = grid.divide(ops, ops.tensor(x, [1, C, H, W]));
          const f = ops.tensor(Float32Array.from({ length: n }, (_, k) => k + 1), [n, 1, 1]);
          return ops.keep(grid.reverse(ops, ops.mul(t, f))) as never;
        }) as unknown as Tensor;
        const out = ops.readSync(got) as Float32Array;
        ops.dispose(got);
        const ref = new Float32Array(C * H * W);
        const { rows, cols } = grid;
        rows.starts.forEach((top, i) => cols.starts.forEach((left, j) => {
          const k = i * cols.count + j;
          for (let c = 0; c < C; c++)
            for (let y = top; y < top + P; y++)
              for (let xx = left; xx < left + P; xx++) ref[(c * H + y) * W + xx] += x[(c * H + y) * W + xx]! * (k + 1);
        }));
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let xx = 0; xx < W; xx++) ref[(c * H + y) * W + xx] *= rows.scale[y]! * cols.scale[xx]!;
        expect(maxAbsDiff(out, ref), `${ops.name} ${H}x${W} P${P}`).toBeLessThan(1e-4);
      }
    }
  });
});

// Parity with the official PyTorch outputs. Runtime: the full-image check runs every Set5 image for S x4 and a
// subset for the M models (M x4 is also run on all of Set5 by the `lightsr eval` test below); the 24x24 float
// check runs every image on torch, and on tfjs every image for M x4 and two for the others.
const PARITY: [string, 'S' | 'M', number, string[], string[]][] = [
  ['s_x4', 'S', 4, SET5, ['bird', 'woman']],
  ['m_x4', 'M', 4, ['butterfly', 'woman'], SET5],
  ['m_x3', 'M', 3, ['butterfly', 'woman'], ['baby', 'head']],
  ['m_x2', 'M', 2, ['butterfly'], ['butterfly', 'woman']],
];

describe('HPINet parity with the official code', () => {
  for (const [tag, v, s, images, tfjsImages] of PARITY) {
    it(`${tag}: top-left 24x24 crop, float output (torch; tfjs on ${tfjsImages.join(', ')})`, async () => {
      for (const ops of [torch, tfjs]) {
        const m = model(ops, v, s, tag);
        for (const name of ops === tfjs ? tfjsImages : SET5) {
          const x = planar(await lr(name, s), 24, 24);
          const y = run(ops, m, x, [1, 3, 24, 24]);
          expect(y.shape).toEqual([1, 3, 24 * s, 24 * s]);
          const ref = readF32(path.join(refDir(tag), `${name}_crop24_chw_f32.bin`));
          expect(maxAbsDiff(y.data, ref), `${ops.name} ${name}`).toBeLessThanOrEqual(1e-4);
        }
        m.dispose();
      }
    });

    it(`${tag}: full images, uint8 output (torch; ${images.join(', ')})`, async () => {
      const m = model(torch, v, s, tag);
      for (const name of images) {
        const img = await lr(name, s);
        const t0 = performance.now();
        const y = run(torch, m, planar(img), [1, 3, img.height, img.width]);
        const ms = performance.now() - t0;
        const sr = { channels: 3, height: img.height * s, width: img.width * s, data: y.data };
        const { equal, maxDiff } = await compareToPng(sr, path.join(refDir(tag), `${name}.png`));
        console.log(`hpinet ${tag} ${name} ${img.width}x${img.height}: ${(100 * equal).toFixed(4)}% equal, max diff ${maxDiff}, ${ms.toFixed(0)} ms`);
        expect(equal).toBeGreaterThanOrEqual(0.999);
        expect(maxDiff).toBeLessThanOrEqual(1);
      }
      m.dispose();
    });
  }
});

describe('HPINet behaviour', () => {
  it('torch and tfjs agree on a 32x32 input (random weights)', () => {
    const a = model(torch, 'S', 3);
    const b = model(tfjs, 'S', 3);
    b.loadStateDict(a.stateDict());
    const x = rand(3 * 32 * 32, 7);
    const ya = run(torch, a, x, [1, 3, 32, 32]);
    const yb = run(tfjs, b, x, [1, 3, 32, 32]);
    expect(ya.shape).toEqual([1, 3, 96, 96]);
    expect(maxAbsDiff(ya.data, yb.data)).toBeLessThanOrEqual(1e-4);
    a.dispose();
    b.dispose();
  });

  it('a batch of 2 equals the images run one by one', () => {
    const m = model(torch, 'S', 4, 's_x4');
    const x1 = rand(3 * 30 * 26, 1);
    const x2 = rand(3 * 30 * 26, 2);
    const both = new Float32Array(x1.length * 2);
    both.set(x1);
    both.set(x2, x1.length);
    const y = run(torch, m, both, [2, 3, 30, 26]).data;
    const y1 = run(torch, m, x1, [1, 3, 30, 26]).data;
    const y2 = run(torch, m, x2, [1, 3, 30, 26]).data;
    expect(maxAbsDiff(y.subarray(0, y1.length), y1)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(y.subarray(y1.length), y2)).toBeLessThanOrEqual(1e-4);
    m.dispose();
  });

  it('accepts any input size >= 1x1; small inputs equal a run on the replicate-padded input, cropped', () => {
    const m = model(torch, 'S', 2);
    for (const [h, w] of [[1, 1], [1, 30], [7, 5], [25, 13]]) {
      const x = rand(3 * h * w, h * 31 + w);
      const y = run(torch, m, x, [1, 3, h, w]);
      expect(y.shape).toEqual([1, 3, 2 * h, 2 * w]);
      expect(y.data.every(Number.isFinite)).toBe(true);
      // manual replicate padding to 24 px, then crop
      const H = Math.max(h, 24);
      const W = Math.max(w, 24);
      const xp = new Float32Array(3 * H * W);
      for (let c = 0; c < 3; c++)
        for (let yy = 0; yy < H; yy++)
          for (let xx = 0; xx < W; xx++) xp[(c * H + yy) * W + xx] = x[(c * h + Math.min(yy, h - 1)) * w + Math.min(xx, w - 1)]!;
      const yp = run(torch, m, xp, [1, 3, H, W]);
      const crop = new Float32Array(3 * 4 * h * w);
      for (let c = 0; c < 3; c++)
        for (let yy = 0; yy < 2 * h; yy++)
          for (let xx = 0; xx < 2 * w; xx++) crop[(c * 2 * h + yy) * 2 * w + xx] = yp.data[(c * 2 * H + yy) * 2 * W + xx]!;
      expect(maxAbsDiff(y.data, crop), `${h}x${w}`).toBeLessThanOrEqual(1e-5);
    }
    m.dispose();
  });

  it('trains on torch: Gumbel path, non-zero gradients on every parameter', () => {
    const o = torch;
    o.seed(1);
    const m = new HPINet(o, 2, HPINET_VARIANTS.S).train();
    const params = m.namedParams();
    o.tidy(() => {
      const x = o.tensor(rand(2 * 3 * 26 * 26, 3), [2, 3, 26, 26]);
      const target = o.tensor(rand(2 * 3 * 52 * 52, 4), [2, 3, 52, 52]);
      const loss = o.mean(o.abs(o.sub(m.forward(x), target)));
      o.backward(loss);
    });
    for (const [name, p] of params) {
      const g = o.grad(p.value);
      expect(g, name).not.toBeNull();
      const gd = o.readSync(g!) as Float32Array;
      o.dispose(g!);
      expect(gd.every(Number.isFinite), name).toBe(true);
      expect(gd.some((v) => v !== 0), name).toBe(true);
    }
    m.dispose();
  });
});

describe('HPINet from the command line', () => {
  it('lightsr info hpinet-m --scale 4: params and MACs (conv+linear 80.3 G + attention 55.6 G)', async () => {
    const out = await cliOutput(info, ['info', 'hpinet-m', '--scale', '4']);
    expect(out).toMatch(/params\s+895,659/);
    expect(out).toMatch(/MACs\s+135\.81 G for 1280×720 output/);
  });

  it('lightsr eval --model hpinet-m --scale 4 on Set5 gives 32.62/0.8998 (metrics.json within 0.005 dB)', async () => {
    const out = await cliOutput(evalCommand, ['eval', '--model', 'hpinet-m', '--scale', '4', '--weights', weightsFile('m_x4'),
      '--data', path.join(shared, 'data/bench/Set5'), '--json']);
    const res = JSON.parse(out) as { results: { datasets: { psnr: number; ssim: number }[] }[] };
    const { psnr, ssim } = res.results[0]!.datasets[0]!;
    const ref = referenceScores('hpinet_m_x4').mean;
    expect(Math.abs(psnr - ref.psnr_y)).toBeLessThan(0.005);
    expect(Math.abs(ssim - ref.ssim_y)).toBeLessThan(0.0005);
    expect(`${psnr.toFixed(2)}/${ssim.toFixed(4)}`).toBe('32.62/0.8998');
  });
});
