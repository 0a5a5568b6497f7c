// The libtorch backend: TrainOps over the N-API addon build/Release/lightsr_torch.node.
// A tensor is a small JS object holding a native handle; memory is freed by dispose()/tidy(),
// with garbage collection only as a safety net.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AdamOptions, Conv2dOptions, ConvTranspose2dOptions, DType, Optimizer, PadMode, Tensor, TensorContainer, TrainOps,
} from '../../engine/ops.js';
import { fmtShape, numel } from '../../engine/host.js';

type Handle = object;
type Native = Record<string, (...args: any[]) => any>;

const DTYPES: DType[] = ['float32', 'int32', 'int64', 'float32'];

let N: Native;
/** Tensors created in the innermost `tidy` scope (null outside any scope). */
let scope: TorchTensor[] | null = null;

class TorchTensor implements Tensor {
  alive = true;
  kept = false;
  private s: number[] | undefined;
  private d: DType | undefined;

  constructor(readonly h: Handle) {
    if (scope !== null) scope.push(this);
  }

  get shape(): readonly number[] {
    return (this.s ??= N.shape(this.h) as number[]);
  }

  get dtype(): DType {
    return (this.d ??= DTYPES[N.dtype(this.h) as number]);
  }

  free(): void {
    if (this.alive) {
      this.alive = false;
      N.dispose(this.h);
    }
  }

  toString(): string {
    return `Tensor(${this.alive ? fmtShape(this.shape) : 'disposed'})`;
  }
}

const h = (t: Tensor): Handle => (t as TorchTensor).h;
const hs = (ts: Tensor[]): Handle[] => ts.map(h);
const wrap = (handle: Handle): TorchTensor => new TorchTensor(handle);
const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/** The package root: src/backends/torch or dist/backends/torch -> three levels up. */
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the addon is loaded from: $LIGHTSR_TORCH_ADDON, else the package's build/Release/lightsr_torch.node. */
export function addonPath(): string {
  return process.env.LIGHTSR_TORCH_ADDON || path.join(packageRoot, 'build/Release/lightsr_torch.node');
}

/** How to get a working addon (installed package: `npm rebuild lightsr`; checkout: `npm run build:addon`). */
export function addonFix(): string {
  if (process.env.LIGHTSR_TORCH_ADDON) return 'unset LIGHTSR_TORCH_ADDON or point it at a built lightsr_torch.node';
  const deb = '`sudo apt-get install libtorch-dev libopenblas0-pthread`, then';
  return packageRoot.split(path.sep).includes('node_modules') ? `${deb} \`npm rebuild lightsr\`` : `${deb} \`npm run build:addon\``;
}

function loadNative(): Native {
  if (N) return N;
  const file = addonPath();
  if (!existsSync(file)) {
    throw new Error(`libtorch backend unavailable: ${file} not found (to fix: ${addonFix()})`);
  }
  // OpenMP reads this when libtorch loads: idle threads sleep instead of spinning, which matters a lot when
  // the cores are shared (measured: IMDN training step 15.9 s -> 4.7 s on a loaded 2-core machine).
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    N = createRequire(import.meta.url)(file) as Native;
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new Error(`libtorch backend unavailable: cannot load ${file}: ${why} (to fix: ${addonFix()})`);
  }
  return N;
}

/** Walks a tidy() result and collects the tensors in it. */
function collect(v: unknown, out: Set<TorchTensor>): void {
  if (v instanceof TorchTensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, out);
  else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, out);
  }
}

function endScope(mine: TorchTensor[], parent: TorchTensor[] | null, result: unknown): void {
  let keepSet: Set<TorchTensor> | null = null;
  if (result instanceof TorchTensor) keepSet = new Set([result]);
  else if (result !== null && typeof result === 'object') collect(result, (keepSet = new Set()));
  for (const t of mine) {
    if (!t.alive || t.kept) continue;
    if (keepSet !== null && keepSet.has(t)) {
      if (parent !== null) parent.push(t);
    } else t.free();
  }
}

class TorchAdam implements Optimizer {
  constructor(private readonly o: Handle) {}
  step(): void { N.optStep(this.o); }
  zeroGrad(): void { N.optZeroGrad(this.o); }
  setLr(lr: number): void { N.optSetLr(this.o, lr); }
  getLr(): number { return N.optGetLr(this.o) as number; }
  stateDict(): Map<string, Tensor> {
    const [names, handles] = N.optState(this.o) as [string[], Handle[]];
    return new Map(names.map((n, i) => [n, wrap(handles[i])]));
  }
  loadStateDict(state: Map<string, Tensor>): void {
    N.optLoad(this.o, [...state.keys()], hs([...state.values()]));
  }
  dispose(): void { N.optDispose(this.o); }
}

let ops: TrainOps | null = null;

/** The libtorch backend. Throws a clear Error when the addon is not built or cannot be loaded. */
/** Run fn with a thread-local engine mode set (`set` returns the previous mode), restoring it afterwards. */
function withMode<T>(set: (on: boolean) => unknown, on: boolean, fn: () => T): T {
  const prev = set(on) as boolean;
  try {
    return fn();
  } finally {
    set(prev);
  }
}

