// Tiled super-resolution with seamless, bounded-memory stitching.
//
// The LR image is cut into overlapping windows that all share one shape: `tile + 2·pad` per side (or the
// whole side when the image is smaller). Windows are spread evenly, so the last ones are shifted inward
// instead of being cut short. Each window's SR output is accumulated into one preallocated Float32 image
// with separable weights: a window's weight is 0 within `pad` LR px of an inner edge (where its receptive
// field saw zero padding instead of image), then a linear ramp across the rest of the overlap, then 1.
// Weights are normalised per axis, so every output pixel is a convex combination of windows that saw at
// least `pad` px of real context around it: with `pad` ≥ the network's receptive-field radius, the tiled
// output equals the whole-image output (up to float rounding) for any purely local network.
import type { PlanarImage } from './types.js';

export interface TileOptions {
  /** Core tile side in LR px; 0 runs the whole image in one piece. */
  tile: number;
  /** Overlap context on each side, in LR px. */
  pad: number;
  signal?: AbortSignal;
  /** Called after each tile with (tiles done, tiles total). */
  onTile?: (done: number, total: number) => void;
}

/** Runs the network on one LR tile [C,h,w] and returns its SR output [C',h·s,w·s]. */
export type TileRunner = (tile: PlanarImage) => PlanarImage | Promise<PlanarImage>;

export interface AxisPlan {
  /** Window length (shared by all windows on this axis). */
  win: number;
  /** Window starts, increasing; the first is 0 and the last ends at the image edge. */
  starts: number[];
}

/** Window layout along one axis of length `size`. */
export function planAxis(size: number, tile: number, pad: number): AxisPlan {
  if (!(size >= 1)) throw new Error(`image side must be ≥ 1 px (got ${size})`);
  if (tile < 0 || pad < 0 || !Number.isInteger(tile) || !Number.isInteger(pad)) {
    throw new Error(`tile (${tile}) and tile pad (${pad}) must be non-negative integers`);
  }
  const win = tile === 0 ? size : Math.min(size, tile + 2 * pad);
  if (win === size) return { win, starts: [0] };
  // Stride ≤ tile keeps every overlap ≥ 2·pad.
  const n = Math.ceil((size - win) / tile) + 1;
  const step = (size - win) / (n - 1);
  const starts = Array.from({ length: n }, (_, i) => Math.round(i * step));
  return { win, starts };
}

/**
 * Per-window blending weights along one axis, in HR px (length win·scale each), normalised so that the
 * weights of all windows covering an output pixel sum to 1.
 */
export function axisWeights(plan: AxisPlan, pad: number, scale: number): Float32Array[] {
  const { win, starts } = plan;
  const n = starts.length;
  const len = win * scale;
  const raw = starts.map((s, i) => {
    const w = new Float64Array(len);
    for (let x = 0; x < len; x++) {
      const u = s + (x + 0.5) / scale; // LR coordinate of this HR pixel's centre (never an integer)
      let v = 1;
      if (i > 0) v *= ramp(u, s + pad, starts[i - 1] + win - pad); // rising over the overlap with i-1
      if (i < n - 1) v *= 1 - ramp(u, starts[i + 1] + pad, s + win - pad); // falling towards i+1
      w[x] = v;
    }
    return w;
  });
  const total = new Float64Array(plan.starts[n - 1] * scale + len);
  raw.forEach((w, i) => w.forEach((v, x) => (total[starts[i] * scale + x] += v)));
  return raw.map((w, i) => Float32Array.from(w, (v, x) => (v === 0 ? 0 : v / total[starts[i] * scale + x])));
}

/** 0 before a, 1 after b, linear in between (a step at a when the ramp is empty). */
function ramp(u: number, a: number, b: number): number {
  if (b <= a) return u >= a ? 1 : 0;
  return Math.min(1, Math.max(0, (u - a) / (b - a)));
}

export interface TileGrid {
  ys: AxisPlan;
  xs: AxisPlan;
  count: number;
}

