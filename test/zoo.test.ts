// The model zoo: exact sizes, MACs, torch/tfjs agreement, training on torch, odd input sizes.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOps } from '../src/engine/select.js';
import { isTrainOps, type Ops, type Tensor, type TrainOps } from '../src/engine/ops.js';
import { measureComplexity } from '../src/eval/complexity.js';
import { getEntry, listEntries, type ModelEntry } from '../src/models/index.js';
import { formatModelTable, modelTable } from '../src/cli/models.js';
import { toPlanarRGB } from '../src/image/planar.js';
import { cropRaw, maxAbsDiff } from './helpers/compare.js';
import { shared } from './helpers/fixtures.js';


let torch: TrainOps;
let tfjs: Ops;
let threads = 0;

beforeAll(async () => {
  const t = await getOps('torch');
  if (!isTrainOps(t)) throw new Error('torch backend without training ops');
  torch = t;
  tfjs = await getOps('tfjs');
  // Tiny tensors: one libtorch thread avoids OpenMP hand-off costs (large on a busy 2-core machine).
  threads = torch.getThreads();
  torch.setThreads(1);
});

afterAll(() => torch?.setThreads(threads));

/** Deterministic uniform [0,1) values (mulberry32). */
function randomImage(seed: number, n: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

function input(ops: Ops, h: number, w: number, seed = 1): Tensor {
  return ops.tensor(randomImage(seed, 3 * h * w), [1, 3, h, w]);
}

const allFinite = (a: Float32Array) => a.every(Number.isFinite);

/** Every registered network × scale. */
const cases = (): [string, number, ModelEntry][] => listEntries().flatMap((e) => e.scales.map((s) => [e.name, s, e] as [string, number, ModelEntry]));

describe('sizes (params counted with biases, trainable only; MACs for a 1280×720 output)', () => {
  const exact: Record<string, [number, number, number]> = {
    shsr: [3_577_548, 3_586_203, 3_598_320], // spec §3.3
    rfdn: [417_212, 423_977, 433_448], // x4 = official RFDN_AIM; x2/x3 = same body, upsampler 50→3s²
    rdnesa: [481_830, 488_595, 498_066], // spec §5.4, C 50, N 6
  };
  for (const [name, counts] of Object.entries(exact)) {
    it(`${name} has exactly ${counts.join(' / ')} parameters (x2 / x3 / x4)`, () => {
      expect([2, 3, 4].map((s) => measureComplexity(name, s).params)).toEqual(counts);
    });
  }

  it('hfdn lands within 3 % of the paper (760K x2/x4, 823K x3)', () => {
    const paper: Record<number, number> = { 2: 760_000, 3: 823_000, 4: 760_000 };
    for (const s of [2, 3, 4]) {
      const p = measureComplexity('hfdn', s).params;
      expect(Math.abs(p / paper[s]! - 1), `hfdn x${s}: ${p}`).toBeLessThanOrEqual(0.03);
    }
  });

  it('shsr x4 needs 206.8 G MACs and rfdn x4 23.76 G', () => {
    expect(measureComplexity('shsr', 4).macs / 1e9).toBeCloseTo(206.8, 1);
    expect(measureComplexity('rfdn', 4).macs / 1e9).toBeCloseTo(23.76, 2);
  });
});

describe('lightsr models', () => {
  it('lists every network × scale with params and MACs', () => {
    const rows = modelTable();
    expect(rows.map((r) => `${r.model} x${r.scale}`)).toEqual(cases().map(([n, s]) => `${n} x${s}`));
    const lines = formatModelTable(rows).split('\n');
    const shsr4 = lines.find((l) => /^shsr\s+×4\s/.test(l));
    expect(shsr4).toMatch(/3,598,320\s+206\.78\s/);
    const rfdn4 = lines.find((l) => /^rfdn\s+×4\s/.test(l));
    expect(rfdn4).toMatch(/433,448\s+23\.76\s/);
  });
});

describe('every registered network', () => {
  it('includes the whole zoo', () => {
    const names = listEntries().map((e) => e.name);
    for (const n of ['shsr', 'hfdn', 'rfdn', 'rdnesa']) expect(names).toContain(n);
  });

  // Parity at each network's largest scale (the scales differ only in the upsampler), plus HFDN ×3, whose
  // transposed convs have their own kernel (13) and stride (3).
  const parityCases = (): [string, number, ModelEntry][] => [
    ...listEntries().map((e) => [e.name, Math.max(...e.scales), e] as [string, number, ModelEntry]),
    ['hfdn', 3, getEntry('hfdn')],
  ];

  it.each(parityCases())('%s x%i: torch and tfjs agree on a 32×32 input with the same weights', async (_n, s, entry) => {
    torch.seed(7);
    const mt = entry.create(torch, s).eval();
    const mf = entry.create(tfjs, s).eval();
    try {
      mf.loadStateDict(mt.stateDict());
      const yt = torch.noGrad(() => torch.tidy(() => mt.forward(input(torch, 32, 32))));
      const yf = tfjs.tidy(() => mf.forward(input(tfjs, 32, 32)));
      expect(yt.shape).toEqual([1, 3, 32 * s, 32 * s]);
      expect(yf.shape).toEqual(yt.shape);
      const a = torch.readSync(yt) as Float32Array;
      const b = (await tfjs.read(yf)) as Float32Array;
      torch.dispose(yt);
      tfjs.dispose(yf);
      expect(allFinite(a)).toBe(true);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-4);
    } finally {
      mt.dispose();
      mf.dispose();
    }
  });

  it.each(listEntries().map((e) => [e.name, Math.max(...e.scales), e] as const))('%s x%i: backward on torch (training mode) gives finite, non-zero gradients', (_n, s, entry) => {
    torch.seed(11);
    const m = entry.create(torch, s).train();
    const params = m.parameters();
    try {
      const loss = torch.tidy(() => {
        const x = input(torch, 16, 16, 3);
        const target = input(torch, 16 * s, 16 * s, 4);
        const outs = m.forwardAll ? m.forwardAll(x) : [m.forward(x)];
        return outs.map((y) => torch.mean(torch.abs(torch.sub(y, target)))).reduce((p, q) => torch.add(p, q));
      });
      torch.backward(loss);
      torch.dispose(loss);
      let nonZero = 0;
      let total = 0;
      for (const p of params) {
        const g = torch.grad(p);
        expect(g, 'every trainable parameter gets a gradient').not.toBeNull();
        const d = torch.readSync(g!) as Float32Array;
        torch.dispose(g!);
        expect(allFinite(d)).toBe(true);
        if (d.some((v) => v !== 0)) nonZero++;
        total++;
      }
      // A few tensors may be all-zero by chance (dead ReLUs in a 3-channel squeeze); nearly all must not be.
      expect(nonZero / total).toBeGreaterThanOrEqual(0.9);
    } finally {
      m.dispose();
    }
  });

  // 1×1, 7×9 and 15×15 at each network's largest scale; 7×9 at the others, whose code differs only in the
  // upsampler and the final crop.
  it.each(cases())('%s x%i: small odd inputs give s× outputs', (_n, s, entry) => {
    torch.seed(5);
    const m = entry.create(torch, s).eval();
    const sizes = s === Math.max(...entry.scales) ? [[1, 1], [7, 9], [15, 15]] : [[7, 9]];
    try {
      for (const [h, w] of sizes) {
        const y = torch.noGrad(() => torch.tidy(() => m.forward(input(torch, h, w))));
        expect(y.shape).toEqual([1, 3, h * s, w * s]);
        expect(allFinite(torch.readSync(y) as Float32Array)).toBe(true);
        torch.dispose(y);
      }
    } finally {
      m.dispose();
    }
  });

  it.each(listEntries().map((e) => [e.name, e] as const))('%s: a 7×9 input also works on tfjs', async (_n, entry) => {
    const s = entry.scales[0]!;
    const m = entry.create(tfjs, s).eval();
    try {
      const y = tfjs.tidy(() => m.forward(input(tfjs, 7, 9)));
      expect(y.shape).toEqual([1, 3, 7 * s, 9 * s]);
      expect(allFinite((await tfjs.read(y)) as Float32Array)).toBe(true);
      tfjs.dispose(y);
    } finally {
      m.dispose();
    }
  });
});

