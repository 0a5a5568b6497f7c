// libtorch backend: every op against naive JS references, gradients against finite differences,
// plus memory (dispose/tidy), autograd controls, Adam/AdamW, random state and threads.
import { execFileSync } from 'node:child_process';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, test } from 'vitest';
import { createTorchOps } from '../src/backends/torch/index.js';
import type { Tensor } from '../src/engine/ops.js';
import * as R from './torch-ref.js';
import { type Arr, arr, prand, size } from './torch-ref.js';

const o = createTorchOps();
// One thread: the machine's cores are shared, and tiny ops gain nothing from more.
o.setThreads(1);

const T = (a: Arr): Tensor => o.tensor(Float32Array.from(a.data), a.shape);
const rnd = (shape: number[], seed: number, lo = -1, hi = 1): Arr => arr(shape, prand(size(shape), seed, lo, hi));
/** Distinct values 0.05 apart, none within 0.013 of 0 or ±0.5 (safe for kinks with small eps). */
function grid(shape: number[], seed: number): Arr {
  const n = size(shape);
  const keys = prand(n, seed);
  const order = [...keys.keys()].sort((a, b) => keys[a] - keys[b]);
  const data = new Float64Array(n);
  order.forEach((k, i) => (data[k] = (i - Math.floor(n / 2)) * 0.05 + 0.013));
  return { shape, data };
}

function expectClose(t: Tensor, ref: Arr, tol = 1e-5): void {
  expect([...t.shape]).toEqual(ref.shape);
  const got = o.readSync(t);
  expect(got.length).toBe(ref.data.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.data[i]) / (1 + Math.abs(ref.data[i])));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Checks d(sum(f(xs)·W))/dxs from backward() against central differences. */
function gradcheck(inputs: Arr[], f: (xs: Tensor[]) => Tensor, eps = 1e-2, tol = 2e-3): void {
  const before = o.numTensors();
  let weights: Float32Array = new Float32Array(0);
  let analytic: Float64Array[] = [];
  o.tidy(() => {
    const xs = inputs.map(T);
    for (const x of xs) o.setRequiresGrad(x, true);
    const y = f(xs);
    weights = prand(size(y.shape), 4242);
    o.backward(o.sum(o.mul(y, o.tensor(weights, y.shape))));
    analytic = xs.map((x) => {
      const g = o.grad(x);
      if (!g) throw new Error('no gradient reached an input');
      return Float64Array.from(o.readSync(g));
    });
  });
  const loss = (datas: Float64Array[]): number => o.noGrad(() => o.tidy(() => {
    const y = o.readSync(f(datas.map((d, i) => T({ shape: inputs[i].shape, data: d }))));
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * weights[i];
    return s;
  }));
  inputs.forEach((inp, which) => {
    for (let j = 0; j < inp.data.length; j++) {
      const datas = inputs.map((a) => Float64Array.from(a.data));
      datas[which][j] = inp.data[j] + eps;
      const up = loss(datas);
      datas[which][j] = inp.data[j] - eps;
      const down = loss(datas);
      const num = (up - down) / (2 * eps);
      const err = Math.abs(analytic[which][j] - num);
      if (err > tol * (1 + Math.abs(num))) {
        throw new Error(`gradient mismatch: input ${which} element ${j}: backward ${analytic[which][j]}, numeric ${num}`);
      }
    }
  });
  expect(o.numTensors()).toBe(before);
}

describe('creation and transfer', () => {
  test('tensor, intTensor, zeros, ones, full, clone, read', async () => {
    o.tidy(() => {
      const t = o.tensor([1.5, -2, 3, 4, 5, 6], [2, 3]);
      expect(t.shape).toEqual([2, 3]);
      expect(t.dtype).toBe('float32');
      expect(Array.from(o.readSync(t))).toEqual([1.5, -2, 3, 4, 5, 6]);
      const i = o.intTensor([3, -1, 7], [3]);
      expect(i.dtype).toBe('int64');
      const iv = o.readSync(i);
      expect(iv).toBeInstanceOf(Int32Array);
      expect(Array.from(iv)).toEqual([3, -1, 7]);
      expect(Array.from(o.readSync(o.zeros([2, 2])))).toEqual([0, 0, 0, 0]);
      expect(Array.from(o.readSync(o.ones([3])))).toEqual([1, 1, 1]);
      expect(Array.from(o.readSync(o.full([2], 2.5)))).toEqual([2.5, 2.5]);
      const c = o.clone(t);
      expect(Array.from(o.readSync(c))).toEqual(Array.from(o.readSync(t)));
      expect(o.full([], 7).shape).toEqual([]);
      expect(Array.from(o.readSync(o.full([], 7)))).toEqual([7]);
      // read of a non-contiguous view is a contiguous copy
      expect(Array.from(o.readSync(o.transpose(t, 0, 1)))).toEqual([1.5, 4, -2, 5, 3, 6]);
    });
    const t = o.tensor([1, 2], [2]);
    const v = await o.read(t);
    expect(Array.from(v)).toEqual([1, 2]);
    // typed-array views are read from their own offset
    const view = o.tensor(new Float32Array([9, 9, 4, 5, 6, 9]).subarray(2, 5), [3]);
    const iview = o.intTensor(new Int32Array([9, 1, 2]).subarray(1), [2]);
    expect(Array.from(o.readSync(view))).toEqual([4, 5, 6]);
    expect(Array.from(o.readSync(iview))).toEqual([1, 2]);
    o.dispose([t, view, iview]);
  });

  test('bad input gives clear errors', () => {
    expect(() => o.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fit shape \[2, 2\]/);
    expect(() => o.zeros([2, -1])).toThrow(/invalid shape/);
    const a = o.zeros([2, 3]);
    expect(() => o.tidy(() => o.matmul(a, a))).toThrow(/libtorch: .*(shape|mat1)/);
    o.dispose(a);
    expect(() => o.readSync(a)).toThrow(/disposed/);
    expect(() => o.relu(a)).toThrow(/disposed/);
    expect(() => o.pad(o.zeros([1, 1, 2, 2]), [1, 1, 1, 1], 'circular' as never)).toThrow(/unknown mode/);
  });
});

