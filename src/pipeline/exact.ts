// Exact tiling for networks with global spatial statistics (IMDN's contrast-aware channel attention,
// RCAN's channel attention): such a layer reduces a feature map over the whole image (mean / variance over
// H and W), so a tile on its own sees different statistics and tiled output drifts (IMDN ×4: up to ~7 LSB
// with small tiles). Here the statistics are first gathered over the whole image, tile by tile, then
// injected while the tiles are super-resolved, so tiles reproduce the whole-image result.
//
// How: the network is built on an Ops wrapper that watches `mean`/`variance` over the last two dims.
//  - probe: one tiny forward counts those reductions (R) per forward pass.
//  - stats pass g (g = 0, 1, …): every tile runs up to reduction group g, with groups < g replaced by the
//    global values already known. Each tile adds Σx and Σx² of its own core region (a partition of the image,
//    at least `pad` px inside the window) in float64; the forward stops at the first reduction of the next
//    group. A group is a run of consecutive reductions of the same tensor (CCA: mean and variance of x).
//  - final pass: every reduction returns its global value; ordinary tiling with blending.
// With the self-ensemble, each of the 8 variants gets the statistics of its own transformed whole image.
// Cost: about 4× plain tiling for IMDN (6 groups), 8× that with the self-ensemble. Requires the reduced maps to be at input resolution
// (true for IMDN and RCAN-style attention).
import type { Ops, Tensor } from '../engine/ops.js';
import { dihedral } from '../image/dihedral.js';
import type { PlanarImage } from '../image/types.js';
import { cropPlanar, planTiles, runTiled, yieldToEvents, type AxisPlan, type TileOptions, type TileRunner } from '../image/tiling.js';
import type { SRModel } from '../models/registry.js';

type Kind = 'mean' | 'variance';
type Stat = { kind: Kind; value: Float32Array };

/** Thrown inside a stats pass to stop the forward early (tidy scopes free their tensors on the way out). */
class StopForward extends Error {}

interface Region {
  /** Window size (LR px) and the core rectangle [y0,y1)×[x0,x1) in window coordinates. */
  h: number;
  w: number;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

export class GlobalStats {
  /** Ops to build the network on. */
  readonly ops: Ops;
  private mode: 'off' | 'count' | 'record' | 'inject' = 'off';
  private count = 0;
  /** Global value of each reduction, in call order within one forward: [C] per call (batch 1). */
  private known: Stat[] = [];
  /** `known` per self-ensemble variant (one entry without self-ensemble), used by `inject`. */
  private variants: Stat[][] = [];
  /** Reductions per forward, and groups of them (from the probe). */
  perForward = 0;
  /** Size of each group (consecutive reductions of one tensor). */
  groupSizes: number[] = [];
  get groups(): number {
    return this.groupSizes.length;
  }
  // record state
  private region: Region | null = null;
  private groupInput: Tensor | null = null;
  private group: { kind: Kind; sum: Float64Array; sq: Float64Array }[] = [];
  private groupIndex = 0;

