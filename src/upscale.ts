// Library API: upscale any image (file, encoded buffer or raw pixels) with a lightsr network, tile by tile.
//
// Colour handling: the network sees RGB in [0,1] (gray is repeated to RGB; 16-bit is divided by 65535, so
// the network gets the same float range as for 8-bit). Alpha is upscaled separately with MATLAB bicubic and
// re-attached; gray input gives gray output (BT.601 luma of the network's RGB); 16-bit input gives 16-bit
// output (in PNG); EXIF orientation is applied on decode and the ICC profile is carried over unchanged.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { getOps, type BackendName } from './engine/select.js';
import type { Ops } from './engine/ops.js';
import { imresizePlanar } from './image/bicubic.js';
import { decodeImage, formatFromPath, fromPlanar, probeImage, readFileBytes, toPlanarRGB, writeImage } from './image/io.js';
import { planTiles, runTiled } from './image/tiling.js';
import type { PlanarImage, RawImage } from './image/types.js';
import { loadModel } from './models/load.js';
import { predict } from './models/infer.js';
import { getEntry, type SRModel } from './models/registry.js';
import { GlobalStats, runTiledExact } from './upscale/exact.js';
import { checkMaxPixels, checkSize, DEFAULT_MAX_PIXELS } from './upscale/limits.js';
import { resolveWeights } from './upscale/weights.js';
import './models/index.js';

export { DEFAULT_MAX_PIXELS } from './upscale/limits.js';
export { defaultWeightsPath, packageRoot, resolveWeights } from './upscale/weights.js';

export const DEFAULT_MODEL = 'imdn';
export const DEFAULT_SCALE = 4;
/** Core tile side, LR px. */
export const DEFAULT_TILE = 128;
/** Context on each tile side, LR px: covers IMDN's receptive-field radius (27 LR px). */
export const DEFAULT_TILE_PAD = 32;

export type OutputFormat = 'png' | 'jpeg' | 'webp';

export interface ModelOptions {
  /** Registry name (default 'imdn'). */
  model?: string;
  /** Upscaling factor (default 4). */
  scale?: number;
  /** Safetensors file; default: the installed `weights/<model>_x<scale>.safetensors`. */
  weights?: string;
  /** Engine backend (default: LIGHTSR_BACKEND or 'auto'). */
  backend?: BackendName;
  /** Folder holding the default weights (default: `<package root>/weights`). */
  weightsDir?: string;
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
   * checked from the header before decoding.
   */
  maxPixels?: number;
  /** Cancels between tiles; the promise rejects with the signal's reason and nothing is written. */
  signal?: AbortSignal;
  onProgress?: (p: UpscaleProgress) => void;
  /** Write the result here (atomically) instead of returning pixels. */
  output?: string | OutputOptions;
}

export interface OutputOptions {
  path: string;
  /** Default: from the extension. */
  format?: OutputFormat;
  /** JPEG/WebP quality 1–100 (default 95). */
  quality?: number;
  /** Replace an existing file (never an input file). */
  overwrite?: boolean;
}

export type UpscaleOptions = ModelOptions & RunOptions;

export interface UpscaleProgress {
  tilesDone: number;
  tilesTotal: number;
  /** Seconds since this image started. */
  elapsed: number;
  /** Estimated seconds left for this image (NaN before the first tile). */
  eta: number;
}

export interface UpscaleResult {
  /** The upscaled pixels (when no `output` was given). */
  image?: RawImage;
  /** ICC profile of the input, to embed when encoding `image`. */
  icc?: Uint8Array;
  /** The written file (when `output` was given). */
  output?: string;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  channels: number;
  bitDepth: 8 | 16;
  model: string;
  scale: number;
  tiles: number;
  seconds: number;
}

export type UpscaleInput = string | Uint8Array | RawImage;

/** A loaded network, reusable for many images (one `Upscaler` per batch). */
export class Upscaler {
  private probed = false;

  private constructor(
    readonly ops: Ops,
    private readonly stats: GlobalStats,
    private net: SRModel | null,
    readonly model: string,
    readonly scale: number,
    readonly weights: string,
  ) {}

  static async create(opts: ModelOptions = {}): Promise<Upscaler> {
    const model = (opts.model ?? DEFAULT_MODEL).toLowerCase();
    const scale = opts.scale ?? DEFAULT_SCALE;
    if (!Number.isInteger(scale) || scale < 1) throw new Error(`scale must be a positive integer, got ${scale}`);
    getEntry(model, scale); // unknown names and scales fail here, before looking for weights
    const weights = resolveWeights(model, scale, opts.weights, opts.weightsDir);
    const ops = await getOps(opts.backend);
    // The network is built on an Ops wrapper that can swap its global statistics (exact tiling).
    const stats = new GlobalStats(ops);
    const net = await loadModel(stats.ops, model, scale, weights);
    return new Upscaler(ops, stats, net, model, scale, weights);
  }

