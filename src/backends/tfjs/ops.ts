// The Ops interface on TF.js (inference only). Tensors are tf.Tensor objects, float32 or int32, in PyTorch's
// NCHW layout; the NHWC kernels are wrapped in conv.ts. Every op matches the PyTorch function it is named after.
import * as tf from '@tensorflow/tfjs-core';
import type { Ops, PadMode, Tensor, TensorContainer } from '../../engine/ops.js';
import { fmtShape, numel } from '../../engine/host.js';
import { avgPool2d, conv2d, convTranspose2d, maxPool2d, pixelShuffle, resizeBilinear } from './conv.js';
import { Rng } from './rng.js';

export interface TfjsOps extends Ops {
  /** 'wasm' | 'cpu' | 'webgl' | 'webgpu' */
  readonly kind: string;
  /** Reseed the generator behind rand/randn. */
  seed(s: number): void;
}

type TT = tf.Tensor;
const $ = (t: Tensor): TT => t as unknown as TT;
const out = (t: TT): Tensor => t as unknown as Tensor;

function axis(d: number, rank: number, op: string): number {
  const a = d < 0 ? d + rank : d;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new Error(`${op}: dim ${d} is out of range for a ${rank}-D tensor`);
  return a;
}

function axes(dims: number | number[] | undefined, rank: number, op: string): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = typeof dims === 'number' ? [dims] : dims;
  return list.length === 0 ? [...Array(rank).keys()] : list.map((d) => axis(d, rank, op));
}

const asFloat = (t: TT): TT => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

function unary(f: (x: TT) => TT) {
  return (x: Tensor): Tensor => out(tf.tidy(() => f(asFloat($(x)))));
}

function binary(f: (a: TT, b: TT | number) => TT) {
  return (a: Tensor, b: Tensor | number): Tensor => out(f($(a), typeof b === 'number' ? b : $(b)));
}

/** Replicate ('edge') padding of the last two dims of a 3-D tensor, pads = [l, r, t, b] (non-negative). */
function edgePad3(x: TT, [l, r, t, b]: [number, number, number, number]): TT {
  const [, h, w] = x.shape as [number, number, number];
  if (h === 0 || w === 0) throw new Error('pad: cannot replicate-pad an empty tensor');
  const parts = [x];
  if (t) parts.unshift(tf.tile(tf.slice(x, [0, 0, 0], [-1, 1, -1]), [1, t, 1]));
  if (b) parts.push(tf.tile(tf.slice(x, [0, h - 1, 0], [-1, 1, -1]), [1, b, 1]));
  let y = parts.length > 1 ? tf.concat(parts, 1) : x;
  const cols = [y];
  if (l) cols.unshift(tf.tile(tf.slice(y, [0, 0, 0], [-1, -1, 1]), [1, 1, l]));
  if (r) cols.push(tf.tile(tf.slice(y, [0, 0, w - 1], [-1, -1, 1]), [1, 1, r]));
  if (cols.length > 1) y = tf.concat(cols, 2);
  return y;
}

function pad(x: TT, pads: [number, number, number, number], mode: PadMode, value: number): TT {
  if (x.rank < 2) throw new Error(`pad: input must have at least 2 dims, got ${fmtShape(x.shape)}`);
  const lead = x.shape.slice(0, -2);
  const [h, w] = x.shape.slice(-2) as [number, number];
  return tf.tidy(() => {
    let y = tf.reshape(x, [numel(lead), h, w]);
    const [l, r, t, b] = pads;
    if (mode !== 'zeros' && Math.min(...pads) < 0) throw new Error(`pad: negative pads need mode 'zeros'`);
    if (Math.min(...pads) < 0) {
      const cl = Math.max(0, -l), cr = Math.max(0, -r), ct = Math.max(0, -t), cb = Math.max(0, -b);
      y = tf.slice(y, [0, ct, cl], [-1, h - ct - cb, w - cl - cr]);
    }
    const p = pads.map((v) => Math.max(0, v)) as [number, number, number, number];
    if (mode === 'zeros') y = tf.pad(y, [[0, 0], [p[2], p[3]], [p[0], p[1]]], value);
    else if (mode === 'reflect') {
      if (p[0] >= w || p[1] >= w || p[2] >= h || p[3] >= h) {
        throw new Error(`pad: reflect padding ${JSON.stringify(pads)} must be smaller than the input size ${h}×${w}`);
      }
      y = tf.mirrorPad(y, [[0, 0], [p[2], p[3]], [p[0], p[1]]], 'reflect');
    } else if (mode === 'replicate') y = edgePad3(y, p);
    else throw new Error(`pad: unknown mode '${String(mode)}'`);
    const [, ho, wo] = y.shape as number[];
    return tf.reshape(y, [...lead, ho, wo]);
  });
}