describe('training', () => {
  it('shsr x2: a few Adam steps on a fixed crop reduce the L1 loss', async () => {
    const crop = async (file: string, left: number, top: number, size: number) =>
      torch.tensor(toPlanarRGB(await cropRaw(file, left, top, size, size)).rgb.data, [1, 3, size, size]);
    const set5 = path.join(shared, 'data/bench/Set5');
    const lr = await crop(path.join(set5, 'LR_bicubic/X2/butterflyx2.png'), 40, 40, 16);
    const hr = await crop(path.join(set5, 'HR/butterfly.png'), 80, 80, 32);
    torch.seed(3);
    const m = getEntry('shsr').create(torch, 2).train();
    const opt = torch.adam(m.parameters(), { lr: 1e-4 });
    const l1 = () => torch.tidy(() => torch.mean(torch.abs(torch.sub(m.forward(lr), hr))));
    const losses: number[] = [];
    try {
      for (let step = 0; step < 5; step++) {
        opt.zeroGrad();
        const loss = l1();
        losses.push((torch.readSync(loss) as Float32Array)[0]!);
        torch.backward(loss);
        torch.dispose(loss);
        opt.step();
      }
      const final = torch.noGrad(() => l1());
      losses.push((torch.readSync(final) as Float32Array)[0]!);
      torch.dispose(final);
    } finally {
      opt.dispose();
      m.dispose();
      torch.dispose([lr, hr]);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!, `losses ${losses.map((v) => v.toFixed(4)).join(' ')}`).toBeLessThan(0.8 * losses[0]!);
  });
});