  /** Upscale one image; see `upscale`. */
  async run(input: UpscaleInput, opts: RunOptions = {}): Promise<UpscaleResult> {
    const net = this.net;
    if (!net) throw new Error('this Upscaler has been disposed');
    const t0 = performance.now();
    const maxPixels = checkMaxPixels(opts.maxPixels ?? DEFAULT_MAX_PIXELS);
    const out = typeof opts.output === 'string' ? { path: opts.output } : opts.output;
    const format = out ? out.format ?? formatFromPath(out.path) : undefined;
    if (out) checkOutputPath(out, typeof input === 'string' ? input : undefined);

    // Every limit is checked from the header, before decoding or running anything.
    const src = await open(input);
    checkSize(src.name, src.width, src.height, this.scale, maxPixels, format);
    const { image, icc } = src.image ? { image: src.image, icc: undefined } : await decodeImage(src.bytes!, src.name, { maxPixels });
    const { rgb, alpha } = toPlanarRGB(image);
    const tile = opts.tile ?? DEFAULT_TILE;
    const pad = opts.tilePad ?? DEFAULT_TILE_PAD;
    const tiles = planTiles(rgb.height, rgb.width, tile, pad).count;
    const runner = (t: PlanarImage) => predict(this.ops, net, t, { selfEnsemble: opts.selfEnsemble });
    const tileOpts = {
      tile, pad, signal: opts.signal,
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
    const bigAlpha = alpha ? imresizePlanar(alpha, this.scale, { outH: sr.height, outW: sr.width }) : undefined;
    const gray = image.channels <= 2;
    const result = fromPlanar(gray ? luma(sr) : sr, bigAlpha, image.bitDepth);
    opts.signal?.throwIfAborted();

    const info = {
      width: image.width, height: image.height, outWidth: result.width, outHeight: result.height,
      channels: result.channels, bitDepth: result.bitDepth, model: this.model, scale: this.scale, tiles,
    };
    if (out) {
      await writeImage(out.path, result, { format, quality: out.quality, icc, signal: opts.signal });
      return { ...info, output: out.path, seconds: (performance.now() - t0) / 1000 };
    }
    const r: UpscaleResult = { ...info, image: result, seconds: (performance.now() - t0) / 1000 };
    if (icc) r.icc = icc;
    return r;
  }

  dispose(): void {
    this.net?.dispose();
    this.net = null;
  }
}

/**
 * Upscale `input` (a file path, an encoded image in memory, or raw pixels). Returns the pixels, or writes
 * `output` atomically and returns its path.
 */
export async function upscale(input: UpscaleInput, opts: UpscaleOptions = {}): Promise<UpscaleResult> {
  const up = await Upscaler.create(opts);
  try {
    return await up.run(input, opts);
  } finally {
    up.dispose();
  }
}

/** The input's name and size, with its bytes (files, buffers) or pixels (raw images); nothing decoded yet. */
async function open(input: UpscaleInput): Promise<{ name: string; width: number; height: number; bytes?: Uint8Array; image?: RawImage }> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const name = typeof input === 'string' ? input : '<buffer>';
    const bytes = typeof input === 'string' ? await readFileBytes(input) : input;
    const { width, height } = await probeImage(bytes, name);
    return { name, width, height, bytes };
  }
  return { name: '<pixels>', width: input.width, height: input.height, image: input };
}

/** Refuse to replace an input, or (without `overwrite`) any existing file. */
function checkOutputPath(out: OutputOptions, input?: string): void {
  if (input !== undefined && samePath(input, out.path)) {
    throw new Error(`refusing to write '${out.path}': it is the input file (choose another output path)`);
  }
  if (!out.overwrite && existsSync(out.path)) {
    throw new Error(`'${out.path}' already exists (pass --overwrite to replace it)`);
  }
  const dir = path.dirname(out.path);
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot write '${out.path}': the folder '${dir}' ${code === 'ENOENT' ? 'does not exist' : 'is not writable'}`);
  }
}

/** True when both paths name the same existing file (also through symlinks and hard links). */
export function samePath(a: string, b: string): boolean {
  try {
    const sa = statSync(a), sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false; // one of them does not exist
  }
}

/** BT.601 luma of an RGB planar image, as a 1-channel image. */
function luma(img: PlanarImage): PlanarImage {
  const n = img.height * img.width;
  const d = img.data;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * d[i] + 0.587 * d[n + i] + 0.114 * d[2 * n + i];
  return { channels: 1, height: img.height, width: img.width, data: y };
}
