// Host-side (plain JS) tensors: what weight files, images and checkpoints exchange with a backend.

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export type StateDict = Map<string, HostTensor>;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** How many values of `data` are NaN or ±Infinity (one pass). */
export function countNonFinite(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) n++; // NaN - NaN and Inf - Inf are NaN
  }
  return n;
}

/** A weights tensor holds NaN or ±Infinity: such weights turn every output pixel into NaN (a black image). */
export class NonFiniteWeightsError extends Error {
  constructor(readonly file: string, readonly tensor: string, readonly count: number, note = '') {
    super(`weights '${file}': tensor '${tensor}' has ${count} non-finite value${count === 1 ? '' : 's'} (NaN/Inf${note}); ` +
      'the file is corrupt or from a diverged training run');
    this.name = 'NonFiniteWeightsError';
  }
}

/** Throws NonFiniteWeightsError when `data` (tensor `tensor` of `file`) holds NaN or ±Infinity. */
export function assertFinite(file: string, tensor: string, data: Float32Array, note = ''): void {
  const n = countNonFinite(data);
  if (n) throw new NonFiniteWeightsError(file, tensor, n, note);
}
