// Library API (Node): upscale any image (file, encoded buffer or raw pixels) with a lightsr network.
// The pipeline itself (tiles, exact statistics, alpha, gray) is src/pipeline/core.ts, shared with the browser;
// this adapter adds decoding and encoding (sharp), default weights, limits checked from the header, and atomic
// writes. EXIF orientation is applied on decode and the ICC profile is carried over unchanged.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { getOps, type BackendName } from './engine/select.js';
import type { Ops } from './engine/ops.js';
import { decodeImage, formatFromPath, probeImage, readFileBytes, writeImage } from './image/io.js';
import type { RawImage } from './image/types.js';
import { readWeightsFile } from './models/load.js';
import { checkScale, DEFAULT_MODEL, DEFAULT_SCALE, Pipeline, runOptions, type RunOptions as CoreRunOptions } from './pipeline/core.js';
import { getEntry } from './models/index.js';
import { resolveWeights } from './upscale/weights.js';

export { DEFAULT_MAX_PIXELS } from './pipeline/limits.js';
export { DEFAULT_MODEL, DEFAULT_SCALE, DEFAULT_TILE, DEFAULT_TILE_PAD, Pipeline, type UpscaleProgress, type WeightsBytes } from './pipeline/core.js';
export { defaultWeightsPath, packageRoot, resolveWeights } from './upscale/weights.js';

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

export interface RunOptions extends CoreRunOptions {
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
  private constructor(private readonly pipeline: Pipeline, readonly weights: string) {}

  get ops(): Ops {
    return this.pipeline.ops;
  }

  get model(): string {
    return this.pipeline.model;
  }

  get scale(): number {
    return this.pipeline.scale;
  }

  static async create(opts: ModelOptions = {}): Promise<Upscaler> {
    const model = (opts.model ?? DEFAULT_MODEL).toLowerCase();
    const scale = checkScale(opts.scale ?? DEFAULT_SCALE);
    getEntry(model, scale); // unknown names and scales fail here, before looking for weights
    const weights = resolveWeights(model, scale, opts.weights, opts.weightsDir);
    const ops = await getOps(opts.backend);
    const file = await readWeightsFile(weights);
    return new Upscaler(Pipeline.create(ops, model, scale, { ...file, name: weights }), weights);
  }

  /** Upscale one image; see `upscale`. */
  async run(input: UpscaleInput, opts: RunOptions = {}): Promise<UpscaleResult> {
    const t0 = performance.now();
    const { maxPixels } = runOptions(opts); // bad options fail before any file is read
    const out = typeof opts.output === 'string' ? { path: opts.output } : opts.output;
    const format = out ? out.format ?? formatFromPath(out.path) : undefined;
    if (out) checkOutputPath(out, typeof input === 'string' ? input : undefined);

    // Every limit is checked from the header, before decoding or running anything.
    const src = await open(input);
    this.pipeline.checkSize(src.name, src.width, src.height, opts, format);
    const { image, icc } = src.image ? { image: src.image, icc: undefined } : await decodeImage(src.bytes!, src.name, { maxPixels });
    const { image: result, tiles } = await this.pipeline.upscale(image, opts);

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
    this.pipeline.dispose();
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
    throw new Error(`'${out.path}' already exists (set overwrite to replace it)`);
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