/** torch.gather: out[i][j][k] = x[i][idx[i][j][k]][k] (for dim 1), via gatherND with full coordinates. */
function gather(x: TT, dim: number, idx: TT): TT {
  if (idx.rank !== x.rank) throw new Error(`gather: index ${fmtShape(idx.shape)} must have the rank of the input ${fmtShape(x.shape)}`);
  const d = axis(dim, x.rank, 'gather');
  return tf.tidy(() => {
    const shape = idx.shape;
    const coords = shape.map((n, a) => {
      if (a === d) return tf.cast(idx, 'int32');
      const view = shape.map((_, b) => (b === a ? n : 1));
      return tf.broadcastTo(tf.reshape(tf.range(0, n, 1, 'int32'), view), shape);
    });
    return tf.gatherND(x, tf.stack(coords, -1));
  });
}

/**
 * Batched matmul with broadcasting. In wasm the batched kernel is a naive loop while a 2-D product runs on
 * XNNPACK, so large per-item products are done one batch item at a time.
 */
function matmul(a: TT, b: TT): TT {
  const [n, k] = a.shape.slice(-2), m = b.shape[b.rank - 1];
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const batch = tf.broadcast_util.assertAndGetBroadcastShape(ba, bb);
  const count = numel(batch);
  return tf.tidy(() => {
    if (count === 1) return tf.reshape(tf.matMul(tf.reshape(a, [n, k]), tf.reshape(b, [k, m])), [...batch, n, m]);
    // One broadcast operand with no batch of its own: fold the batch into the rows.
    if (bb.every((v) => v === 1) && ba.length >= bb.length) {
      return tf.reshape(tf.matMul(tf.reshape(a, [-1, k]), tf.reshape(b, [k, m])), [...batch, n, m]);
    }
    const a3 = tf.reshape(tf.broadcastTo(a, [...batch, n, k]), [count, n, k]);
    const b3 = tf.reshape(tf.broadcastTo(b, [...batch, k, m]), [count, k, m]);
    let y: TT;
    if (tf.getBackend() === 'wasm' && n * k * m >= 300_000) {
      const bs = tf.unstack(b3);
      y = tf.stack(tf.unstack(a3).map((ai, i) => tf.matMul(ai, bs[i])));
    } else y = tf.matMul(a3, b3);
    return tf.reshape(y, [...batch, n, m]);
  });
}