describe('forward ops match naive references', () => {
  test('conv2d: padding, stride, dilation, groups, bias', () => {
    o.tidy(() => {
      const x = rnd([2, 4, 7, 6], 1);
      const w = rnd([6, 4, 3, 3], 2);
      const b = rnd([6], 3);
      expectClose(o.conv2d(T(x), T(w), T(b), { padding: 1 }), R.conv2d(x, w, b, [1, 1], [1, 1], [1, 1], 1));
      const w2 = rnd([6, 2, 3, 2], 4);
      expectClose(o.conv2d(T(x), T(w2), null, { stride: [2, 1], padding: [1, 0], dilation: 2, groups: 2 }),
        R.conv2d(x, w2, null, [2, 1], [1, 0], [2, 2], 2));
      const wd = rnd([4, 1, 3, 3], 5);
      expectClose(o.conv2d(T(x), T(wd), null, { padding: 1, groups: 4 }), R.conv2d(x, wd, null, [1, 1], [1, 1], [1, 1], 4));
    });
  });

  test('convTranspose2d: stride, padding, output padding, groups, dilation', () => {
    o.tidy(() => {
      const x = rnd([2, 4, 3, 4], 6);
      const w = rnd([4, 3, 3, 3], 7);
      const b = rnd([3], 8);
      expectClose(o.convTranspose2d(T(x), T(w), T(b), { stride: 2, padding: 1, outputPadding: 1 }),
        R.convTranspose2d(x, w, b, [2, 2], [1, 1], [1, 1], [1, 1], 1));
      const w2 = rnd([4, 2, 2, 3], 9);
      expectClose(o.convTranspose2d(T(x), T(w2), null, { stride: [1, 2], padding: [0, 1], groups: 2, dilation: 2 }),
        R.convTranspose2d(x, w2, null, [1, 2], [0, 1], [0, 0], [2, 2], 2));
    });
  });

  test('linear and matmul with broadcasting', () => {
    o.tidy(() => {
      const x = rnd([2, 3, 5], 10);
      const w = rnd([4, 5], 11);
      const b = rnd([4], 12);
      const wt = R.build([5, 4], ([i, j]) => R.get(w, [j, i]));
      expectClose(o.linear(T(x), T(w), T(b)), R.broadcast(R.matmul(x, wt), b, (p, q) => p + q));
      expectClose(o.linear(T(x), T(w), null), R.matmul(x, wt));
      const a = rnd([2, 1, 3, 4], 13);
      const c = rnd([3, 4, 5], 14);
      expectClose(o.matmul(T(a), T(c)), R.matmul(a, c));
    });
  });

  test('element-wise binary ops broadcast, scalars', () => {
    o.tidy(() => {
      const a = rnd([2, 3, 4], 15);
      const b = rnd([3, 1], 16, 0.5, 2);
      const fns: [string, (x: Tensor, y: Tensor | number) => Tensor, (p: number, q: number) => number][] = [
        ['add', o.add, (p, q) => p + q], ['sub', o.sub, (p, q) => p - q],
        ['mul', o.mul, (p, q) => p * q], ['div', o.div, (p, q) => p / q],
      ];
      for (const [, f, ref] of fns) {
        expectClose(f(T(a), T(b)), R.broadcast(a, b, ref));
        expectClose(f(T(a), 0.75), R.map(a, (p) => ref(p, 0.75)));
      }
    });
  });

  test('element-wise unary ops and softmax', () => {
    o.tidy(() => {
      const a = rnd([3, 5], 17, -3, 3);
      const pos = rnd([3, 5], 18, 0.1, 3);
      const sig = (v: number): number => 1 / (1 + Math.exp(-v));
      expectClose(o.neg(T(a)), R.map(a, (v) => -v));
      expectClose(o.sqrt(T(pos)), R.map(pos, Math.sqrt));
      expectClose(o.exp(T(a)), R.map(a, Math.exp));
      expectClose(o.log(T(pos)), R.map(pos, Math.log));
      expectClose(o.abs(T(a)), R.map(a, Math.abs));
      expectClose(o.pow(T(pos), 2.5), R.map(pos, (v) => v ** 2.5));
      expectClose(o.pow(T(a), 3), R.map(a, (v) => v ** 3));
      expectClose(o.clamp(T(a), -0.5, 1.25), R.map(a, (v) => Math.min(Math.max(v, -0.5), 1.25)));
      expectClose(o.relu(T(a)), R.map(a, (v) => Math.max(v, 0)));
      expectClose(o.leakyRelu(T(a), 0.05), R.map(a, (v) => (v > 0 ? v : 0.05 * v)));
      expectClose(o.gelu(T(a)), R.map(a, (v) => 0.5 * v * (1 + R.erf(v / Math.SQRT2))));
      expectClose(o.sigmoid(T(a)), R.map(a, sig));
      expectClose(o.softmax(T(a), -1), R.softmax(a, 1));
      expectClose(o.softmax(T(a), 0), R.softmax(a, 0));
    });
  });

  test('reductions', () => {
    o.tidy(() => {
      const a = rnd([2, 3, 4, 2], 19);
      const sum = (v: number[]): number => v.reduce((p, q) => p + q, 0);
      const mean = (v: number[]): number => sum(v) / v.length;
      const pvar = (v: number[]): number => mean(v.map((x) => (x - mean(v)) ** 2));
      const all = o.sum(T(a));
      expect(all.shape).toEqual([]);
      expectClose(all, R.reduce(a, [0, 1, 2, 3], false, sum));
      expectClose(o.sum(T(a), undefined, true), R.reduce(a, [0, 1, 2, 3], true, sum));
      expectClose(o.sum(T(a), [1, -1], true), R.reduce(a, [1, 3], true, sum));
      expectClose(o.sum(T(a), 2), R.reduce(a, [2], false, sum));
      expectClose(o.mean(T(a)), R.reduce(a, [0, 1, 2, 3], false, mean));
      expectClose(o.mean(T(a), [2, 3], true), R.reduce(a, [2, 3], true, mean));
      expectClose(o.variance(T(a), [2, 3]), R.reduce(a, [2, 3], false, pvar));
      expectClose(o.variance(T(a), 1, true), R.reduce(a, [1], true, pvar));
      expectClose(o.max(T(a), 2), R.reduce(a, [2], false, (v) => Math.max(...v)));
      expectClose(o.max(T(a), -1, true), R.reduce(a, [3], true, (v) => Math.max(...v)));
      expectClose(o.argmax(T(a), 1), R.reduce(a, [1], false, (v) => v.indexOf(Math.max(...v))));
      // ties go to the lowest index
      const ties = o.argmax(o.tensor([1, 3, 3, 0, 2, 2, 2, 1], [2, 4]), 1, true);
      expect(ties.dtype).toBe('int64');
      expect(ties.shape).toEqual([2, 1]);
      expect(Array.from(o.readSync(ties))).toEqual([1, 0]);
    });
  });

  test('layerNorm, pixelShuffle, resizeBilinear, pools', () => {
    o.tidy(() => {
      const x = rnd([2, 3, 4, 5], 20, -2, 2);
      const w = rnd([4, 5], 21);
      const b = rnd([4, 5], 22);
      expectClose(o.layerNorm(T(x), [4, 5], T(w), T(b)), R.layerNorm(x, 2, w, b, 1e-5), 1e-4);
      const w1 = rnd([5], 23);
      expectClose(o.layerNorm(T(x), [5], T(w1), null, 1e-3), R.layerNorm(x, 1, w1, null, 1e-3), 1e-4);
      expectClose(o.layerNorm(T(x), [5], null, null), R.layerNorm(x, 1, null, null, 1e-5), 1e-4);

      const ps = rnd([2, 8, 3, 2], 24);
      expectClose(o.pixelShuffle(T(ps), 2), R.pixelShuffle(ps, 2));
      const ps3 = rnd([1, 18, 2, 3], 25);
      expectClose(o.pixelShuffle(T(ps3), 3), R.pixelShuffle(ps3, 3));

      const img = rnd([2, 2, 5, 7], 26);
      expectClose(o.resizeBilinear(T(img), [8, 3]), R.resizeBilinear(img, 8, 3));
      expectClose(o.resizeBilinear(T(img), [10, 14]), R.resizeBilinear(img, 10, 14));
      expectClose(o.resizeBilinear(T(img), [2, 2]), R.resizeBilinear(img, 2, 2));

      const p = rnd([2, 2, 7, 6], 27);
      expectClose(o.maxPool2d(T(p), 2), R.pool2d(p, 2, 2, 0, 'max'));
      expectClose(o.maxPool2d(T(p), 3, 2, 1), R.pool2d(p, 3, 2, 1, 'max'));
      expectClose(o.avgPool2d(T(p), 2), R.pool2d(p, 2, 2, 0, 'avg'));
      expectClose(o.avgPool2d(T(p), 3, 1, 1), R.pool2d(p, 3, 1, 1, 'avg'));
      expectClose(o.avgPool2d(T(p), 5, 3, 0), R.pool2d(p, 5, 3, 0, 'avg'));
    });
  });

  test('pad: zeros (with value, negative crops), replicate, reflect', () => {
    o.tidy(() => {
      const x = rnd([2, 3, 4, 5], 28);
      expectClose(o.pad(T(x), [1, 2, 3, 0]), R.pad(x, [1, 2, 3, 0], 'zeros', 0));
      expectClose(o.pad(T(x), [2, 0, 1, 1], 'zeros', -1.5), R.pad(x, [2, 0, 1, 1], 'zeros', -1.5));
      const crop = o.pad(T(x), [-1, 0, 0, -2]);
      expectClose(crop, R.build([2, 3, 2, 4], ([a, b, i, j]) => R.get(x, [a, b, i, j + 1])));
      expectClose(o.pad(T(x), [2, 1, 0, 3], 'replicate'), R.pad(x, [2, 1, 0, 3], 'replicate', 0));
      expectClose(o.pad(T(x), [2, 4, 3, 1], 'reflect'), R.pad(x, [2, 4, 3, 1], 'reflect', 0));
    });
  });

  test('shape and indexing ops', () => {
    o.tidy(() => {
      const x = rnd([2, 3, 4], 29);
      expectClose(o.reshape(T(x), [6, -1]), { shape: [6, 4], data: x.data });
      expectClose(o.permute(T(x), [2, 0, 1]), R.build([4, 2, 3], ([i, j, k]) => R.get(x, [j, k, i])));
      expectClose(o.transpose(T(x), -1, 0), R.build([4, 3, 2], ([i, j, k]) => R.get(x, [k, j, i])));
      expectClose(o.flip(T(x), [0, 2]), R.build([2, 3, 4], ([i, j, k]) => R.get(x, [1 - i, j, 3 - k])));
      const y = rnd([2, 2, 4], 30);
      expectClose(o.cat([T(x), T(y)], 1), R.build([2, 5, 4], ([i, j, k]) => (j < 3 ? R.get(x, [i, j, k]) : R.get(y, [i, j - 3, k]))));
      const z = rnd([2, 3, 4], 31);
      expectClose(o.stack([T(x), T(z)], 1), R.build([2, 2, 3, 4], ([i, s, j, k]) => R.get(s ? z : x, [i, j, k])));
      const parts = o.split(T(x), [1, 3], -1);
      expect(parts.length).toBe(2);
      expectClose(parts[0], R.build([2, 3, 1], ([i, j]) => R.get(x, [i, j, 0])));
      expectClose(parts[1], R.build([2, 3, 3], ([i, j, k]) => R.get(x, [i, j, k + 1])));
      expectClose(o.narrow(T(x), 1, 1, 2), R.build([2, 2, 4], ([i, j, k]) => R.get(x, [i, j + 1, k])));
      const idx = [2, 0, 2, 1];
      expectClose(o.indexSelect(T(x), 1, o.intTensor(idx, [4])), R.build([2, 4, 4], ([i, j, k]) => R.get(x, [i, idx[j], k])));
      const gi = [3, 0, 1, 1, 2, 2, 0, 3, 1, 0, 0, 3];
      const g = o.gather(T(x), 2, o.intTensor(gi.concat(gi.slice().reverse()), [2, 3, 4]));
      const gAll = gi.concat(gi.slice().reverse());
      expectClose(g, R.build([2, 3, 4], ([i, j, k]) => R.get(x, [i, j, gAll[i * 12 + j * 4 + k]])));
      const oh = o.oneHot(o.intTensor([2, 0, 1, 2], [2, 2]), 3);
      expect(oh.dtype).toBe('float32');
      expect(oh.shape).toEqual([2, 2, 3]);
      expect(Array.from(o.readSync(oh))).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    });
  });
});

