// A recording backend of the op interface: it computes no values, only shapes (with the shape-only counter's
// rules), and logs every op of a forward pass as an event that emit.ts turns into ONNX nodes.
//
// Outside a trace (building the model, loading weights) creation ops keep their values on the host, so the
// parameters become ONNX initializers. Inside a trace every new tensor gets a trace index (0 = graph input).
// Numbers an op takes that may come from the input size (reshape targets, resize sizes, narrow bounds, split
// sizes, pads, creation shapes) are kept apart in `sizes`, so that several traces at different input sizes
// can tell constants from sizes (see emit.ts).
import type { Conv2dOptions, ConvTranspose2dOptions, DType, Ops, PadMode, Tensor, TensorContainer } from '../../engine/ops.js';
import { numel } from '../../engine/host.js';
import { createShapeOps } from '../../eval/complexity.js';

export class RecTensor implements Tensor {
  /** Index in the trace that created it; -1 for tensors made outside a trace (initializers). */
  traceIndex = -1;
  /** The op that made it (lazy mode, see createRecorder); absent for leaves. */
  producer?: RecEvent;
  constructor(readonly shape: readonly number[], readonly dtype: DType, readonly data?: Float32Array | Int32Array) {}
}

export interface RecEvent {
  op: string;
  ins: RecTensor[];
  outs: RecTensor[];
  /** Static arguments; must be equal in every trace. */
  attrs: Record<string, unknown>;
  /** Size-like numbers; may differ between traces (emit.ts resolves them to constants or input dims). */
  sizes: number[];
  /** Values of a constant created inside the trace. */
  data?: Float32Array | Int32Array;
}

export interface Trace {
  input: RecTensor;
  output: RecTensor;
  events: RecEvent[];
  /** Every tensor of the trace by trace index. */
  tensors: RecTensor[];
}

/** Errors of the recorder: the network does something an ONNX graph cannot hold. */
export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

/** Seeded uniform [0,1) generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Recorder {
  ops: Ops;
  /** Runs `fn` on a fresh graph input of `shape`; returns the recorded trace. */
  trace(shape: readonly number[], fn: (x: Tensor) => Tensor): Trace;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/**
 * `lazy`: ops outside a trace are recorded too (each output keeps its producer), for the onnxruntime backend
 * (lazy.ts) that runs the recorded graph when a value is read; otherwise such ops are errors.
 */