export function planTiles(height: number, width: number, tile: number, pad: number): TileGrid {
  const ys = planAxis(height, tile, pad);
  const xs = planAxis(width, tile, pad);
  return { ys, xs, count: ys.starts.length * xs.starts.length };
}

/** Copy the window [y0, y0+h) × [x0, x0+w) of a planar image. */
export function cropPlanar(img: PlanarImage, y0: number, x0: number, h: number, w: number): PlanarImage {
  const out = new Float32Array(img.channels * h * w);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = (c * img.height + y0 + y) * img.width + x0;
      out.set(img.data.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return { channels: img.channels, height: h, width: w, data: out };
}

/**
 * Super-resolve `img` tile by tile. Memory: the output image plus one tile in flight.
 * Cancelling `signal` stops between tiles with the signal's reason (an AbortError by default).
 */
export async function runTiled(img: PlanarImage, scale: number, run: TileRunner, opts: TileOptions): Promise<PlanarImage> {
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer (got ${scale})`);
  const grid = planTiles(img.height, img.width, opts.tile, opts.pad);
  const { ys, xs } = grid;
  const wy = axisWeights(ys, opts.pad, scale);
  const wx = axisWeights(xs, opts.pad, scale);
  const H = img.height * scale;
  const W = img.width * scale;
  const th = ys.win * scale;
  const tw = xs.win * scale;
  let out: Float32Array | null = null;
  let channels = 0;
  let done = 0;
  opts.signal?.throwIfAborted();
  for (let j = 0; j < ys.starts.length; j++) {
    for (let i = 0; i < xs.starts.length; i++) {
      const y0 = ys.starts[j];
      const x0 = xs.starts[i];
      const sr = await run(cropPlanar(img, y0, x0, ys.win, xs.win));
      if (sr.height !== th || sr.width !== tw) {
        throw new Error(`the network returned a ${sr.width}×${sr.height} tile for a ${xs.win}×${ys.win} input; expected ×${scale} (${tw}×${th})`);
      }
      if (!out) {
        channels = sr.channels;
        out = new Float32Array(channels * H * W);
      } else if (sr.channels !== channels) {
        throw new Error(`the network returned ${sr.channels} channels for one tile and ${channels} for another`);
      }
      checkFinite(sr, `tile ${done + 1} of ${grid.count} (LR x ${x0}, y ${y0})`);
      accumulate(out, H, W, sr, y0 * scale, x0 * scale, wy[j], wx[i]);
      done++;
      opts.onTile?.(done, grid.count);
      if (done < grid.count) await yieldToEvents(opts.signal);
    }
  }
  return { channels, height: H, width: W, data: out! };
}

/**
 * Let the event loop run (signal handlers, worker messages) between tiles, then stop if cancelled.
 * Network forwards are synchronous, so without this a cancel would be seen only after the last tile.
 */
export async function yieldToEvents(signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  signal?.throwIfAborted();
}

/** Throws when a network output holds NaN or ±Inf (corrupt weights or a numerical blow-up): never a black image. */
export function checkFinite(t: PlanarImage, where: string): void {
  const d = t.data;
  let bad = 0;
  for (let k = 0; k < d.length; k++) if (!Number.isFinite(d[k])) bad++;
  if (bad > 0) throw new Error(`the network produced ${bad} non-finite values (NaN/Inf) in ${where}; the weights are probably corrupt`);
}

function accumulate(out: Float32Array, H: number, W: number, t: PlanarImage, Y0: number, X0: number, wy: Float32Array, wx: Float32Array): void {
  for (let c = 0; c < t.channels; c++) {
    for (let y = 0; y < t.height; y++) {
      const a = wy[y];
      if (a === 0) continue;
      const src = (c * t.height + y) * t.width;
      const dst = (c * H + Y0 + y) * W + X0;
      for (let x = 0; x < t.width; x++) {
        const b = wx[x];
        if (b !== 0) out[dst + x] += t.data[src + x] * a * b;
      }
    }
  }
}