describe('gradients match finite differences', () => {
  test('conv2d and convTranspose2d (x, w, b)', () => {
    gradcheck([rnd([1, 4, 5, 4], 40), rnd([4, 2, 3, 3], 41), rnd([4], 42)],
      ([x, w, b]) => o.conv2d(x, w, b, { stride: [2, 1], padding: 1, dilation: [1, 2], groups: 2 }));
    gradcheck([rnd([1, 4, 3, 3], 43), rnd([4, 1, 3, 3], 44), rnd([2], 45)],
      ([x, w, b]) => o.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }));
  });

  test('linear, matmul', () => {
    gradcheck([rnd([2, 3, 4], 46), rnd([5, 4], 47), rnd([5], 48)], ([x, w, b]) => o.linear(x, w, b));
    gradcheck([rnd([2, 1, 3, 4], 49), rnd([3, 4, 2], 50)], ([a, b]) => o.matmul(a, b));
  });

  test('element-wise ops', () => {
    const a = rnd([2, 3, 4], 51);
    const b = rnd([3, 1], 52, 0.5, 2);
    gradcheck([a, b], ([x, y]) => o.add(x, y));
    gradcheck([a, b], ([x, y]) => o.sub(o.sub(x, y), 0.3));
    gradcheck([a, b], ([x, y]) => o.mul(o.mul(x, y), -2));
    gradcheck([a, b], ([x, y]) => o.div(o.div(x, y), 3));
    const pos = rnd([3, 4], 53, 0.5, 2);
    const g = grid([3, 4], 54);
    gradcheck([pos], ([x]) => o.sqrt(x));
    gradcheck([pos], ([x]) => o.log(x));
    gradcheck([pos], ([x]) => o.pow(x, 2.5));
    gradcheck([g], ([x]) => o.neg(o.exp(x)));
    gradcheck([g], ([x]) => o.abs(x), 3e-3);
    gradcheck([g], ([x]) => o.clamp(x, -0.5, 0.5), 3e-3);
    gradcheck([g], ([x]) => o.relu(x), 3e-3);
    gradcheck([g], ([x]) => o.leakyRelu(x, 0.1), 3e-3);
    gradcheck([g], ([x]) => o.gelu(x));
    gradcheck([g], ([x]) => o.sigmoid(x));
    gradcheck([rnd([3, 4], 55, -2, 2)], ([x]) => o.softmax(x, 1));
  });

  test('reductions and layerNorm', () => {
    const a = rnd([2, 3, 4], 56);
    gradcheck([a], ([x]) => o.sum(x, [0, 2], true));
    gradcheck([a], ([x]) => o.mean(x, 1));
    gradcheck([a], ([x]) => o.variance(x, [1, 2]));
    gradcheck([grid([2, 3, 4], 57)], ([x]) => o.max(x, 2), 3e-3);
    gradcheck([a, rnd([4], 58), rnd([4], 59)], ([x, w, b]) => o.layerNorm(x, [4], w, b));
  });

  test('resampling and padding', () => {
    gradcheck([rnd([1, 8, 2, 3], 60)], ([x]) => o.pixelShuffle(x, 2));
    gradcheck([rnd([1, 2, 3, 4], 61)], ([x]) => o.resizeBilinear(x, [5, 7]));
    gradcheck([grid([1, 2, 5, 4], 62)], ([x]) => o.maxPool2d(x, 3, 2, 1), 3e-3);
    gradcheck([rnd([1, 2, 5, 4], 63)], ([x]) => o.avgPool2d(x, 2, 1, 1));
    const x = rnd([1, 2, 4, 3], 64);
    gradcheck([x], ([t]) => o.pad(t, [1, 2, 0, 1], 'zeros', 0.5));
    gradcheck([x], ([t]) => o.pad(t, [2, 1, 3, 1], 'replicate'));
    gradcheck([x], ([t]) => o.pad(t, [2, 1, 3, 1], 'reflect'));
  });

  test('shape and indexing ops', () => {
    const a = rnd([2, 3, 4], 65);
    const b = rnd([2, 3, 4], 66);
    const w = rnd([4, 6], 67);
    // the matmul makes each output depend on several inputs
    const mix = (t: Tensor): Tensor => o.matmul(o.reshape(t, [-1, 4]), o.tensor(Float32Array.from(w.data), w.shape));
    gradcheck([a], ([x]) => mix(o.permute(o.reshape(x, [3, 2, 4]), [1, 0, 2])));
    gradcheck([a], ([x]) => mix(o.transpose(o.flip(x, [0, 2]), 0, 1)));
    gradcheck([a, b], ([x, y]) => mix(o.cat([x, o.reshape(o.stack([y, x], 1), [4, 3, 4])], 0)));
    gradcheck([a], ([x]) => { const [p, q] = o.split(x, [1, 2], 1); return o.mul(o.narrow(q, 1, 1, 1), p); });
    gradcheck([a], ([x]) => o.indexSelect(x, 2, o.intTensor([3, 3, 0], [3])));
    gradcheck([a], ([x]) => o.gather(x, 1, o.intTensor(Array.from({ length: 24 }, (_, i) => (i * 7) % 3), [2, 3, 4])));
  });
});

