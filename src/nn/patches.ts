// Overlapping patch division / aggregation as in HPINet's released code: patches of P×P with stride
// P − 2 (2-px overlap), the last patch of a row/column snapped to the border; on aggregation the
// patches are summed onto a canvas and every overlap stripe is halved (a crossing of two stripes is
// quartered). Both directions are separable index selections, so a whole image's patch set is one batch.
import type { Ops, Tensor } from '../engine/ops.js';

/** Patch layout along one axis of length `len`. */
export class PatchAxis {
  /** Start of each patch. */
  readonly starts: number[] = [];
  /** Per position: 0.5^(number of overlap stripes covering it). */
  readonly scale: Float32Array;
  /** Per position: indices into the concatenated patch axis (length count·P) that land on it. */
  readonly sources: number[][];

  constructor(readonly len: number, readonly patch: number) {
    const P = patch;
    if (!Number.isInteger(P) || P < 3) throw new Error(`patch size must be an integer ≥ 3, got ${P}`);
    if (len < P) throw new Error(`feature map side ${len} is smaller than the patch size ${P}; pad the input first`);
    const step = P - 2;
    for (let i = 0; i < len + step - P; i += step) this.starts.push(i + P > len ? len - P : i);
    this.scale = new Float32Array(len).fill(1);
    for (let i = step; i < len + step - P; i += step) {
      const top = i + P > len ? len - P : i;
      for (let y = top; y < i + P - step; y++) this.scale[y] *= 0.5;
    }
    this.sources = Array.from({ length: len }, () => []);
    this.starts.forEach((s, k) => {
      for (let r = 0; r < P; r++) this.sources[s + r]!.push(k * P + r);
    });
  }

  get count(): number {
    return this.starts.length;
  }

  /** Positions to gather for division: start_k + r for every patch k and offset r. */
  gatherIndex(): number[] {
    return this.starts.flatMap((s) => Array.from({ length: this.patch }, (_, r) => s + r));
  }

  /** Index lists for folding: list m holds each position's m-th source, or `count·P` (a zero row) if none. */
  foldIndices(): number[][] {
    const depth = Math.max(...this.sources.map((s) => s.length));
    const zero = this.count * this.patch;
    return Array.from({ length: depth }, (_, m) => this.sources.map((s) => s[m] ?? zero));
  }
}

/** The patch grid of an H×W feature map; patch k = (row k / nw, column k % nw), row-major. */
export class PatchGrid {
  readonly rows: PatchAxis;
  readonly cols: PatchAxis;

  constructor(readonly height: number, readonly width: number, readonly patch: number) {
    this.rows = new PatchAxis(height, patch);
    this.cols = new PatchAxis(width, patch);
  }

  /** Patches per image. */
  get count(): number {
    return this.rows.count * this.cols.count;
  }

  /** [N, C, H, W] → tokens [N·n, P², C] (patches of image 0 first). */
  divide(o: Ops, x: Tensor): Tensor {
    const [N, C] = x.shape as [number, number];
    const P = this.patch;
    const nh = this.rows.count;
    const nw = this.cols.count;
    return o.tidy(() => {
      const r = o.indexSelect(x, 2, o.intTensor(this.rows.gatherIndex(), [nh * P]));
      const rc = o.indexSelect(r, 3, o.intTensor(this.cols.gatherIndex(), [nw * P]));
      const t = o.permute(o.reshape(rc, [N, C, nh, P, nw, P]), [0, 2, 4, 3, 5, 1]);
      return o.reshape(t, [N * nh * nw, P * P, C]);
    });
  }

  /** Tokens [N·n, P², C] → [N, C, H, W], overlaps averaged as in the reference code. */
  reverse(o: Ops, tokens: Tensor): Tensor {
    const C = tokens.shape[2]!;
    const P = this.patch;
    const nh = this.rows.count;
    const nw = this.cols.count;
    const N = tokens.shape[0]! / (nh * nw);
    return o.tidy(() => {
      const t = o.permute(o.reshape(tokens, [N, nh, nw, P, P, C]), [0, 5, 1, 3, 2, 4]);
      const big = o.reshape(t, [N, C, nh * P, nw * P]);
      const h = fold(o, big, 2, this.rows);
      const hw = fold(o, h, 3, this.cols);
      const rs = o.tensor(this.rows.scale, [1, 1, this.height, 1]);
      const cs = o.tensor(this.cols.scale, [1, 1, 1, this.width]);
      return o.mul(o.mul(hw, rs), cs);
    });
  }
}

/** Sum the concatenated patch axis `dim` back onto the `axis.len` positions. */
function fold(o: Ops, x: Tensor, dim: number, axis: PatchAxis): Tensor {
  const zshape = [...x.shape];
  zshape[dim] = 1;
  const padded = o.cat([x, o.zeros(zshape)], dim);
  let out: Tensor | null = null;
  for (const idx of axis.foldIndices()) {
    const part = o.indexSelect(padded, dim, o.intTensor(idx, [idx.length]));
    out = out ? o.add(out, part) : part;
  }
  return out!;
}
