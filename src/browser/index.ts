// Browser entry (`lightsr/browser`): the shared upscale pipeline on TF.js (WebGPU → WebGL → wasm), weights over
// HTTP or from memory, images from Blobs, ImageData or raw pixels. Nothing here imports Node modules, sharp or
// the libtorch addon (a test walks this module's import graph).
import type { TfjsKind, TfjsOptions } from '../backends/tfjs/index.js';
import type { Attempt } from '../engine/policy.js';
import type { RawImage } from '../image/types.js';
import { checkScale, DEFAULT_MODEL, DEFAULT_SCALE, Pipeline, type RunOptions, type WeightsBytes } from '../pipeline/core.js';
import { weightsStem } from '../pipeline/stem.js';
import { startBrowserBackend, type BrowserBackend } from './backend.js';
import { decodeBlob, fromRgba } from './decode.js';
import { fetchWeights } from './weights.js';

export {
  DEFAULT_MODEL, DEFAULT_SCALE, DEFAULT_TILE, DEFAULT_TILE_PAD, Pipeline, checkScale, runOptions,
  type RunOptions, type UpscaleProgress, type WeightsBytes,
} from '../pipeline/core.js';
export { DEFAULT_MAX_PIXELS, SizeLimitError } from '../pipeline/limits.js';
export { weightsStem } from '../pipeline/stem.js';
export { getEntry, listEntries, type ModelEntry, type SRModel } from '../models/index.js';
export { createTfjsOps, type TfjsKind, type TfjsOps, type TfjsOptions } from '../backends/tfjs/index.js';
export { startBackend, type Attempt } from '../engine/policy.js';
export { BROWSER_ORDER, softwareGpu, startBrowserBackend, type BrowserBackend } from './backend.js';
export { decodeBlob, fromRgba } from './decode.js';
export { fetchWeights } from './weights.js';
export type { RawImage, PlanarImage } from '../image/types.js';

export interface BrowserUpscaleOptions extends RunOptions, TfjsOptions {
  /** Registry name (default 'imdn'). */
  model?: string;
  /** Upscaling factor (default 4). */
  scale?: number;
  /** Safetensors weights: a URL (its card, `<url>.json`, is fetched too when present) or the bytes. */
  weights: string | URL | Uint8Array | ArrayBuffer | WeightsBytes;
  /** 'auto' (default) tries WebGPU, WebGL, then wasm. */
  backend?: BrowserBackend;
}

export interface BrowserUpscaleResult {
  image: RawImage;
  tiles: number;
  /** The TF.js backend that ran, and what 'auto' passed over on the way. */
  backend: TfjsKind;
  attempts: Attempt<TfjsKind>[];
}

/** Upscale one image in the browser. For many images, keep a `Pipeline` (see the web page's worker). */
export async function upscale(input: Blob | ImageData | RawImage, opts: BrowserUpscaleOptions): Promise<BrowserUpscaleResult> {
  const model = (opts.model ?? DEFAULT_MODEL).toLowerCase();
  const scale = checkScale(opts.scale ?? DEFAULT_SCALE);
  const image = await toRaw(input);
  const weights = await toWeights(opts.weights);
  const { ops, kind, attempts } = await startBrowserBackend(opts.backend, opts);
  const pipeline = Pipeline.create(ops, model, scale, weights);
  try {
    const r = await pipeline.upscale(image, opts);
    return { image: r.image, tiles: r.tiles, backend: kind, attempts };
  } finally {
    pipeline.dispose();
  }
}

async function toRaw(input: Blob | ImageData | RawImage): Promise<RawImage> {
  if (typeof Blob !== 'undefined' && input instanceof Blob) return decodeBlob(input);
  if ('channels' in input) return input;
  return fromRgba(input as ImageData);
}

async function toWeights(w: BrowserUpscaleOptions['weights']): Promise<WeightsBytes> {
  if (typeof w === 'string' || w instanceof URL) return fetchWeights(String(w));
  if (w instanceof Uint8Array) return { bytes: w, name: '<weights>' };
  if (w instanceof ArrayBuffer) return { bytes: new Uint8Array(w), name: '<weights>' };
  return w;
}

/** Where lightsr's trained weights for `model` ×`scale` are under `base` (a folder URL). */
export function weightsUrl(base: string | URL, model: string, scale: number): string {
  return new URL(`${weightsStem(model, scale)}.safetensors`, base).href;
}