describe('memory', () => {
  test('dispose frees at once; tidy keeps returned containers and kept tensors', () => {
    const n0 = o.numTensors();
    const a = o.zeros([3]);
    expect(o.numTensors()).toBe(n0 + 1);
    o.dispose(a);
    o.dispose(a); // second dispose is a no-op
    expect(o.numTensors()).toBe(n0);

    let kept: Tensor | null = null;
    const out = o.tidy(() => {
      const x = o.ones([2]);
      const y = o.add(x, 1);
      kept = o.keep(o.mul(x, 3));
      const inner = o.tidy(() => {
        const t = o.mul(y, 2);
        o.add(t, 1); // dropped
        return [t, { deep: o.neg(t) }];
      });
      o.exp(x); // dropped
      return { y, list: inner, n: 3, s: 'x', nil: null };
    });
    expect(Array.from(o.readSync(out.y))).toEqual([2, 2]);
    expect(Array.from(o.readSync(out.list[0] as Tensor))).toEqual([4, 4]);
    expect(Array.from(o.readSync((out.list[1] as { deep: Tensor }).deep))).toEqual([-4, -4]);
    expect(Array.from(o.readSync(kept!))).toEqual([3, 3]);
    expect(o.numTensors()).toBe(n0 + 4);
    o.dispose([out.y, out.list[0] as Tensor, (out.list[1] as { deep: Tensor }).deep, kept!]);
    expect(o.numTensors()).toBe(n0);
  });

  test('tidy disposes everything when fn throws, and tensors created outside survive', () => {
    const outside = o.ones([2]);
    const n0 = o.numTensors();
    expect(() => o.tidy(() => {
      o.add(outside, 1);
      o.tidy(() => o.mul(outside, 2));
      throw new Error('boom');
    })).toThrow('boom');
    expect(o.numTensors()).toBe(n0);
    const same = o.tidy(() => outside);
    expect(same).toBe(outside);
    expect(Array.from(o.readSync(outside))).toEqual([1, 1]);
    o.dispose(outside);
  });
});

