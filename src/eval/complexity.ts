// Parameters and MACs of any registered network (spec §6.5), without computing anything:
// the model is built on a shape-only backend whose tensors carry shapes but no data, and its forward pass is
// run once while conv2d / convTranspose2d / linear / matmul record their multiply-accumulates.
// Biases, activations, pooling, pixel-shuffle, element-wise ops and normalisation are not counted.
import type { Conv2dOptions, ConvTranspose2dOptions, DType, Ops, Tensor, TensorContainer } from '../engine/ops.js';
import { numel, fmtShape } from '../engine/host.js';
import { getEntry } from '../models/index.js';
import { checkScale } from '../pipeline/scale.js';

class ShapeTensor implements Tensor {
  constructor(readonly shape: readonly number[], readonly dtype: DType = 'float32') {}
}

/** TrainOps members: absent, so that `isTrainOps` is false and modules build without autograd. */
const TRAIN_ONLY = new Set(['setRequiresGrad', 'requiresGrad', 'backward', 'grad', 'zeroGrad', 'noGrad', 'detach', 'copy_',
  'adam', 'gumbelSoftmaxHard', 'setThreads', 'getThreads', 'seed', 'getRngState', 'setRngState']);

export interface MacCount {
  conv: number;
  linear: number;
  matmul: number;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

function fail(op: string, why: string): never {
  throw new Error(`shape counter: ${op}: ${why}`);
}

function axis(rank: number, d: number, op: string): number {
  const a = d < 0 ? d + rank : d;
  if (a < 0 || a >= rank) fail(op, `dim ${d} out of range for rank ${rank}`);
  return a;
}

function broadcast(a: readonly number[], b: readonly number[], op: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) fail(op, `cannot broadcast ${fmtShape(a)} with ${fmtShape(b)}`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

function reduce(shape: readonly number[], dims: number | number[] | undefined, keep: boolean, op: string): number[] {
  const all = dims === undefined ? shape.map((_, i) => i) : (Array.isArray(dims) ? dims : [dims]).map((d) => axis(shape.length, d, op));
  return keep ? shape.map((s, i) => (all.includes(i) ? 1 : s)) : shape.filter((_, i) => !all.includes(i));
}

/**
 * A data-free `Ops`: every op returns a tensor of the right shape; MACs accumulate in `count`.
 * Reads return zeros. Ops without a shape rule throw a clear error.
 */
export function createShapeOps(): { ops: Ops; count: MacCount } {
  const count: MacCount = { conv: 0, linear: 0, matmul: 0 };
  const T = (shape: readonly number[], dtype: DType = 'float32') => new ShapeTensor([...shape], dtype);
  const same = (x: Tensor) => T(x.shape, x.dtype);
  const ew = (op: string) => (a: Tensor, b: Tensor | number) => (typeof b === 'number' ? same(a) : T(broadcast(a.shape, b.shape, op)));
  const rules: Partial<Ops> = {
    name: 'shape',
    describe: () => 'shape-only counter (no data)',
    tensor: (_d, shape) => T(shape),
    intTensor: (_d, shape) => T(shape, 'int32'),
    zeros: (s) => T(s),
    ones: (s) => T(s),
    full: (s) => T(s),
    rand: (s) => T(s),
    randn: (s) => T(s),
    read: async (t) => (t.dtype === 'float32' ? new Float32Array(numel(t.shape)) : new Int32Array(numel(t.shape))),
    readSync: (t) => (t.dtype === 'float32' ? new Float32Array(numel(t.shape)) : new Int32Array(numel(t.shape))),
    clone: same,
    dispose: () => {},
    tidy: <R extends TensorContainer>(fn: () => R) => fn(),
    keep: <R extends Tensor>(t: R) => t,
    numTensors: () => 0,

    conv2d(x, w, _b, opts: Conv2dOptions = {}) {
      const [n, cin, h, wd] = x.shape;
      const [cout, cinG, kh, kw] = w.shape;
      const groups = opts.groups ?? 1;
      if (x.shape.length !== 4 || cin !== cinG * groups) fail('conv2d', `input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)} (groups ${groups})`);
      const [sh, sw] = pair(opts.stride, 1);
      const [ph, pw] = pair(opts.padding, 0);
      const [dh, dw] = pair(opts.dilation, 1);
      const ho = Math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
      const wo = Math.floor((wd + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
      if (ho < 1 || wo < 1) fail('conv2d', `input ${fmtShape(x.shape)} is too small for kernel ${kh}×${kw}`);
      count.conv += n * ho * wo * cout * cinG * kh * kw;
      return T([n, cout, ho, wo]);
    },
    convTranspose2d(x, w, _b, opts: ConvTranspose2dOptions = {}) {
      const [n, cin, h, wd] = x.shape;
      const [wcin, coutG, kh, kw] = w.shape;
      const groups = opts.groups ?? 1;
      if (cin !== wcin) fail('convTranspose2d', `input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)}`);
      const [sh, sw] = pair(opts.stride, 1);
      const [ph, pw] = pair(opts.padding, 0);
      const [dh, dw] = pair(opts.dilation, 1);
      const [oh, ow] = pair(opts.outputPadding, 0);
      const ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1;
      const wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1;
      count.conv += n * h * wd * cin * coutG * kh * kw; // every input pixel scatters a kh·kw·Cout/groups patch
      return T([n, coutG * groups, ho, wo]);
    },
    linear(x, w) {
      const [out, inF] = w.shape;
      if (x.shape[x.shape.length - 1] !== inF) fail('linear', `input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)}`);
      count.linear += (numel(x.shape) / inF) * inF * out;
      return T([...x.shape.slice(0, -1), out]);
    },
    matmul(a, b) {
      if (a.shape.length < 2 || b.shape.length < 2) fail('matmul', 'operands must have rank ≥ 2');
      const [n, k] = a.shape.slice(-2);
      const [k2, m] = b.shape.slice(-2);
      if (k !== k2) fail('matmul', `${fmtShape(a.shape)} × ${fmtShape(b.shape)}`);
      const lead = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
      count.matmul += numel(lead) * n * k * m;
      return T([...lead, n, m]);
    },

    add: ew('add'),
    sub: ew('sub'),
    mul: ew('mul'),
    div: ew('div'),
    neg: same,
    sqrt: same,
    exp: same,
    log: same,
    abs: same,
    pow: same,
    clamp: same,
    relu: same,
    leakyRelu: same,
    gelu: same,
    sigmoid: same,
    softmax: same,

    sum: (x, dims, keep = false) => T(reduce(x.shape, dims, keep, 'sum')),
    mean: (x, dims, keep = false) => T(reduce(x.shape, dims, keep, 'mean')),
    variance: (x, dims, keep = false) => T(reduce(x.shape, dims, keep, 'variance')),
    max: (x, dim, keep = false) => T(reduce(x.shape, dim, keep, 'max')),
    argmax: (x, dim, keep = false) => T(reduce(x.shape, dim, keep, 'argmax'), 'int32'),

    layerNorm: same,
    pixelShuffle(x, r) {
      const [n, c, h, w] = x.shape;
      if (c % (r * r)) fail('pixelShuffle', `${c} channels not divisible by ${r}²`);
      return T([n, c / (r * r), h * r, w * r]);
    },
    resizeBilinear: (x, [h, w]) => T([...x.shape.slice(0, -2), h, w]),
    maxPool2d: (x, k, s = k, p = 0) => pool(x, k, s, p),
    avgPool2d: (x, k, s = k, p = 0) => pool(x, k, s, p),
    pad(x, [l, r, t, b]) {
      const s = [...x.shape];
      s[s.length - 1] += l + r;
      s[s.length - 2] += t + b;
      return T(s, x.dtype);
    },

    reshape(x, shape) {
      const total = numel(x.shape);
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const s = shape.map((d) => (d === -1 ? total / known : d));
      if (numel(s) !== total || !s.every(Number.isInteger)) fail('reshape', `${fmtShape(x.shape)} → ${fmtShape(shape)}`);
      return T(s, x.dtype);
    },
    permute: (x, dims) => T(dims.map((d) => x.shape[axis(x.shape.length, d, 'permute')]), x.dtype),
    transpose(x, d0, d1) {
      const s = [...x.shape];
      const a = axis(s.length, d0, 'transpose');
      const b = axis(s.length, d1, 'transpose');
      [s[a], s[b]] = [s[b], s[a]];
      return T(s, x.dtype);
    },
    flip: same,
    cat(xs, dim) {
      const a = axis(xs[0].shape.length, dim, 'cat');
      const s = [...xs[0].shape];
      s[a] = xs.reduce((acc, x) => acc + x.shape[a], 0);
      return T(s, xs[0].dtype);
    },
    stack(xs, dim) {
      const s = [...xs[0].shape];
      s.splice(axis(s.length + 1, dim, 'stack'), 0, xs.length);
      return T(s, xs[0].dtype);
    },
    split(x, sizes, dim) {
      const a = axis(x.shape.length, dim, 'split');
      if (sizes.reduce((p, q) => p + q, 0) !== x.shape[a]) fail('split', `sizes ${sizes} do not sum to ${x.shape[a]}`);
      return sizes.map((n) => T(x.shape.map((v, i) => (i === a ? n : v)), x.dtype));
    },
    narrow(x, dim, start, length) {
      const a = axis(x.shape.length, dim, 'narrow');
      if (start < 0 || start + length > x.shape[a]) fail('narrow', `[${start}, ${start + length}) outside ${x.shape[a]}`);
      return T(x.shape.map((v, i) => (i === a ? length : v)), x.dtype);
    },
    indexSelect(x, dim, idx) {
      const a = axis(x.shape.length, dim, 'indexSelect');
      return T(x.shape.map((v, i) => (i === a ? idx.shape[0] : v)), x.dtype);
    },
    gather: (x, _dim, idx) => T(idx.shape, x.dtype),
    oneHot: (idx, n) => T([...idx.shape, n]),
  };

  function pool(x: Tensor, k: number, s: number, p: number): Tensor {
    const [n, c, h, w] = x.shape;
    const ho = Math.floor((h + 2 * p - k) / s) + 1;
    const wo = Math.floor((w + 2 * p - k) / s) + 1;
    if (ho < 1 || wo < 1) fail('pool', `input ${fmtShape(x.shape)} is too small for a ${k}×${k} window`);
    return T([n, c, ho, wo]);
  }

  const ops = new Proxy(rules, {
    get(target, prop, recv) {
      if (prop in target) return Reflect.get(target, prop, recv);
      if (typeof prop === 'symbol' || prop === 'then' || TRAIN_ONLY.has(prop)) return undefined;
      return () => fail(String(prop), 'this op has no shape rule yet (add one in src/eval/complexity.ts)');
    },
  }) as Ops;
  return { ops, count };
}

export interface Complexity {
  model: string;
  scale: number;
  /** Trainable parameters, biases included. */
  params: number;
  /** Multiply-accumulates of one forward pass at `input` (conv + linear + matmul). */
  macs: number;
  by: MacCount;
  /** LR input (width, height) used: the target output divided by the scale, rounded down. */
  input: { width: number; height: number };
  output: { width: number; height: number };
}

/** Params and MACs of a registered network for a target output size (default 1280×720, spec §6.5). */
export function measureComplexity(name: string, scale: number, target = { width: 1280, height: 720 }): Complexity {
  const entry = getEntry(name, checkScale(scale));
  const { ops, count } = createShapeOps();
  const model = entry.create(ops, scale);
  const input = { width: Math.floor(target.width / scale), height: Math.floor(target.height / scale) };
  const y = model.forward(ops.zeros([1, 3, input.height, input.width]));
  const [, , oh, ow] = y.shape;
  return {
    model: entry.name,
    scale,
    params: model.numParams(),
    macs: count.conv + count.linear + count.matmul,
    by: { ...count },
    input,
    output: { width: ow, height: oh },
  };
}