  constructor(readonly base: Ops) {
    const self = this;
    this.ops = new Proxy(base, {
      get(target, prop, receiver) {
        if (prop === 'mean' || prop === 'variance') {
          return (x: Tensor, dims?: number | number[], keepDim?: boolean) => self.reduce(prop, x, dims, keepDim);
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  /** Count the spatial reductions (and groups) of one forward on a small input. */
  probe(model: SRModel, side = 32): void {
    const o = this.base;
    this.mode = 'count';
    this.count = 0;
    this.groupSizes = [];
    this.groupInput = null;
    try {
      o.tidy(() => {
        model.forward(o.full([1, 3, side, side], 0.5));
      });
      this.perForward = this.count;
    } finally {
      this.mode = 'off';
      this.groupInput = null;
    }
  }

  /** Forget the statistics of the last image. */
  clear(): void {
    this.known = [];
    this.variants = [];
  }

  /**
   * Gather the whole-image statistics of `img` (of each of its 8 dihedral variants for the self-ensemble,
   * whose forwards each see their own whole-image statistics).
   */
  async gather(img: PlanarImage, model: SRModel, opts: TileOptions, selfEnsemble: boolean, onTile?: () => void): Promise<void> {
    this.clear();
    if (this.perForward === 0) return;
    for (let v = 0; v < (selfEnsemble ? 8 : 1); v++) {
      await this.gatherOne(dihedral(img, v), model, opts, onTile);
      this.variants.push(this.known);
      this.known = [];
    }
  }

  /** Whole-image statistics of one image into `known`, tile by tile, with the plain forward. */
  private async gatherOne(img: PlanarImage, model: SRModel, opts: TileOptions, onTile?: () => void): Promise<void> {
    const grid = planTiles(img.height, img.width, opts.tile, opts.pad);
    const ys = cores(grid.ys, img.height);
    const xs = cores(grid.xs, img.width);
    const o = this.base;
    const n = img.height * img.width;
    for (this.groupIndex = 0; this.known.length < this.perForward; this.groupIndex++) {
      const first = this.known.length;
      let totals: { kind: Kind; sum: Float64Array; sq: Float64Array }[] | null = null;
      for (let j = 0; j < ys.length; j++) {
        for (let i = 0; i < xs.length; i++) {
          await yieldToEvents(opts.signal);
          const [y0, y1] = ys[j];
          const [x0, x1] = xs[i];
          const sy = grid.ys.starts[j];
          const sx = grid.xs.starts[i];
          this.region = { h: grid.ys.win, w: grid.xs.win, y0: y0 - sy, y1: y1 - sy, x0: x0 - sx, x1: x1 - sx };
          this.mode = 'record';
          this.count = 0;
          this.group = [];
          this.groupInput = null;
          try {
            const tile = cropPlanar(img, sy, sx, grid.ys.win, grid.xs.win);
            o.tidy(() => {
              model.forward(o.tensor(tile.data, [1, 3, tile.height, tile.width]));
            });
          } catch (err) {
            if (!(err instanceof StopForward)) throw err;
          } finally {
            this.mode = 'off';
            this.groupInput = null;
          }
          onTile?.();
          if (this.group.length === 0) throw new Error('exact tiling: the network made no further spatial reduction (its forward is not deterministic in structure)');
          if (!totals) totals = this.group;
          else totals.forEach((t, k) => add(t, this.group[k]));
        }
      }
      for (const t of totals!) {
        const mean = Float32Array.from(t.sum, (s) => s / n);
        const value = t.kind === 'mean' ? mean : Float32Array.from(t.sq, (q, c) => Math.max(0, q / n - (t.sum[c] / n) ** 2));
        this.known.push({ kind: t.kind, value });
      }
      if (this.known.length === first) throw new Error('exact tiling: no statistics gathered');
    }
  }

  /** Runner for the final pass: the given runner with every spatial reduction replaced by its global value. */
  inject(run: TileRunner): TileRunner {
    return async (t) => {
      if (this.variants.length === 0) return run(t);
      this.mode = 'inject';
      this.count = 0;
      try {
        return await run(t);
      } finally {
        this.mode = 'off';
      }
    };
  }

  private reduce(kind: Kind, x: Tensor, dims?: number | number[], keepDim?: boolean): Tensor {
    const o = this.base;
    const spatial = isSpatial(x, dims);
    if (!spatial || this.mode === 'off') return kind === 'mean' ? o.mean(x, dims, keepDim) : o.variance(x, dims as number | number[], keepDim);
    const i = this.count++;
    if (this.mode === 'count') {
      if (x !== this.groupInput) this.groupSizes.push(0);
      this.groupSizes[this.groupSizes.length - 1]++;
      this.groupInput = x;
      return kind === 'mean' ? o.mean(x, dims, keepDim) : o.variance(x, dims as number | number[], keepDim);
    }
    const [N, C] = x.shape;
    if (N !== 1) throw new Error('exact tiling works on one image at a time');
    const shape = keepDim ? [1, C, 1, 1] : [1, C];
    if (this.mode === 'inject' || i < this.known.length) {
      // In the final pass, forward f of a tile (self-ensemble variant f) uses that variant's statistics.
      const list = this.mode === 'inject' ? this.variants[Math.floor(i / this.perForward) % this.variants.length] : this.known;
      const k = list[i % this.perForward];
      if (!k || k.kind !== kind || k.value.length !== C) throw new Error('exact tiling: the network reduced different maps than during the statistics passes');
      return o.tensor(k.value, shape);
    }
    // record: part of the current group if it reduces the same tensor as the group's first call
    if (this.groupInput !== null && x !== this.groupInput) throw new StopForward();
    this.groupInput = x;
    const r = this.region!;
    if (x.shape[2] !== r.h || x.shape[3] !== r.w) {
      throw new Error(`exact tiling needs global statistics at input resolution; this network reduces a ${x.shape[2]}×${x.shape[3]} map for a ${r.h}×${r.w} tile`);
    }
    this.group.push(coreSums(o, x, r, kind));
    // The rest of this forward is not needed once the group is complete.
    if (this.group.length === this.groupSizes[this.groupIndex]) throw new StopForward();
    return kind === 'mean' ? o.mean(x, dims, keepDim) : o.variance(x, dims as number | number[], keepDim);
  }
}

function isSpatial(x: Tensor, dims?: number | number[]): boolean {
  if (x.shape.length !== 4 || dims === undefined) return false;
  const d = (Array.isArray(dims) ? dims : [dims]).map((v) => (v < 0 ? v + 4 : v)).sort();
  return d.length === 2 && d[0] === 2 && d[1] === 3;
}

/** Σx and Σx² per channel over the core region, in float64. */
function coreSums(o: Ops, x: Tensor, r: Region, kind: Kind): { kind: Kind; sum: Float64Array; sq: Float64Array } {
  const C = x.shape[1];
  const h = r.y1 - r.y0, w = r.x1 - r.x0;
  const core = o.tidy(() => o.narrow(o.narrow(x, 2, r.y0, h), 3, r.x0, w));
  const v = o.readSync(core) as Float32Array;
  o.dispose(core);
  const sum = new Float64Array(C), sq = new Float64Array(C);
  const hw = h * w;
  for (let c = 0; c < C; c++) {
    let s = 0, q = 0;
    for (let k = c * hw, e = k + hw; k < e; k++) {
      s += v[k];
      q += v[k] * v[k];
    }
    sum[c] = s;
    sq[c] = q;
  }
  return { kind, sum, sq };
}

function add(a: { sum: Float64Array; sq: Float64Array }, b: { sum: Float64Array; sq: Float64Array }): void {
  for (let c = 0; c < a.sum.length; c++) {
    a.sum[c] += b.sum[c];
    a.sq[c] += b.sq[c];
  }
}

/** A partition of [0, size) into one core per window: boundaries at the middle of each overlap. */
export function cores(plan: AxisPlan, size: number): [number, number][] {
  const { starts, win } = plan;
  const b = [0];
  for (let i = 1; i < starts.length; i++) b.push(Math.floor((starts[i] + starts[i - 1] + win) / 2));
  b.push(size);
  return starts.map((_, i) => [b[i], b[i + 1]]);
}

/** Tiled SR whose result matches the whole-image result also for networks with global statistics. */
export async function runTiledExact(
  stats: GlobalStats, model: SRModel, img: PlanarImage, scale: number, run: TileRunner, opts: TileOptions & { selfEnsemble?: boolean },
): Promise<PlanarImage> {
  const count = planTiles(img.height, img.width, opts.tile, opts.pad).count;
  if (count === 1 || stats.perForward === 0) return runTiled(img, scale, run, opts);
  // Progress counts each tile of each statistics pass as a step, and each final tile as one more.
  const variants = opts.selfEnsemble ? 8 : 1;
  const total = count * (stats.groups * variants + 1);
  let done = 0;
  try {
    await stats.gather(img, model, opts, variants === 8, () => opts.onTile?.(++done, total));
    return await runTiled(img, scale, stats.inject(run), { ...opts, onTile: () => opts.onTile?.(++done, total) });
  } finally {
    stats.clear();
  }
}
