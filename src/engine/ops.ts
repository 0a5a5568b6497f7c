// The op interface every network is written against. Two backends implement it:
// `torch` (N-API addon over libtorch: training + fast CPU inference) and `tfjs` (portable inference).
//
// Conventions
// - float32 tensors, NCHW for images; index tensors are int ('int64' in torch, 'int32' in tfjs).
// - Ops are synchronous and return new tensors; nothing is modified in place.
// - Memory is released deterministically: `dispose(t)`, or `tidy(fn)` which disposes every tensor
//   created inside `fn` except those it returns (and those passed to `keep`).
// - Dims may be negative (counted from the end), as in PyTorch.

export type DType = 'float32' | 'int32' | 'int64';

export interface Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type PadMode = 'zeros' | 'replicate' | 'reflect';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: number | [number, number];
}

/** Nested tensor containers that `tidy` can return. */
export type TensorContainer = Tensor | void | number | string | boolean | null | undefined | TensorContainer[] | { [k: string]: TensorContainer };

export interface Ops {
  /** 'torch' | 'tfjs' */
  readonly name: string;
  /** Human-readable details, e.g. 'libtorch 1.13 (CPU, 2 threads)' or 'tfjs wasm'. */
  describe(): string;

  // ---- creation / transfer ----
  tensor(data: Float32Array | number[], shape: readonly number[]): Tensor;
  intTensor(data: Int32Array | number[], shape: readonly number[]): Tensor;
  zeros(shape: readonly number[]): Tensor;
  ones(shape: readonly number[]): Tensor;
  full(shape: readonly number[], value: number): Tensor;
  /** Uniform in [lo, hi), from the backend's seeded generator. */
  rand(shape: readonly number[], lo?: number, hi?: number): Tensor;
  /** Standard normal, from the backend's seeded generator. */
  randn(shape: readonly number[]): Tensor;
  /** Copy of the values (float32 for float tensors, Int32Array for index tensors). */
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  readSync(t: Tensor): Float32Array | Int32Array;
  clone(t: Tensor): Tensor;

  // ---- memory ----
  dispose(t: Tensor | Tensor[]): void;
  tidy<T extends TensorContainer>(fn: () => T): T;
  /** Exempt a tensor created inside `tidy` from being disposed at the end of the scope. */
  keep<T extends Tensor>(t: T): T;
  /** Number of live tensors (for leak tests). */
  numTensors(): number;

