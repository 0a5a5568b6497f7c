// Live preview of finished tiles, worker side.
//
// The pipeline reports only tile counts (onProgress), not pixels, so the worker watches the network outputs
// as they are read back: the Ops given to the pipeline are wrapped so that every `read` of a tensor shaped
// like one tile's output ([1, 3, window·s, window·s]) is handed to a TilePreview. Tiles are run in row-major
// order (runTiled, and the final pass of exact tiling; the statistics passes of exact tiling stop before the
// output and read nothing of that shape), so the k-th such read is tile k of the plan. Each tile's preview is
// the part of its window it "owns" (up to the middle of each overlap, away from the zero-padded edges),
// converted to 8-bit RGBA. The final image (blended overlaps, alpha, gray) replaces the preview when done.
//
// If the pipeline ever reads tiles differently, the only effect is that no preview (or a wrong-order one)
// appears during the run; the result is untouched.
import type { Ops, Tensor } from '../../src/engine/ops.js';
import { planTiles, type AxisPlan } from '../../src/image/tiling.js';

export interface PreviewRect {
  /** Output (HR) pixel rectangle. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** RGBA, 8 bits, `width·height·4` bytes. */
  data: Uint8ClampedArray<ArrayBuffer>;
}

type ReadHook = (t: Tensor, data: Float32Array | Int32Array) => void;

/** `ops` with every `read` result also passed to the current hook (set with `watch`; none by default). */
export function watchReads<O extends Ops>(ops: O): { ops: O; watch(hook: ReadHook | null): void } {
  let hook: ReadHook | null = null;
  const read = async (t: Tensor) => {
    const data = await ops.read(t);
    if (hook) {
      try {
        hook(t, data);
      } catch {
        // A preview problem never fails the upscale.
      }
    }
    return data;
  };
  const wrapped = new Proxy(ops, {
    get(target, p) {
      if (p === 'read') return read;
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { ops: wrapped, watch: (h) => void (hook = h) };
}

/** HR [lo, hi) owned by each window of an axis: from the middle of the overlap before to the middle of the one after. */
export function ownedRanges(plan: AxisPlan, size: number, scale: number): [number, number][] {
  const { starts, win } = plan;
  const cuts = [0];
  for (let k = 1; k < starts.length; k++) cuts.push(Math.round((scale * (starts[k] + starts[k - 1] + win)) / 2));
  cuts.push(size * scale);
  return starts.map((_, k) => [cuts[k], cuts[k + 1]]);
}

/** Turns the tile outputs of one run (LR `width`×`height`, ×`scale`, tiling `tile`/`pad`) into preview rectangles. */
export class TilePreview {
  private readonly nx: number;
  private readonly count: number;
  private readonly xs: AxisPlan;
  private readonly ys: AxisPlan;
  private readonly ox: [number, number][];
  private readonly oy: [number, number][];
  private seen = 0;

  constructor(width: number, height: number, private readonly scale: number, tile: number, pad: number, private readonly emit: (r: PreviewRect) => void) {
    const grid = planTiles(height, width, tile, pad);
    this.xs = grid.xs;
    this.ys = grid.ys;
    this.nx = grid.xs.starts.length;
    this.count = grid.count;
    this.ox = ownedRanges(grid.xs, width, scale);
    this.oy = ownedRanges(grid.ys, height, scale);
  }

  /** A `read` hook: tile outputs become preview rectangles, anything else is ignored. */
  readonly hook: ReadHook = (t, data) => {
    const [n, c, h, w] = t.shape;
    const th = this.ys.win * this.scale;
    const tw = this.xs.win * this.scale;
    if (t.shape.length !== 4 || n !== 1 || c !== 3 || h !== th || w !== tw || this.seen >= this.count) return;
    const k = this.seen++;
    const j = Math.floor(k / this.nx);
    const i = k % this.nx;
    const [x0, x1] = this.ox[i];
    const [y0, y1] = this.oy[j];
    // Window origin in HR px: the owned rectangle in window coordinates starts at (x0 - wx, y0 - wy).
    const wx = this.xs.starts[i] * this.scale;
    const wy = this.ys.starts[j] * this.scale;
    this.emit(toRgba(data as Float32Array, tw, th, x0 - wx, y0 - wy, x1 - x0, y1 - y0, x0, y0));
  };
}

/** The rectangle (rx, ry, width, height) of a planar RGB [3, th, tw] tile in [0,1] as RGBA 8-bit, placed at (x, y). */
function toRgba(px: Float32Array, tw: number, th: number, rx: number, ry: number, width: number, height: number, x: number, y: number): PreviewRect {
  const data = new Uint8ClampedArray(width * height * 4);
  const plane = tw * th;
  for (let yy = 0; yy < height; yy++) {
    const src = (ry + yy) * tw + rx;
    let o = yy * width * 4;
    for (let xx = 0; xx < width; xx++, o += 4) {
      data[o] = px[src + xx] * 255; // the clamped array clamps to [0, 255] and rounds
      data[o + 1] = px[plane + src + xx] * 255;
      data[o + 2] = px[2 * plane + src + xx] * 255;
      data[o + 3] = 255;
    }
  }
  return { x, y, width, height, data };
}