test('memory: tensors never disposed are freed by garbage collection (safety net)', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const collect = async (): Promise<void> => {
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  };
  await collect(); // earlier tests' unreachable tensors go first
  const n0 = o.numTensors();
  (() => {
    for (let i = 0; i < 100; i++) o.zeros([1000]);
  })();
  expect(o.numTensors()).toBe(n0 + 100);
  await collect();
  expect(o.numTensors()).toBe(n0);
});

describe('autograd controls', () => {
  test('requiresGrad, grad, zeroGrad, noGrad, detach, copy_', () => {
    o.tidy(() => {
      const w = o.tensor([1, 2, 3], [3]);
      expect(o.requiresGrad(w)).toBe(false);
      o.setRequiresGrad(w, true);
      expect(o.requiresGrad(w)).toBe(true);
      expect(o.grad(w)).toBeNull();
      const loss = () => o.sum(o.mul(o.mul(w, w), o.tensor([1, 10, 100], [3])));
      o.backward(loss());
      expect(Array.from(o.readSync(o.grad(w)!))).toEqual([2, 40, 600]);
      o.backward(loss()); // gradients accumulate, as in PyTorch
      expect(Array.from(o.readSync(o.grad(w)!))).toEqual([4, 80, 1200]);
      o.zeroGrad([w]);
      expect(o.grad(w)).toBeNull();

      const ng = o.noGrad(() => o.mul(w, 2));
      expect(o.requiresGrad(ng)).toBe(false);
      expect(o.requiresGrad(o.mul(w, 2))).toBe(true);
      // noGrad restores the mode even when fn throws
      expect(() => o.noGrad(() => { throw new Error('x'); })).toThrow('x');
      expect(o.requiresGrad(o.mul(w, 2))).toBe(true);

      const d = o.detach(w);
      expect(o.requiresGrad(d)).toBe(false);
      expect(Array.from(o.readSync(d))).toEqual([1, 2, 3]);

      o.copy_(w, o.tensor([7, 8, 9], [3]));
      expect(Array.from(o.readSync(w))).toEqual([7, 8, 9]);
      expect(Array.from(o.readSync(d))).toEqual([7, 8, 9]); // detach shares storage
      expect(o.requiresGrad(w)).toBe(true);
    });
  });

  test('gumbelSoftmaxHard: one-hot forward, Gumbel-max frequencies, straight-through gradient', () => {
    o.seed(123);
    o.tidy(() => {
      const p = [0.2, 0.3, 0.5];
      const rows = 20000;
      const logits = o.tensor(Float32Array.from({ length: rows * 3 }, (_, i) => Math.log(p[i % 3])), [rows, 3]);
      const y = o.readSync(o.gumbelSoftmaxHard(logits, 1));
      const counts = [0, 0, 0];
      let notOneHot = 0;
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let k = 0; k < 3; k++) {
          const v = y[r * 3 + k];
          if (v !== 0 && v !== 1) notOneHot++;
          s += v;
          counts[k] += v;
        }
        if (s !== 1) notOneHot++;
      }
      expect(notOneHot).toBe(0);
      for (let k = 0; k < 3; k++) expect(Math.abs(counts[k] / rows - p[k])).toBeLessThan(0.015);

      // With a huge temperature the soft sample is ~uniform, so the straight-through gradient of
      // sum(y·c) is ~ (c - mean(c)) / (K·tau).
      const lg = o.tensor([0.3, -0.2, 0.1, 0.4], [1, 4]);
      o.setRequiresGrad(lg, true);
      const c = [1, 2, -3, 0.5];
      const tau = 1000;
      o.backward(o.sum(o.mul(o.gumbelSoftmaxHard(lg, -1, tau), o.tensor(c, [1, 4]))));
      const g = o.readSync(o.grad(lg)!);
      const mc = c.reduce((a, b) => a + b) / 4;
      for (let k = 0; k < 4; k++) expect(g[k]).toBeCloseTo((c[k] - mc) / (4 * tau), 5);
    });
  });
});