  // ---- convolution / linear ----
  /** x [N,Cin,H,W], w [Cout,Cin/groups,kH,kW], b [Cout] | null */
  conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor;
  /** x [N,Cin,H,W], w [Cin,Cout/groups,kH,kW] (PyTorch layout), b [Cout] | null */
  convTranspose2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: ConvTranspose2dOptions): Tensor;
  /** x [..., in], w [out, in], b [out] | null */
  linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor;
  /** Batched matmul with broadcasting over leading dims: [..., n, k] x [..., k, m]. */
  matmul(a: Tensor, b: Tensor): Tensor;

  // ---- element-wise (broadcasting; numbers are scalars) ----
  add(a: Tensor, b: Tensor | number): Tensor;
  sub(a: Tensor, b: Tensor | number): Tensor;
  mul(a: Tensor, b: Tensor | number): Tensor;
  div(a: Tensor, b: Tensor | number): Tensor;
  neg(x: Tensor): Tensor;
  sqrt(x: Tensor): Tensor;
  exp(x: Tensor): Tensor;
  log(x: Tensor): Tensor;
  abs(x: Tensor): Tensor;
  pow(x: Tensor, p: number): Tensor;
  clamp(x: Tensor, lo: number, hi: number): Tensor;
  relu(x: Tensor): Tensor;
  leakyRelu(x: Tensor, slope: number): Tensor;
  /** Exact (erf) GELU. */
  gelu(x: Tensor): Tensor;
  sigmoid(x: Tensor): Tensor;
  softmax(x: Tensor, dim: number): Tensor;

  // ---- reductions ----
  sum(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  mean(x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor;
  /** Population variance (divide by N), like torch.var(unbiased=False). */
  variance(x: Tensor, dims: number | number[], keepDim?: boolean): Tensor;
  max(x: Tensor, dim: number, keepDim?: boolean): Tensor;
  /** Index of the first maximum along `dim` (ties go to the lowest index, as torch.max). */
  argmax(x: Tensor, dim: number, keepDim?: boolean): Tensor;

  // ---- normalisation / resampling ----
  /** LayerNorm over the last `normalizedShape.length` dims. */
  layerNorm(x: Tensor, normalizedShape: number[], w: Tensor | null, b: Tensor | null, eps?: number): Tensor;
  /** Depth-to-space: [N, C·r², H, W] → [N, C, H·r, W·r] (PyTorch channel order). */
  pixelShuffle(x: Tensor, r: number): Tensor;
  /** Bilinear resize, align_corners = false (half-pixel centres), no antialias. */
  resizeBilinear(x: Tensor, size: [number, number]): Tensor;
  maxPool2d(x: Tensor, kernel: number, stride?: number, padding?: number): Tensor;
  avgPool2d(x: Tensor, kernel: number, stride?: number, padding?: number): Tensor;
  /** pads = [left, right, top, bottom] over the last two dims. */
  pad(x: Tensor, pads: [number, number, number, number], mode?: PadMode, value?: number): Tensor;

  // ---- shape / indexing ----
  reshape(x: Tensor, shape: readonly number[]): Tensor;
  permute(x: Tensor, dims: readonly number[]): Tensor;
  transpose(x: Tensor, d0: number, d1: number): Tensor;
  flip(x: Tensor, dims: number[]): Tensor;
  cat(xs: Tensor[], dim: number): Tensor;
  stack(xs: Tensor[], dim: number): Tensor;
  split(x: Tensor, sizes: number[], dim: number): Tensor[];
  /** x.narrow(dim, start, length) */
  narrow(x: Tensor, dim: number, start: number, length: number): Tensor;
  /** idx: 1-D int tensor. */
  indexSelect(x: Tensor, dim: number, idx: Tensor): Tensor;
  /** torch.gather semantics; idx has x's rank. */
  gather(x: Tensor, dim: number, idx: Tensor): Tensor;
  /** One-hot float tensor [..., n] from an int tensor. */
  oneHot(idx: Tensor, n: number): Tensor;
}

/** Optimizer handle returned by a training-capable backend. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
  setLr(lr: number): void;
  getLr(): number;
  /** Optimizer state (moments, step counts) as named tensors, for checkpoints. */
  stateDict(): Map<string, Tensor>;
  loadStateDict(state: Map<string, Tensor>): void;
  dispose(): void;
}

export interface AdamOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW (decoupled weight decay) when true. */
  decoupled?: boolean;
}

/** Autograd and training, provided by the torch backend only. */
export interface TrainOps extends Ops {
  setRequiresGrad(t: Tensor, on: boolean): void;
  requiresGrad(t: Tensor): boolean;
  backward(loss: Tensor): void;
  /** Gradient of a leaf, or null. The caller owns (and disposes) the returned tensor. */
  grad(t: Tensor): Tensor | null;
  zeroGrad(ts: Tensor[]): void;
  /** Run fn with autograd recording disabled (inference mode). */
  noGrad<T>(fn: () => T): T;
  /** Run fn with bfloat16 autocast (convolutions and matmuls in bf16, as torch.autocast('cpu')); weights and
   *  their gradients stay float32. Outputs of fn may be bfloat16. */
  autocast<T>(fn: () => T): T;
  /** Tensor that shares data but is cut from the graph. */
  detach(t: Tensor): Tensor;
  /** In-place copy of `src` into `dst` (no autograd), e.g. for EMA and weight loading. */
  copy_(dst: Tensor, src: Tensor): void;
  adam(params: Tensor[], opts: AdamOptions): Optimizer;
  /** Hard Gumbel-softmax with straight-through gradient (F.gumbel_softmax(tau, hard=True)). */
  gumbelSoftmaxHard(logits: Tensor, dim: number, tau?: number): Tensor;
  setThreads(n: number): void;
  getThreads(): number;
  seed(s: number): void;
  /** Generator state, for exact resume. */
  getRngState(): Uint8Array;
  setRngState(state: Uint8Array): void;
}

export function isTrainOps(ops: Ops): ops is TrainOps {
  return typeof (ops as TrainOps).backward === 'function';
}
