// Every Ops member on TF.js (wasm) against the libtorch backend, on the same random inputs.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Ops, Tensor } from '../src/engine/ops.js';
import { createTfjsOps, type TfjsOps } from '../src/backends/tfjs/index.js';
import { createTorchOps } from '../src/backends/torch/index.js';

let tfo: TfjsOps;
let tho: Ops;
beforeAll(async () => {
  tfo = await createTfjsOps('wasm');
  tho = createTorchOps();
});

/** Deterministic test data (an LCG; independent of both backends' generators). */
let seed = 12345;
function rnd(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    a[i] = lo + (hi - lo) * (seed / 4294967296);
  }
  return a;
}

interface In { shape: number[]; data: Float32Array | Int32Array }
const F = (shape: number[], lo = -1, hi = 1): In => ({ shape, data: rnd(shape.reduce((a, b) => a * b, 1), lo, hi) });
const I = (shape: number[], n: number): In => ({ shape, data: Int32Array.from(rnd(shape.reduce((a, b) => a * b, 1), 0, n), Math.floor) });

type Fn = (o: Ops, x: Tensor[]) => Tensor | Tensor[];

function run(o: Ops, f: Fn, ins: In[]): In[] {
  let res: In[] = [];
  o.tidy(() => {
    const ts = ins.map((i) => (i.data instanceof Int32Array ? o.intTensor(i.data, i.shape) : o.tensor(i.data, i.shape)));
    const r = f(o, ts);
    res = (Array.isArray(r) ? r : [r]).map((t) => ({ shape: [...t.shape], data: o.readSync(t) }));
  });
  return res;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? (Number.isNaN(a[i]) && Number.isNaN(b[i]) ? m : Infinity) : d;
  }
  return m;
}

/** Same shapes, same int-ness, max abs diff ≤ tol (0 for index results). */
function same(name: string, f: Fn, ins: In[], tol = 1e-5): void {
  it(name, () => {
    const before = tfo.numTensors();
    const a = run(tfo, f, ins);
    const b = run(tho, f, ins);
    expect(tfo.numTensors()).toBe(before);
    expect(a.length).toBe(b.length);
    for (let k = 0; k < a.length; k++) {
      expect(a[k].shape, `output ${k} shape`).toEqual(b[k].shape);
      expect(a[k].data.length).toBe(b[k].data.length);
      expect(a[k].data instanceof Int32Array, `output ${k} int`).toBe(b[k].data instanceof Int32Array);
      const d = maxDiff(a[k].data, b[k].data);
      expect(d, `${name} output ${k} max |diff|`).toBeLessThanOrEqual(a[k].data instanceof Int32Array ? 0 : tol);
    }
  });
}

const CT = 1e-4; // convs and other long sums