export function makeTfjsOps(kind: string, description: string): TfjsOps {
  const rng = new Rng(0x5eed);
  const host = (shape: readonly number[], f: () => number): Tensor => {
    const data = new Float32Array(numel(shape));
    for (let i = 0; i < data.length; i++) data[i] = f();
    return out(tf.tensor(data, [...shape], 'float32'));
  };
  const copyOut = (t: TT, v: tf.TypedArray): Float32Array | Int32Array => (t.dtype === 'float32' ? new Float32Array(v) : new Int32Array(v));

  const ops: TfjsOps = {
    name: 'tfjs',
    kind,
    describe: () => description,
    seed: (s) => rng.seed(s),

    // ---- creation / transfer ----
    tensor(data, shape) {
      if (data.length !== numel(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${fmtShape(shape)}`);
      return out(tf.tensor(Float32Array.from(data), [...shape], 'float32'));
    },
    intTensor(data, shape) {
      if (data.length !== numel(shape)) throw new Error(`intTensor: ${data.length} values do not fill shape ${fmtShape(shape)}`);
      return out(tf.tensor(Int32Array.from(data), [...shape], 'int32'));
    },
    zeros: (shape) => out(tf.zeros([...shape])),
    ones: (shape) => out(tf.ones([...shape])),
    full: (shape, value) => out(tf.fill([...shape], value, 'float32')),
    rand: (shape, lo = 0, hi = 1) => host(shape, () => lo + (hi - lo) * rng.uniform()),
    randn: (shape) => host(shape, () => rng.normal()),
    async read(t) {
      return copyOut($(t), await $(t).data());
    },
    readSync: (t) => copyOut($(t), $(t).dataSync()),
    clone: (t) => out(tf.clone($(t))),

    // ---- memory ----
    dispose: (t) => tf.dispose(Array.isArray(t) ? t.map($) : $(t)),
    tidy: <R extends TensorContainer>(fn: () => R): R => tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as R,
    keep: (t) => {
      tf.keep($(t));
      return t;
    },
    numTensors: () => tf.memory().numTensors,

    // ---- convolution / linear ----
    conv2d: (x, w, b, opts) => out(conv2d($(x), $(w), b && $(b), opts)),
    convTranspose2d: (x, w, b, opts) => out(convTranspose2d($(x), $(w), b && $(b), opts)),
    linear(x, w, b) {
      const xt = $(x), wt = $(w);
      const k = xt.shape[xt.rank - 1];
      if (wt.rank !== 2 || wt.shape[1] !== k) throw new Error(`linear: input ${fmtShape(xt.shape)} does not fit weight ${fmtShape(wt.shape)}`);
      return out(tf.tidy(() => {
        // x·wᵀ with wᵀ materialised: in wasm only the plain 2-D product runs on XNNPACK (transposeB takes a slow
        // naive loop, and the fused kernel gives wrong sums with transposeB and a bias in tfjs 4.22).
        let y = tf.matMul(tf.reshape(xt, [-1, k]), tf.transpose(wt));
        if (b) y = tf.add(y, $(b));
        return tf.reshape(y, [...xt.shape.slice(0, -1), wt.shape[0]]);
      }));
    },
    matmul(a, b) {
      const at = $(a), bt = $(b);
      if (at.rank < 2 || bt.rank < 2 || at.shape[at.rank - 1] !== bt.shape[bt.rank - 2]) {
        throw new Error(`matmul: shapes ${fmtShape(at.shape)} and ${fmtShape(bt.shape)} do not fit`);
      }
      return out(matmul(at, bt));
    },

    // ---- element-wise ----
    add: binary((a, b) => tf.add(a, b)),
    sub: binary((a, b) => tf.sub(a, b)),
    mul: binary((a, b) => tf.mul(a, b)),
    div: binary((a, b) => tf.tidy(() => tf.div(asFloat(a), typeof b === 'number' ? b : asFloat(b)))),
    neg: (x) => out(tf.neg($(x))),
    sqrt: unary(tf.sqrt),
    exp: unary(tf.exp),
    log: unary(tf.log),
    abs: (x) => out(tf.abs($(x))),
    pow: (x, p) => out(tf.tidy(() => (p === 2 ? tf.square(asFloat($(x))) : tf.pow(asFloat($(x)), tf.scalar(p))))),
    clamp: (x, lo, hi) => out(tf.clipByValue($(x), lo, hi)),
    relu: (x) => out(tf.relu($(x))),
    leakyRelu: (x, slope) => out(tf.leakyRelu($(x), slope)),
    gelu: unary((x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))),
    sigmoid: unary(tf.sigmoid),
    softmax(x, dim) {
      const xt = $(x);
      const d = axis(dim, xt.rank, 'softmax');
      const last = xt.rank - 1;
      if (d === last) return out(tf.softmax(xt));
      const perm = [...Array(xt.rank).keys()];
      [perm[d], perm[last]] = [last, d];
      return out(tf.tidy(() => tf.transpose(tf.softmax(tf.transpose(xt, perm)), perm)));
    },

    // ---- reductions ----
    sum: (x, dims, keepDim = false) => out(tf.sum($(x), axes(dims, $(x).rank, 'sum'), keepDim)),
    mean: (x, dims, keepDim = false) => out(tf.tidy(() => tf.mean(asFloat($(x)), axes(dims, $(x).rank, 'mean'), keepDim))),
    variance: (x, dims, keepDim = false) =>
      out(tf.tidy(() => tf.moments(asFloat($(x)), axes(dims, $(x).rank, 'variance'), keepDim).variance)),
    max: (x, dim, keepDim = false) => out(tf.max($(x), axis(dim, $(x).rank, 'max'), keepDim)),
    argmax(x, dim, keepDim = false) {
      const d = axis(dim, $(x).rank, 'argmax');
      return out(tf.tidy(() => {
        const i = tf.argMax($(x), d);
        return keepDim ? tf.expandDims(i, d) : i;
      }));
    },

    // ---- normalisation / resampling ----
    layerNorm(x, normalizedShape, w, b, eps = 1e-5) {
      const xt = $(x);
      const k = normalizedShape.length;
      const tail = xt.shape.slice(xt.rank - k);
      if (k === 0 || k > xt.rank || tail.some((v, i) => v !== normalizedShape[i])) {
        throw new Error(`layerNorm: input ${fmtShape(xt.shape)} does not end with ${fmtShape(normalizedShape)}`);
      }
      return out(tf.tidy(() => {
        const ax = [...Array(k).keys()].map((i) => xt.rank - k + i);
        const { mean, variance } = tf.moments(xt, ax, true);
        let y = tf.mul(tf.sub(xt, mean), tf.rsqrt(tf.add(variance, eps)));
        if (w) y = tf.mul(y, $(w));
        if (b) y = tf.add(y, $(b));
        return y;
      }));
    },
    pixelShuffle: (x, r) => out(pixelShuffle($(x), r)),
    resizeBilinear: (x, size) => out(resizeBilinear($(x), size)),
    maxPool2d: (x, k, s, p) => out(maxPool2d($(x), k, s, p)),
    avgPool2d: (x, k, s, p) => out(avgPool2d($(x), k, s, p)),
    pad: (x, pads, mode = 'zeros', value = 0) => out(pad($(x), pads, mode, value)),

    // ---- shape / indexing ----
    reshape: (x, shape) => out(tf.reshape($(x), [...shape])),
    permute: (x, dims) => out(tf.transpose($(x), dims.map((d) => axis(d, $(x).rank, 'permute')))),
    transpose(x, d0, d1) {
      const r = $(x).rank;
      const perm = [...Array(r).keys()];
      const a = axis(d0, r, 'transpose'), b = axis(d1, r, 'transpose');
      [perm[a], perm[b]] = [b, a];
      return out(tf.transpose($(x), perm));
    },
    flip: (x, dims) => out(tf.reverse($(x), dims.map((d) => axis(d, $(x).rank, 'flip')))),
    cat: (xs, dim) => out(tf.concat(xs.map($), axis(dim, $(xs[0]).rank, 'cat'))),
    stack: (xs, dim) => out(tf.stack(xs.map($), axis(dim, $(xs[0]).rank + 1, 'stack'))),
    split(x, sizes, dim) {
      const d = axis(dim, $(x).rank, 'split');
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== $(x).shape[d]) throw new Error(`split: sizes ${fmtShape(sizes)} do not add up to dim ${dim} of ${fmtShape($(x).shape)}`);
      return tf.split($(x), sizes, d).map(out);
    },
    narrow(x, dim, start, length) {
      const xt = $(x);
      const d = axis(dim, xt.rank, 'narrow');
      const s = start < 0 ? start + xt.shape[d] : start;
      if (s < 0 || length < 0 || s + length > xt.shape[d]) throw new Error(`narrow: [${start}, ${start + length}) is outside dim ${dim} of ${fmtShape(xt.shape)}`);
      const begin = xt.shape.map((_, i) => (i === d ? s : 0));
      const size = xt.shape.map((n, i) => (i === d ? length : n));
      return out(tf.slice(xt, begin, size));
    },
    indexSelect: (x, dim, idx) => out(tf.gather($(x), $(idx), axis(dim, $(x).rank, 'indexSelect'))),
    gather: (x, dim, idx) => out(gather($(x), dim, $(idx))),
    // Not tf.oneHot: it rejects n < 2.
    oneHot: (idx, n) => out(tf.tidy(() => tf.cast(tf.equal(tf.expandDims(tf.cast($(idx), 'int32'), -1), tf.range(0, n, 1, 'int32')), 'float32'))),
  };
  return ops;
}