/** Round to the nearest bfloat16 (ties to even), as a float32 value. */
function bf16(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  u[0] = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f[0];
}

describe('bfloat16 autocast', () => {
  test('conv2d runs on bf16-rounded operands, float32 returns outside, weights see updates between steps', () => {
    o.tidy(() => {
      const xa = rnd([2, 5, 7, 6], 41), wa = rnd([4, 5, 3, 3], 42), ba = rnd([4], 43);
      const x = T(xa), w = T(wa), b = T(ba);
      o.setRequiresGrad(w, true);
      const conv = () => o.conv2d(x, w, b, { padding: 1 });
      const round = (a: Arr): Arr => ({ shape: a.shape, data: a.data.map(bf16) });
      // reference: exact conv of the bf16-rounded operands, output rounded to bf16 (accumulation is float32)
      const ref = R.conv2d(round(xa), round(wa), round(ba), [1, 1], [1, 1], [1, 1], 1);
      const y = o.autocast(conv);
      const got = o.readSync(y);
      let worst = 0, off32 = 0;
      const exact = R.conv2d(xa, wa, ba, [1, 1], [1, 1], [1, 1], 1);
      for (let i = 0; i < got.length; i++) {
        worst = Math.max(worst, Math.abs(got[i] - ref.data[i]) / (Math.abs(ref.data[i]) + 1e-2));
        off32 = Math.max(off32, Math.abs(got[i] - exact.data[i]));
        expect(got[i]).toBe(bf16(got[i])); // the output itself is bfloat16
      }
      expect(worst).toBeLessThan(2 ** -7);
      expect(off32).toBeGreaterThan(1e-3); // visibly not float32 arithmetic
      expectClose(conv(), exact, 1e-5); // off again after autocast returns

      // gradients of float32 weights: close to the float32 ones
      o.backward(o.sum(o.mul(y, y)));
      const g16 = Float32Array.from(o.readSync(o.grad(w)!));
      o.zeroGrad([w]);
      o.backward(o.sum(o.mul(conv(), conv())));
      const g32 = o.readSync(o.grad(w)!);
      const gmax = Math.max(...g32.map(Math.abs));
      for (let i = 0; i < g32.length; i++) expect(Math.abs(g16[i] - g32[i])).toBeLessThan(0.02 * gmax);

      // the bf16 copy of a weight is cached only within one autocast call: an update is seen by the next one
      o.noGrad(() => o.copy_(w, o.mul(w, 2)));
      const y2 = o.readSync(o.autocast(() => o.conv2d(x, w, null, { padding: 1 })));
      const y1 = o.readSync(o.autocast(() => o.conv2d(x, o.mul(w, 0.5), null, { padding: 1 })));
      for (let i = 0; i < y2.length; i++) expect(y2[i]).toBeCloseTo(2 * y1[i], 5);
      expect(() => o.autocast(() => { throw new Error('x'); })).toThrow('x');
      expectClose(conv(), R.conv2d(xa, { shape: wa.shape, data: wa.data.map((v) => 2 * v) }, ba, [1, 1], [1, 1], [1, 1], 1), 1e-5);
    });
  });
});