describe('tfjs ops match torch', () => {
  it('describes itself', () => {
    expect(tfo.describe()).toMatch(/^tfjs wasm \(Node/);
    expect(tfo.name).toBe('tfjs');
  });

  describe('convolution', () => {
    same('conv 3×3 pad 1', (o, [x, w, b]) => o.conv2d(x, w, b, { padding: 1 }), [F([2, 5, 9, 8]), F([7, 5, 3, 3]), F([7])], CT);
    same('conv stride 2 pad 0 (ESA)', (o, [x, w, b]) => o.conv2d(x, w, b, { stride: 2 }), [F([1, 4, 16, 15]), F([4, 4, 3, 3]), F([4])], CT);
    same('conv dilation 2, asymmetric padding, no bias', (o, [x, w]) => o.conv2d(x, w, null, { padding: [2, 1], dilation: 2 }), [F([1, 3, 10, 11]), F([6, 3, 3, 3])], CT);
    same('conv stride 2 with dilation 2', (o, [x, w, b]) => o.conv2d(x, w, b, { stride: 2, dilation: 2, padding: 2 }), [F([1, 3, 11, 12]), F([4, 3, 3, 3]), F([4])], CT);
    same('conv rectangular kernel, stride [2,1]', (o, [x, w, b]) => o.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0] }), [F([1, 3, 9, 9]), F([4, 3, 3, 1]), F([4])], CT);
    same('grouped conv (groups 2)', (o, [x, w, b]) => o.conv2d(x, w, b, { padding: 1, groups: 2 }), [F([2, 6, 7, 7]), F([4, 3, 3, 3]), F([4])], CT);
    same('depthwise conv', (o, [x, w, b]) => o.conv2d(x, w, b, { padding: 1, groups: 6 }), [F([1, 6, 8, 9]), F([6, 1, 3, 3]), F([6])], CT);
    same('depthwise conv ×2 multiplier, pad [1,0]', (o, [x, w]) => o.conv2d(x, w, null, { padding: [1, 0], groups: 3 }), [F([1, 3, 8, 9]), F([6, 1, 3, 3])], CT);
    same('1×1 conv', (o, [x, w, b]) => o.conv2d(x, w, b), [F([1, 8, 5, 4]), F([3, 8, 1, 1]), F([3])], CT);
    same('conv transpose k6 s2 p2', (o, [x, w, b]) => o.convTranspose2d(x, w, b, { stride: 2, padding: 2 }), [F([1, 4, 5, 6]), F([4, 3, 6, 6]), F([3])], CT);
    same('conv transpose k6 s4 p1', (o, [x, w, b]) => o.convTranspose2d(x, w, b, { stride: 4, padding: 1 }), [F([2, 4, 4, 5]), F([4, 3, 6, 6]), F([3])], CT);
    same('conv transpose k9 s3 p3', (o, [x, w, b]) => o.convTranspose2d(x, w, b, { stride: 3, padding: 3 }), [F([1, 5, 4, 4]), F([5, 3, 9, 9]), F([3])], CT);
    same('conv transpose output padding', (o, [x, w]) => o.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), [F([1, 3, 5, 4]), F([3, 2, 3, 3])], CT);
    same('conv transpose groups 2, dilation 2, stride [2,1]', (o, [x, w, b]) => o.convTranspose2d(x, w, b, { stride: [2, 1], padding: 1, dilation: 2, groups: 2 }), [F([1, 4, 5, 6]), F([4, 3, 3, 3]), F([6])], CT);
    same('conv transpose padding larger than k-1', (o, [x, w, b]) => o.convTranspose2d(x, w, b, { stride: 2, padding: 3 }), [F([1, 2, 6, 6]), F([2, 2, 3, 3]), F([2])], CT);
    same('linear 3-D with bias', (o, [x, w, b]) => o.linear(x, w, b), [F([2, 7, 6]), F([5, 6]), F([5])], CT);
    same('linear without bias', (o, [x, w]) => o.linear(x, w, null), [F([4, 6]), F([3, 6])], CT);
    same('matmul batched', (o, [a, b]) => o.matmul(a, b), [F([2, 3, 4, 5]), F([2, 3, 5, 6])], CT);
    same('matmul broadcast', (o, [a, b]) => o.matmul(a, b), [F([2, 1, 4, 5]), F([3, 5, 6])], CT);
    same('matmul 2-D', (o, [a, b]) => o.matmul(a, b), [F([4, 5]), F([5, 3])], CT);
    same('matmul with an unbatched right side, batch of one', (o, [a, b, c]) => [o.matmul(a, b), o.matmul(c, b)], [F([2, 3, 4, 5]), F([5, 6]), F([1, 4, 5])], CT);
    same('matmul large per-item products (per-item path in wasm)', (o, [a, b]) => o.matmul(a, b), [F([3, 100, 60]), F([3, 60, 70])], CT);
    same('matmul broadcast of the left side', (o, [a, b]) => o.matmul(a, b), [F([7, 30]), F([2, 30, 5])], CT);
  });

  describe('element-wise', () => {
    same('add/sub/mul/div broadcast', (o, [a, b]) => [o.add(a, b), o.sub(a, b), o.mul(a, b), o.div(a, o.add(o.abs(b), 0.5))], [F([2, 3, 4, 5]), F([3, 1, 5])]);
    same('scalar arithmetic', (o, [a]) => [o.add(a, 1.5), o.sub(a, 2), o.mul(a, -3), o.div(a, 7)], [F([3, 4])]);
    same('neg sqrt exp log abs', (o, [a, p]) => [o.neg(a), o.sqrt(p), o.exp(a), o.log(p), o.abs(a)], [F([4, 5], -3, 3), F([4, 5], 0.01, 4)]);
    same('pow', (o, [a, p]) => [o.pow(a, 2), o.pow(a, 3), o.pow(p, 0.5), o.pow(p, -1.5), o.pow(p, 1.7)], [F([3, 6], -2, 2), F([3, 6], 0.1, 3)]);
    same('clamp relu leakyRelu sigmoid', (o, [a]) => [o.clamp(a, -0.5, 0.25), o.relu(a), o.leakyRelu(a, 0.05), o.sigmoid(a)], [F([2, 3, 4, 4], -6, 6)]);
    same('gelu (exact erf form)', (o, [a]) => o.gelu(a), [F([4, 250], -6, 6)]);
    same('softmax over each dim', (o, [a]) => [o.softmax(a, -1), o.softmax(a, 1), o.softmax(a, 0)], [F([3, 4, 5], -4, 4)]);
  });

  describe('reductions', () => {
    same('sum / mean over all, dims, keepDim', (o, [a]) => [o.sum(a), o.sum(a, [1, -1]), o.sum(a, 2, true), o.mean(a), o.mean(a, [2, 3], true), o.mean(a, 0)], [F([2, 3, 4, 5])]);
    same('population variance', (o, [a]) => [o.variance(a, [2, 3]), o.variance(a, -1, true), o.variance(a, [0, 1, 2, 3])], [F([2, 3, 4, 5], -2, 3)]);
    same('max', (o, [a]) => [o.max(a, 1), o.max(a, -1, true)], [F([2, 6, 5])]);
    // Small integers stored as floats: many ties, which must go to the first index.
    same('argmax with ties', (o, [a]) => {
      const r = o.clamp(o.mul(a, 2), 0, 1);
      return [o.argmax(r, 1), o.argmax(r, -1, true), o.argmax(r, 0)];
    }, [F([3, 8, 7], -1, 2)]);
  });

  describe('normalisation / resampling', () => {
    same('layerNorm last dim with affine', (o, [x, w, b]) => o.layerNorm(x, [8], w, b), [F([2, 5, 8], -3, 5), F([8]), F([8])]);
    same('layerNorm last two dims, no affine, eps 1e-6', (o, [x]) => o.layerNorm(x, [5, 8], null, null, 1e-6), [F([3, 5, 8])]);
    same('pixelShuffle r=2 and r=3', (o, [a, b]) => [o.pixelShuffle(a, 2), o.pixelShuffle(b, 3)], [F([2, 12, 3, 4]), F([1, 18, 2, 3])]);
    same('bilinear ×4 and to odd sizes', (o, [a]) => [o.resizeBilinear(a, [20, 24]), o.resizeBilinear(a, [7, 3]), o.resizeBilinear(a, [11, 13])], [F([2, 3, 5, 6])]);
    same('maxPool2d 7/3 (ESA) and 3/2 pad 1', (o, [a]) => [o.maxPool2d(a, 7, 3), o.maxPool2d(a, 3, 2, 1), o.maxPool2d(a, 2)], [F([2, 3, 17, 16])]);
    same('avgPool2d (count_include_pad)', (o, [a]) => [o.avgPool2d(a, 3, 1, 1), o.avgPool2d(a, 2), o.avgPool2d(a, 4, 3)], [F([1, 3, 9, 10])]);
    same('pad zeros / value / negative', (o, [a]) => [o.pad(a, [1, 2, 0, 3]), o.pad(a, [2, 0, 1, 1], 'zeros', 0.75), o.pad(a, [-1, 2, 1, -2])], [F([2, 3, 5, 6])]);
    same('pad reflect and replicate (3-D and 4-D)', (o, [a, b]) => [o.pad(a, [1, 2, 3, 0], 'reflect'), o.pad(a, [3, 1, 0, 2], 'replicate'), o.pad(b, [2, 2, 1, 1], 'reflect'), o.pad(b, [1, 0, 2, 3], 'replicate')], [F([2, 3, 5, 6]), F([3, 4, 5])]);
  });

  describe('shape / indexing', () => {
    same('reshape permute transpose flip', (o, [a]) => [o.reshape(a, [4, -1]), o.permute(a, [2, 0, 3, 1]), o.transpose(a, 1, -1), o.flip(a, [-1, 1])], [F([2, 3, 4, 5])]);
    same('cat stack split narrow', (o, [a, b]) => [o.cat([a, b], 1), o.stack([a, a], -1), ...o.split(b, [1, 3, 2], 1), o.narrow(a, 2, 1, 2), o.narrow(a, -1, -3, 2)], [F([2, 3, 4, 5]), F([2, 6, 4, 5])]);
    same('indexSelect', (o, [a, i]) => [o.indexSelect(a, 1, i), o.indexSelect(a, -1, i)], [F([2, 5, 6]), { shape: [4], data: Int32Array.from([4, 0, 0, 2]) }]);
    same('gather (torch semantics)', (o, [a, i, j]) => [o.gather(a, 1, i), o.gather(a, -1, j)], [F([2, 5, 6]), I([2, 3, 6], 5), I([2, 5, 4], 6)]);
    same('oneHot (n = 7 and n = 1)', (o, [i, z]) => [o.oneHot(i, 7), o.oneHot(z, 1)], [I([3, 4], 7), I([2, 3], 1)]);
    same('clone and round trip of int and float tensors', (o, [a, i]) => [o.clone(a), o.clone(i), a, i], [F([3, 2]), I([5], 100)]);
  });

  describe('creation and memory', () => {
    same('zeros ones full', (o) => [o.zeros([2, 3]), o.ones([4]), o.full([3, 1, 2], -2.5)], []);

    it('rand and randn have the requested ranges and moments, and follow the seed', () => {
      tfo.seed(7);
      const u = tfo.readSync(tfo.rand([20000], -2, 3));
      const n = tfo.readSync(tfo.randn([20000]));
      tfo.seed(7);
      const u2 = tfo.readSync(tfo.rand([20000], -2, 3));
      expect(u2).toEqual(u);
      expect(Math.min(...u)).toBeGreaterThanOrEqual(-2);
      expect(Math.max(...u)).toBeLessThan(3);
      const mean = (a: ArrayLike<number>) => {
        let s = 0;
        for (let i = 0; i < a.length; i++) s += a[i];
        return s / a.length;
      };
      expect(mean(u)).toBeCloseTo(0.5, 1);
      expect(mean(n)).toBeCloseTo(0, 1);
      expect(mean(Array.from(n, (v) => v * v))).toBeCloseTo(1, 1);
      tfo.dispose(tfo.tidy(() => []));
    });

    it('read returns a copy, tidy/keep/dispose/numTensors track memory', async () => {
      const base = tfo.numTensors();
      const t = tfo.tensor([1, 2, 3, 4], [2, 2]);
      const v = (await tfo.read(t)) as Float32Array;
      v[0] = 99;
      expect(Array.from(tfo.readSync(t))).toEqual([1, 2, 3, 4]);
      let kept: Tensor | null = null;
      const r = tfo.tidy(() => {
        const a = tfo.mul(t, 2);
        kept = tfo.keep(tfo.add(a, 1));
        return tfo.sub(a, 1);
      });
      expect(tfo.numTensors()).toBe(base + 3);
      expect(Array.from(tfo.readSync(kept!))).toEqual([3, 5, 7, 9]);
      expect(Array.from(tfo.readSync(r))).toEqual([1, 3, 5, 7]);
      tfo.dispose([t, r, kept!]);
      expect(tfo.numTensors()).toBe(base);
    });

    it('gives clear errors for bad shapes', () => {
      expect(() => tfo.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
      const x = tfo.zeros([1, 4, 5, 5]);
      const w = tfo.zeros([8, 3, 3, 3]);
      expect(() => tfo.conv2d(x, w, null)).toThrow(/conv2d: input \[1, 4, 5, 5\] does not fit weight \[8, 3, 3, 3\]/);
      expect(() => tfo.pixelShuffle(x, 3)).toThrow(/not divisible/);
      tfo.dispose([x, w]);
    });
  });
});

describe('tfjs cpu kind (pure JS) on tiny inputs', () => {
  it('matches torch on conv, gelu, pixel shuffle and bilinear', async () => {
    const cpu = await createTfjsOps('cpu');
    expect(cpu.describe()).toBe('tfjs cpu (Node)');
    const f: Fn = (o, [x, w, b]) => {
      const y = o.gelu(o.conv2d(x, w, b, { padding: 1 }));
      return [o.pixelShuffle(y, 2), o.resizeBilinear(y, [9, 7])];
    };
    const ins = [F([1, 3, 5, 6]), F([8, 3, 3, 3]), F([8])];
    const a = run(cpu, f, ins), b = run(tho, f, ins);
    for (let k = 0; k < 2; k++) {
      expect(a[k].shape).toEqual(b[k].shape);
      expect(maxDiff(a[k].data, b[k].data)).toBeLessThanOrEqual(CT);
    }
  });
});