export function createRecorder(seed = 1, lazy = false): Recorder {
  const shapes = createShapeOps().ops;
  const random = rng(seed);
  let current: Trace | null = null;

  const made = (shape: readonly number[], dtype: DType = 'float32', data?: Float32Array | Int32Array): RecTensor => {
    const t = new RecTensor([...shape], dtype, data);
    if (current) {
      t.traceIndex = current.tensors.length;
      current.tensors.push(t);
    }
    return t;
  };
  const asRec = (t: Tensor, op: string): RecTensor => {
    if (!(t instanceof RecTensor)) throw new ExportError(`${op}: a tensor from another backend reached the ONNX recorder`);
    return t;
  };
  /** Logs one op. `out` are the shapes (from the shape rules) of its outputs. */
  function log(op: string, ins: Tensor[], outs: Tensor[], attrs: Record<string, unknown> = {}, sizes: number[] = []): RecTensor[] {
    if (!current && !lazy) throw new ExportError(`${op} ran outside a forward trace; the ONNX recorder only records forward passes`);
    const inputs = ins.map((t) => asRec(t, op));
    const outputs = outs.map((t) => made(t.shape, t.dtype === 'float32' ? 'float32' : 'int64'));
    const event: RecEvent = { op, ins: inputs, outs: outputs, attrs, sizes };
    current?.events.push(event);
    if (lazy) for (const t of outputs) t.producer = event;
    return outputs;
  }
  const one = (op: string, ins: Tensor[], out: Tensor, attrs?: Record<string, unknown>, sizes?: number[]) =>
    log(op, ins, [out], attrs, sizes)[0]!;

  /** A creation op: a constant outside a trace, an event inside one. */
  function create(op: string, shape: readonly number[], dtype: DType, fill: () => Float32Array | Int32Array, attrs: Record<string, unknown> = {}): RecTensor {
    if (!current) return made(shape, dtype, fill());
    if (op === 'rand' || op === 'randn') throw new ExportError(`${op} in the forward pass: random values cannot be exported`);
    const t = one(op, [], new RecTensor(shape, dtype), attrs, [...shape]);
    return t;
  }
  function constant(data: Float32Array | Int32Array, shape: readonly number[], dtype: DType): RecTensor {
    if (data.length !== numel(shape)) throw new ExportError(`tensor: ${data.length} values for shape [${shape.join(', ')}]`);
    if (!current) return made(shape, dtype, data);
    const t = one('constant', [], new RecTensor(shape, dtype), { shape: [...shape], dtype });
    current.events[current.events.length - 1]!.data = data;
    return t;
  }
  const ew = (op: string) => (a: Tensor, b: Tensor | number) =>
    typeof b === 'number'
      ? one(op, [a], shapes[op as 'add'](a, b), { scalar: b })
      : one(op, [a, b], shapes[op as 'add'](a, b));
  const unary = (op: string, attrs: (...args: never[]) => Record<string, unknown> = () => ({})) =>
    (x: Tensor, ...args: unknown[]) => one(op, [x], shapes.clone(x), (attrs as (...a: unknown[]) => Record<string, unknown>)(...args));
  const norm = (rank: number, d: number) => (d < 0 ? d + rank : d);
  const dimList = (x: Tensor, dims: number | number[] | undefined) =>
    dims === undefined ? undefined : (Array.isArray(dims) ? dims : [dims]).map((d) => norm(x.shape.length, d));

  const ops: Ops = {
    name: 'onnx-recorder',
    describe: () => 'ONNX graph recorder (shapes only)',

    tensor: (d, shape) => constant(d instanceof Float32Array ? d : Float32Array.from(d), shape, 'float32'),
    intTensor: (d, shape) => constant(d instanceof Int32Array ? d : Int32Array.from(d), shape, 'int32'),
    zeros: (s) => create('full', s, 'float32', () => new Float32Array(numel(s)), { value: 0 }),
    ones: (s) => create('full', s, 'float32', () => new Float32Array(numel(s)).fill(1), { value: 1 }),
    full: (s, v) => create('full', s, 'float32', () => new Float32Array(numel(s)).fill(v), { value: v }),
    rand: (s, lo = 0, hi = 1) => create('rand', s, 'float32', () => Float32Array.from({ length: numel(s) }, () => lo + (hi - lo) * random())),
    randn: (s) => create('randn', s, 'float32', () => Float32Array.from({ length: numel(s) }, () =>
      Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()))),
    read: async (t) => ops.readSync(t),
    readSync(t) {
      const r = asRec(t, 'read');
      if (r.data && r.traceIndex < 0) return r.data;
      throw new ExportError('the network reads tensor values on the host during the forward pass (a data-dependent step); ' +
        'such a step cannot be exported to a static ONNX graph');
    },
    clone: (x) => (current || (lazy && !asRec(x, 'clone').data) ? one('clone', [x], shapes.clone(x)) : made(x.shape, x.dtype, asRec(x, 'clone').data?.slice())),
    dispose: () => {},
    tidy: <T extends TensorContainer>(fn: () => T) => fn(),
    keep: <T extends Tensor>(t: T) => t,
    numTensors: () => 0,

    conv2d(x, w, b, opts: Conv2dOptions = {}) {
      const attrs = { stride: pair(opts.stride, 1), padding: pair(opts.padding, 0), dilation: pair(opts.dilation, 1), groups: opts.groups ?? 1 };
      return one('conv2d', b ? [x, w, b] : [x, w], shapes.conv2d(x, w, b, opts), attrs);
    },
    convTranspose2d(x, w, b, opts: ConvTranspose2dOptions = {}) {
      const attrs = {
        stride: pair(opts.stride, 1), padding: pair(opts.padding, 0), dilation: pair(opts.dilation, 1),
        outputPadding: pair(opts.outputPadding, 0), groups: opts.groups ?? 1,
      };
      return one('convTranspose2d', b ? [x, w, b] : [x, w], shapes.convTranspose2d(x, w, b, opts), attrs);
    },
    linear: (x, w, b) => one('linear', b ? [x, w, b] : [x, w], shapes.linear(x, w, b)),
    matmul: (a, b) => one('matmul', [a, b], shapes.matmul(a, b)),

    add: ew('add'),
    sub: ew('sub'),
    mul: ew('mul'),
    div: ew('div'),
    neg: unary('neg'),
    sqrt: unary('sqrt'),
    exp: unary('exp'),
    log: unary('log'),
    abs: unary('abs'),
    pow: unary('pow', (p: number) => ({ p })),
    clamp: unary('clamp', (lo: number, hi: number) => ({ lo, hi })),
    relu: unary('relu'),
    leakyRelu: unary('leakyRelu', (slope: number) => ({ slope })),
    gelu: unary('gelu'),
    sigmoid: unary('sigmoid'),
    softmax: (x, dim) => one('softmax', [x], shapes.clone(x), { dim: norm(x.shape.length, dim) }),

    sum: (x, dims, keep = false) => one('sum', [x], shapes.sum(x, dims, keep), { dims: dimList(x, dims), keep }),
    mean: (x, dims, keep = false) => one('mean', [x], shapes.mean(x, dims, keep), { dims: dimList(x, dims), keep }),
    variance: (x, dims, keep = false) => one('variance', [x], shapes.variance(x, dims, keep), { dims: dimList(x, dims), keep }),
    max: (x, dim, keep = false) => one('max', [x], shapes.max(x, dim, keep), { dims: dimList(x, dim), keep }),
    argmax: (x, dim, keep = false) => one('argmax', [x], shapes.argmax(x, dim, keep), { dim: norm(x.shape.length, dim), keep }),

    layerNorm(x, normalizedShape, w, b, eps = 1e-5) {
      return one('layerNorm', [x, ...(w ? [w] : []), ...(b ? [b] : [])], shapes.clone(x),
        { axes: normalizedShape.length, eps, hasW: !!w, hasB: !!b });
    },
    pixelShuffle: (x, r) => one('pixelShuffle', [x], shapes.pixelShuffle(x, r), { r }),
    resizeBilinear: (x, size) => one('resizeBilinear', [x], shapes.resizeBilinear(x, size), {}, [x.shape[0]!, x.shape[1]!, ...size]),
    maxPool2d: (x, k, s = k, p = 0) => one('maxPool2d', [x], shapes.maxPool2d(x, k, s, p), { k, s, p }),
    avgPool2d: (x, k, s = k, p = 0) => one('avgPool2d', [x], shapes.avgPool2d(x, k, s, p), { k, s, p }),
    pad: (x, pads, mode: PadMode = 'zeros', value = 0) => one('pad', [x], shapes.pad(x, pads, mode, value), { mode, value }, [...pads]),

    reshape(x, shape) {
      const out = shapes.reshape(x, shape);
      return one('reshape', [x], out, {}, [...out.shape]);
    },
    permute: (x, dims) => one('permute', [x], shapes.permute(x, dims), { perm: dims.map((d) => norm(x.shape.length, d)) }),
    transpose(x, d0, d1) {
      const perm = x.shape.map((_, i) => i);
      const a = norm(x.shape.length, d0);
      const b = norm(x.shape.length, d1);
      [perm[a], perm[b]] = [perm[b]!, perm[a]!];
      return one('permute', [x], shapes.transpose(x, d0, d1), { perm });
    },
    flip: (x, dims) => one('flip', [x], shapes.flip(x, dims), { dims: dims.map((d) => norm(x.shape.length, d)) }),
    cat: (xs, dim) => one('cat', xs, shapes.cat(xs, dim), { dim: norm(xs[0]!.shape.length, dim) }),
    stack: (xs, dim) => one('stack', xs, shapes.stack(xs, dim), { dim: norm(xs[0]!.shape.length + 1, dim) }),
    split: (x, sizes, dim) => log('split', [x], shapes.split(x, sizes, dim), { dim: norm(x.shape.length, dim), n: sizes.length }, [...sizes]),
    narrow(x, dim, start, length) {
      return one('narrow', [x], shapes.narrow(x, dim, start, length), { dim: norm(x.shape.length, dim) }, [start, start + length]);
    },
    indexSelect: (x, dim, idx) => one('indexSelect', [x, idx], shapes.indexSelect(x, dim, idx), { dim: norm(x.shape.length, dim) }),
    gather: (x, dim, idx) => one('gather', [x, idx], shapes.gather(x, dim, idx), { dim: norm(x.shape.length, dim) }),
    oneHot: (idx, n) => one('oneHot', [idx], shapes.oneHot(idx, n), { n }),
  };

  return {
    ops,
    trace(shape, fn) {
      if (current) throw new ExportError('a trace is already running');
      const t: Trace = { input: undefined as unknown as RecTensor, output: undefined as unknown as RecTensor, events: [], tensors: [] };
      current = t;
      try {
        t.input = made(shape);
        t.output = asRec(fn(t.input), 'output');
      } finally {
        current = null;
      }
      return t;
    },
  };
}
