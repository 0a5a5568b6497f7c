// The upscale pipeline, shared by Node (src/upscale.ts: files, sharp, default weights) and the browser
// (src/browser.ts and the web page's worker: fetch, canvas): a network with its weights, then pixels in,
// pixels out — planar conversion, tiles, exact statistics, self-ensemble, alpha and gray handling.
// No Node or sharp imports here.
//
// Colour handling: the network sees RGB in [0,1] (gray is repeated to RGB; 16-bit is divided by 65535).
// Alpha is upscaled separately with MATLAB bicubic and re-attached; gray input gives gray output (BT.601
// luma of the network's RGB); the output has the input's bit depth.
import type { Ops } from '../engine/ops.js';
import { imresizePlanar } from '../image/bicubic.js';
import { lumaPlanar } from '../image/color.js';
import { fromPlanar, toPlanarRGB } from '../image/planar.js';
import { planTiles, runTiled } from '../image/tiling.js';
import type { PlanarImage, RawImage } from '../image/types.js';
import { buildModel, modelFromBytes } from '../models/card.js';
import { predict } from '../models/infer.js';
import { getEntry, type SRModel } from '../models/index.js';
import { GlobalStats, runTiledExact } from './exact.js';
import { checkMaxPixels, checkSize, DEFAULT_MAX_PIXELS } from './limits.js';
import { checkScale } from './scale.js';

export const DEFAULT_MODEL = 'imdn';
export const DEFAULT_SCALE = 4;
/** Core tile side, LR px. */
export const DEFAULT_TILE = 128;
/** Context on each tile side, LR px: covers IMDN's receptive-field radius (27 LR px). */
export const DEFAULT_TILE_PAD = 32;

/** Safetensors weights in memory; `name` identifies them in errors; `card` is the JSON card's text, if any. */
export interface WeightsBytes {
  bytes: Uint8Array;
  name: string;
  card?: string;
}

export interface RunOptions {
  /** Core tile side in LR px (default 128); 0 runs the whole image at once. */
  tile?: number;
  /** Overlap context per tile side in LR px (default 32). */
  tilePad?: number;
  /** ×8 self-ensemble (8× slower). */
  selfEnsemble?: boolean;
  /**
   * Make tiles reproduce the whole-image result for networks with global channel statistics (IMDN's CCA):
   * the statistics are gathered over the whole image first (about 4× slower for IMDN when tiled).
   */
  exact?: boolean;
  /**
   * Refuse inputs or outputs with more pixels than this (default `DEFAULT_MAX_PIXELS`, 16383²; 0 = no limit),
   * checked before any work.
   */
  maxPixels?: number;
  /** Cancels between tiles; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  onProgress?: (p: UpscaleProgress) => void;
}

export interface UpscaleProgress {
  tilesDone: number;
  tilesTotal: number;
  /** Seconds since this image started. */
  elapsed: number;
  /** Estimated seconds left for this image (NaN before the first tile). */
  eta: number;
}

/** Validates the run options once; returns them with defaults filled in. */
export function runOptions(o: RunOptions): Required<Pick<RunOptions, 'tile' | 'tilePad' | 'maxPixels'>> & RunOptions {
  const tile = o.tile ?? DEFAULT_TILE;
  const tilePad = o.tilePad ?? DEFAULT_TILE_PAD;
  for (const [k, v] of [['tile', tile], ['tilePad', tilePad]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${k} must be a non-negative integer, got ${v}`);
  }
  return { ...o, tile, tilePad, maxPixels: checkMaxPixels(o.maxPixels ?? DEFAULT_MAX_PIXELS) };
}

export { checkScale } from './scale.js';

/** A network with its weights on one backend, ready for many images. */
export class Pipeline {
  private probed = false;
  private net: SRModel | null;

  private constructor(readonly ops: Ops, private readonly stats: GlobalStats, net: SRModel, readonly model: string, readonly scale: number) {
    this.net = net;
  }

  /** `model` ×`scale` on `ops` with `weights` (freshly initialised without: for tests and timing only). */
  static create(ops: Ops, model: string, scale: number, weights?: WeightsBytes): Pipeline {
    const name = getEntry(model, checkScale(scale)).name; // unknown names and scales fail here
    // The network is built on an Ops wrapper that can swap in whole-image statistics (exact tiling).
    const stats = new GlobalStats(ops);
    const net = weights
      ? modelFromBytes(stats.ops, name, scale, weights.bytes, weights.name, weights.card)
      : buildModel(stats.ops, getEntry(name, scale), scale);
    return new Pipeline(ops, stats, net, name, scale);
  }

  /** Throws when `name` (width×height) cannot be upscaled under `maxPixels` into `format`; nothing runs. */
  checkSize(name: string, width: number, height: number, opts: RunOptions = {}, format?: string): void {
    checkSize(name, width, height, this.scale, runOptions(opts).maxPixels, format);
  }

  /** Upscale RGB planes in [0,1] (and an optional alpha plane, resized with bicubic). */
  async upscalePlanes(rgb: PlanarImage, alpha: PlanarImage | undefined, options: RunOptions = {}): Promise<{ rgb: PlanarImage; alpha?: PlanarImage; tiles: number }> {
    const net = this.net;
    if (!net) throw new Error('this upscaler has been disposed');
    const opts = runOptions(options);
    checkSize('image', rgb.width, rgb.height, this.scale, opts.maxPixels);
    const t0 = performance.now();
    const tiles = planTiles(rgb.height, rgb.width, opts.tile, opts.tilePad).count;
    const runner = (t: PlanarImage) => predict(this.ops, net, t, { selfEnsemble: opts.selfEnsemble });
    const tileOpts = {
      tile: opts.tile, pad: opts.tilePad, signal: opts.signal,
      onTile: (done: number, total: number) => {
        if (!opts.onProgress) return;
        const elapsed = (performance.now() - t0) / 1000;
        opts.onProgress({ tilesDone: done, tilesTotal: total, elapsed, eta: (elapsed / done) * (total - done) });
      },
    };
    if (opts.exact && !this.probed) {
      this.stats.probe(net);
      this.probed = true;
    }
    const sr = opts.exact
      ? await runTiledExact(this.stats, net, rgb, this.scale, runner, { ...tileOpts, selfEnsemble: opts.selfEnsemble })
      : await runTiled(rgb, this.scale, runner, tileOpts);
    const big = alpha ? imresizePlanar(alpha, this.scale, { outH: sr.height, outW: sr.width }) : undefined;
    opts.signal?.throwIfAborted();
    return big ? { rgb: sr, alpha: big, tiles } : { rgb: sr, tiles };
  }

  /** Upscale an image (gray, gray+alpha, RGB or RGBA; 8 or 16 bits): same channels and depth out. */
  async upscale(image: RawImage, opts: RunOptions = {}): Promise<{ image: RawImage; tiles: number }> {
    const { rgb, alpha } = toPlanarRGB(image);
    const sr = await this.upscalePlanes(rgb, alpha, opts);
    const gray = image.channels <= 2;
    return { image: fromPlanar(gray ? lumaPlanar(sr.rgb) : sr.rgb, sr.alpha, image.bitDepth), tiles: sr.tiles };
  }

  dispose(): void {
    this.net?.dispose();
    this.net = null;
  }
}