describe('optimizers', () => {
  /** float64 reference of PyTorch's Adam/AdamW update. */
  function refAdam(p0: number[], grads: (p: number[]) => number[], steps: number, lr: number, wd: number, decoupled: boolean): number[] {
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const p = [...p0];
    const m = p.map(() => 0);
    const v = p.map(() => 0);
    for (let t = 1; t <= steps; t++) {
      const g = grads(p);
      for (let i = 0; i < p.length; i++) {
        let gi = g[i];
        if (decoupled) p[i] *= 1 - lr * wd;
        else gi += wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
        p[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
      }
    }
    return p;
  }

  for (const decoupled of [false, true]) {
    test(`${decoupled ? 'AdamW' : 'Adam'} matches the reference update; setLr/getLr`, () => {
      const coef = [1, -2, 3, 0.5];
      const p0 = [0.5, -1, 2, 0.25];
      const w = o.tensor(p0, [4]);
      o.setRequiresGrad(w, true);
      const opt = o.adam([w], { lr: 0.01, weightDecay: 0.1, decoupled });
      expect(opt.getLr()).toBeCloseTo(0.01, 12);
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        o.tidy(() => o.backward(o.sum(o.mul(o.mul(w, w), o.tensor(coef, [4])))));
        opt.step();
      }
      const ref = refAdam(p0, (p) => p.map((v, i) => 2 * coef[i] * v), 5, 0.01, 0.1, decoupled);
      const got = o.readSync(w);
      for (let i = 0; i < 4; i++) expect(got[i]).toBeCloseTo(ref[i], 5);
      opt.setLr(0.002);
      expect(opt.getLr()).toBeCloseTo(0.002, 12);
      opt.dispose();
      o.dispose(w);
    });
  }

  test('stateDict/loadStateDict resume exactly', () => {
    const run = (w: Tensor, opt: ReturnType<typeof o.adam>, steps: number): void => {
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        o.tidy(() => o.backward(o.sum(o.pow(o.sub(w, o.tensor([1, 2, 3, 4, 5, 6], [2, 3])), 2))));
        opt.step();
      }
    };
    const init = [0.1, -0.2, 0.3, 0.7, 0.0, -1];
    const a = o.tensor(init, [2, 3]);
    o.setRequiresGrad(a, true);
    const optA = o.adam([a], { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, decoupled: true, weightDecay: 0.01 });
    expect(optA.stateDict().size).toBe(0);
    run(a, optA, 3);
    const state = optA.stateDict();
    expect([...state.keys()].sort()).toEqual(['param.0.exp_avg', 'param.0.exp_avg_sq', 'param.0.step']);
    expect(Array.from(o.readSync(state.get('param.0.step')!))).toEqual([3]);
    expect(state.get('param.0.exp_avg')!.shape).toEqual([2, 3]);

    const b = o.noGrad(() => o.clone(a));
    o.setRequiresGrad(b, true);
    const optB = o.adam([b], { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, decoupled: true, weightDecay: 0.01 });
    optB.loadStateDict(state);
    run(a, optA, 4);
    run(b, optB, 4);
    expect(Array.from(o.readSync(b))).toEqual(Array.from(o.readSync(a)));

    const bad = new Map([['param.0.step', state.get('param.0.step')!]]);
    expect(() => optB.loadStateDict(bad)).toThrow(/incomplete/);
    expect(() => optB.loadStateDict(new Map([...state, ['param.7.step', state.get('param.0.step')!]]))).toThrow(/unexpected/);
    for (const t of state.values()) o.dispose(t);
    optA.dispose();
    optB.dispose();
    expect(() => optA.step()).toThrow(/disposed/);
    o.dispose([a, b]);
  });
});