export function createTorchOps(): TrainOps {
  if (ops) return ops;
  loadNative();
  const envThreads = Number.parseInt(process.env.LIGHTSR_THREADS ?? '', 10);
  N.setThreads(envThreads > 0 ? envThreads : os.availableParallelism());
  ops = makeOps();
  return ops;
}

function makeOps(): TrainOps {
  const scalarOr = (b: Tensor | number): Handle | number => (typeof b === 'number' ? b : h(b));
  const dimList = (d: number | number[] | undefined): number[] | null => (d === undefined ? null : typeof d === 'number' ? [d] : d);
  const checkShape = (shape: readonly number[], what: string): number[] => {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape ${fmtShape(shape)}`);
    return shape as number[];
  };

  const o: TrainOps = {
    name: 'torch',
    describe: () => {
      const n = N.getThreads() as number;
      return `libtorch ${N.version()} (CPU, ${n} thread${n === 1 ? '' : 's'})`;
    },

    // ---- creation / transfer ----
    tensor(data, shape) {
      const f = data instanceof Float32Array ? data : Float32Array.from(data);
      checkShape(shape, 'tensor');
      if (f.length !== numel(shape)) throw new Error(`tensor: ${f.length} values do not fit shape ${fmtShape(shape)}`);
      return wrap(N.fromFloat32(f, shape));
    },
    intTensor(data, shape) {
      const i = data instanceof Int32Array ? data : Int32Array.from(data);
      checkShape(shape, 'intTensor');
      if (i.length !== numel(shape)) throw new Error(`intTensor: ${i.length} values do not fit shape ${fmtShape(shape)}`);
      return wrap(N.fromInt32(i, shape));
    },
    zeros: (shape) => wrap(N.full(checkShape(shape, 'zeros'), 0)),
    ones: (shape) => wrap(N.full(checkShape(shape, 'ones'), 1)),
    full: (shape, value) => wrap(N.full(checkShape(shape, 'full'), value)),
    rand: (shape, lo = 0, hi = 1) => wrap(N.rand(checkShape(shape, 'rand'), lo, hi)),
    randn: (shape) => wrap(N.randn(checkShape(shape, 'randn'))),
    read: (t) => Promise.resolve(N.read(h(t)) as Float32Array | Int32Array),
    readSync: (t) => N.read(h(t)) as Float32Array | Int32Array,
    clone: (t) => wrap(N.clone(h(t))),

    // ---- memory ----
    dispose(t) {
      if (Array.isArray(t)) for (const x of t) (x as TorchTensor).free();
      else (t as TorchTensor).free();
    },
    tidy<T extends TensorContainer>(fn: () => T): T {
      const parent = scope;
      const mine: TorchTensor[] = [];
      scope = mine;
      let result: T;
      try {
        result = fn();
      } catch (err) {
        scope = parent;
        endScope(mine, parent, undefined);
        throw err;
      }
      scope = parent;
      if (result instanceof Promise) {
        endScope(mine, parent, undefined);
        throw new Error('tidy: the function must be synchronous (it returned a Promise)');
      }
      endScope(mine, parent, result);
      return result;
    },
    keep<T extends Tensor>(t: T): T {
      (t as unknown as TorchTensor).kept = true;
      return t;
    },
    numTensors: () => N.numTensors() as number,

    // ---- convolution / linear ----
    conv2d(x, w, b, opts: Conv2dOptions = {}) {
      const [sh, sw] = pair(opts.stride, 1);
      const [ph, pw] = pair(opts.padding, 0);
      const [dh, dw] = pair(opts.dilation, 1);
      return wrap(N.conv2d(h(x), h(w), b ? h(b) : null, sh, sw, ph, pw, dh, dw, opts.groups ?? 1));
    },
    convTranspose2d(x, w, b, opts: ConvTranspose2dOptions = {}) {
      const [sh, sw] = pair(opts.stride, 1);
      const [ph, pw] = pair(opts.padding, 0);
      const [dh, dw] = pair(opts.dilation, 1);
      const [oh, ow] = pair(opts.outputPadding, 0);
      return wrap(N.convTranspose2d(h(x), h(w), b ? h(b) : null, sh, sw, ph, pw, dh, dw, opts.groups ?? 1, oh, ow));
    },
    linear: (x, w, b) => wrap(N.linear(h(x), h(w), b ? h(b) : null)),
    matmul: (a, b) => wrap(N.matmul(h(a), h(b))),

    // ---- element-wise ----
    add: (a, b) => wrap(N.add(h(a), scalarOr(b))),
    sub: (a, b) => wrap(N.sub(h(a), scalarOr(b))),
    mul: (a, b) => wrap(N.mul(h(a), scalarOr(b))),
    div: (a, b) => wrap(N.div(h(a), scalarOr(b))),
    neg: (x) => wrap(N.neg(h(x))),
    sqrt: (x) => wrap(N.sqrt(h(x))),
    exp: (x) => wrap(N.exp(h(x))),
    log: (x) => wrap(N.log(h(x))),
    abs: (x) => wrap(N.abs(h(x))),
    pow: (x, p) => wrap(N.pow(h(x), p)),
    clamp: (x, lo, hi) => wrap(N.clamp(h(x), lo, hi)),
    relu: (x) => wrap(N.relu(h(x))),
    leakyRelu: (x, slope) => wrap(N.leakyRelu(h(x), slope)),
    gelu: (x) => wrap(N.gelu(h(x))),
    sigmoid: (x) => wrap(N.sigmoid(h(x))),
    softmax: (x, dim) => wrap(N.softmax(h(x), dim)),

    // ---- reductions ----
    sum: (x, dims, keepDim = false) => wrap(N.sum(h(x), dimList(dims), keepDim)),
    mean: (x, dims, keepDim = false) => wrap(N.mean(h(x), dimList(dims), keepDim)),
    variance: (x, dims, keepDim = false) => wrap(N.variance(h(x), dimList(dims), keepDim)),
    max: (x, dim, keepDim = false) => wrap(N.max(h(x), dim, keepDim)),
    argmax: (x, dim, keepDim = false) => wrap(N.argmax(h(x), dim, keepDim)),

    // ---- normalisation / resampling ----
    layerNorm: (x, shape, w, b, eps = 1e-5) => wrap(N.layerNorm(h(x), shape, w ? h(w) : null, b ? h(b) : null, eps)),
    pixelShuffle: (x, r) => wrap(N.pixelShuffle(h(x), r)),
    resizeBilinear: (x, size) => wrap(N.resizeBilinear(h(x), size[0], size[1])),
    maxPool2d: (x, k, s = k, p = 0) => wrap(N.maxPool2d(h(x), k, s, p)),
    avgPool2d: (x, k, s = k, p = 0) => wrap(N.avgPool2d(h(x), k, s, p)),
    pad(x, pads, mode: PadMode = 'zeros', value = 0) {
      const m = mode === 'zeros' ? 0 : mode === 'replicate' ? 1 : mode === 'reflect' ? 2 : -1;
      if (m < 0) throw new Error(`pad: unknown mode '${String(mode)}' (expected zeros, replicate or reflect)`);
      return wrap(N.pad(h(x), pads[0], pads[1], pads[2], pads[3], m, value));
    },

    // ---- shape / indexing ----
    reshape: (x, shape) => wrap(N.reshape(h(x), shape)),
    permute: (x, dims) => wrap(N.permute(h(x), dims)),
    transpose: (x, d0, d1) => wrap(N.transpose(h(x), d0, d1)),
    flip: (x, dims) => wrap(N.flip(h(x), dims)),
    cat: (xs, dim) => wrap(N.cat(hs(xs), dim)),
    stack: (xs, dim) => wrap(N.stack(hs(xs), dim)),
    split: (x, sizes, dim) => (N.split(h(x), sizes, dim) as Handle[]).map(wrap),
    narrow: (x, dim, start, length) => wrap(N.narrow(h(x), dim, start, length)),
    indexSelect: (x, dim, idx) => wrap(N.indexSelect(h(x), dim, h(idx))),
    gather: (x, dim, idx) => wrap(N.gather(h(x), dim, h(idx))),
    oneHot: (idx, n) => wrap(N.oneHot(h(idx), n)),

    // ---- autograd / training ----
    setRequiresGrad: (t, on) => N.setRequiresGrad(h(t), on),
    requiresGrad: (t) => N.requiresGrad(h(t)) as boolean,
    backward: (loss) => N.backward(h(loss)),
    grad(t) {
      const g = N.grad(h(t)) as Handle | null;
      return g === null ? null : wrap(g);
    },
    zeroGrad: (ts) => N.zeroGrad(hs(ts)),
    noGrad: (fn) => withMode(N.setGradEnabled, false, fn),
    autocast: (fn) => withMode(N.setAutocast, true, fn),
    detach: (t) => wrap(N.detach(h(t))),
    copy_: (dst, src) => N.copyInto(h(dst), h(src)),
    adam(params, opts: AdamOptions) {
      const [b1, b2] = opts.betas ?? [0.9, 0.999];
      return new TorchAdam(N.adam(hs(params), opts.lr, b1, b2, opts.eps ?? 1e-8, opts.weightDecay ?? 0, opts.decoupled ?? false));
    },
    gumbelSoftmaxHard: (logits, dim, tau = 1) => wrap(N.gumbelSoftmaxHard(h(logits), dim, tau)),
    setThreads: (n) => N.setThreads(n),
    getThreads: () => N.getThreads() as number,
    seed: (s) => N.seed(s),
    getRngState: () => N.getRngState() as Uint8Array,
    setRngState: (state) => N.setRngState(state),
  };
  return o;
}