describe('random state and threads', () => {
  test('seed, rand range, randn moments, get/setRngState', () => {
    o.tidy(() => {
      o.seed(7);
      const a = o.readSync(o.rand([1000], -2, 3));
      o.seed(7);
      const b = o.readSync(o.rand([1000], -2, 3));
      expect(Array.from(a)).toEqual(Array.from(b));
      expect(Math.min(...a)).toBeGreaterThanOrEqual(-2);
      expect(Math.max(...a)).toBeLessThan(3);
      const st = o.getRngState();
      const n1 = o.readSync(o.randn([20000])) as Float32Array;
      o.setRngState(st);
      const n2 = o.readSync(o.randn([20000]));
      expect(Array.from(n1)).toEqual(Array.from(n2));
      const mean = n1.reduce((p, q) => p + q, 0) / n1.length;
      const v = n1.reduce((p, q) => p + (q - mean) ** 2, 0) / n1.length;
      expect(Math.abs(mean)).toBeLessThan(0.03);
      expect(Math.abs(v - 1)).toBeLessThan(0.05);
      expect(() => o.setRngState(new Uint8Array(3))).toThrow(/libtorch/);
    });
  });

  test('same random streams as PyTorch (rand, randn, gumbel_softmax) for the same seed', () => {
    const logits = [0.1, 0.5, -0.3, 0.2, 0.0, 0.9, 1.0, -1, 0.3, 0.3, 0.3, 0.3];
    const py = execFileSync('/usr/bin/python3', ['-c', [
      'import json, torch, torch.nn.functional as F',
      'torch.manual_seed(5)',
      'a = torch.rand(3, 2) * 4 - 1',
      'b = torch.randn(5)',
      `g = F.gumbel_softmax(torch.tensor(${JSON.stringify(logits)}).view(3, 4), tau=0.5, hard=True, dim=1)`,
      'print(json.dumps([a.flatten().tolist(), b.tolist(), g.flatten().tolist()]))',
    ].join('\n')], { encoding: 'utf8' });
    const [a, b, g] = JSON.parse(py) as number[][];
    o.seed(5);
    o.tidy(() => {
      expectClose(o.rand([3, 2], -1, 3), arr([3, 2], a), 1e-6);
      expectClose(o.randn([5]), arr([5], b), 1e-6);
      expectClose(o.gumbelSoftmaxHard(o.tensor(logits, [3, 4]), 1, 0.5), arr([3, 4], g), 0);
    });
  });

  test('setThreads/getThreads, describe', () => {
    const n = o.getThreads();
    o.setThreads(1);
    expect(o.getThreads()).toBe(1);
    expect(o.describe()).toMatch(/libtorch 1\.\d+.*1 thread\)/);
    o.setThreads(n);
    expect(o.getThreads()).toBe(n);
    expect(() => o.setThreads(0)).toThrow(/>= 1/);
  });
});
