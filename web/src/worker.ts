// Inference worker: the browser adapter over lightsr's shared pipeline (src/browser, src/pipeline/core.ts).
// It adds what a page needs: the wasm binaries' URLs, a network kept across jobs, stage messages, cancel,
// and a PNG of the result. Backend choice is the library's policy; a GPU backend that fails while upscaling
// (lost context, out of memory) is passed over like one that fails to start.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { env } from '@tensorflow/tfjs-core';
import {
  BROWSER_ORDER, createTfjsOps, type Attempt, decodeBlob, fetchWeights, Pipeline, softwareGpu, startBackend, type TfjsKind, type TfjsOps,
} from '../../src/browser/index.js';
import { encodePng } from './png.js';
import { TilePreview, watchReads } from './preview.js';
import { MAX_OUTPUT_PIXELS, type FromWorker, type ToWorker, type UpscaleRequest } from './protocol.js';

const wasmPaths = {
  'tfjs-backend-wasm.wasm': new URL(wasmPlain, self.location.href).href,
  'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, self.location.href).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, self.location.href).href,
};

/** wasm threads: one per core when the page is cross-origin isolated (SharedArrayBuffer); else the binary is single-threaded. */
const threads = self.crossOriginIsolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1;

let ops: TfjsOps | null = null;
let description = '';
/** Backends that failed in this worker (passed over by 'auto' from then on). */
const failed = new Map<TfjsKind, string>();
let net: { key: string; pipeline: Pipeline; watch: ReturnType<typeof watchReads>['watch'] } | null = null;
const running = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, { transfer });
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A backend that cannot run this job: the policy tries the next one. */
class BackendError extends Error {}

function dropNet(): void {
  net?.pipeline.dispose();
  net = null;
}

/** Start `kind` unless it runs already. */
async function useBackend(kind: TfjsKind): Promise<TfjsOps> {
  if (ops?.kind === kind) return ops;
  dropNet(); // its tensors belong to the previous backend
  ops = null;
  try {
    ops = kind === 'wasm' ? await withCoreCount(2 * threads, () => createTfjsOps(kind, { wasmPaths, threads })) : await createTfjsOps(kind, { wasmPaths });
    description = ops.describe();
    if (kind === 'wasm') description = description.replace(/\)$/, `, ${await wasmThreads()})`);
  } catch (e) {
    throw new BackendError(message(e));
  }
  return ops;
}

/**
 * Runs `f` while navigator.hardwareConcurrency reads `n`. TF.js's wasm binary caps its thread pool at half the
 * logical cores (it assumes two hyper-threads per core), read once when the module starts: on a 2-core
 * machine that is 1 thread. Reporting twice the wanted count lets `threads` through the cap.
 */
async function withCoreCount<T>(n: number, f: () => Promise<T>): Promise<T> {
  Object.defineProperty(navigator, 'hardwareConcurrency', { value: n, configurable: true });
  try {
    return await f();
  } finally {
    delete (navigator as { hardwareConcurrency?: number }).hardwareConcurrency; // the prototype's getter again
  }
}

/** 'N threads' when the threaded binary runs, else why it does not. */
async function wasmThreads(): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (!env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')) return 'single-threaded: not cross-origin isolated';
  const n = wasm.getThreadsCount();
  return `threaded, ${n} thread${n === 1 ? '' : 's'}`;
}

async function upscale(req: UpscaleRequest, signal: AbortSignal): Promise<void> {
  const passed: Attempt<TfjsKind>[] = []; // what 'auto' passed over so far, and why
  const skip = async (k: TfjsKind) => {
    const why = failed.get(k) ?? (await softwareGpu(k));
    if (why) passed.push({ kind: k, error: why });
    return why;
  };
  const isBackendError = (e: unknown) => e instanceof BackendError && !signal.aborted;
  const start = (k: TfjsKind) => runOn(k, req, signal, passed).catch((e: unknown) => {
    passed.push({ kind: k, error: message(e) });
    throw e;
  });
  try {
    await startBackend(req.backend, BROWSER_ORDER, start, { skip, isBackendError });
  } catch (e) {
    throw e instanceof BackendError ? new Error(e.message) : e;
  }
}

async function runOn(kind: TfjsKind, req: UpscaleRequest, signal: AbortSignal, passed: Attempt<TfjsKind>[]): Promise<void> {
  const { id } = req;
  signal.throwIfAborted(); // cancelled while queued
  const t0 = performance.now();
  post({ type: 'stage', id, text: `starting the ${kind} backend…` });
  let o: TfjsOps;
  try {
    o = await useBackend(kind);
  } catch (e) {
    failed.set(kind, message(e));
    throw e;
  }
  post({ type: 'backend', id, kind, description, attempts: [...passed, { kind }] });

  const key = `${req.model}|${req.scale}|${req.weightsUrl}`;
  if (net?.key !== key) {
    dropNet();
    post({ type: 'stage', id, text: 'loading weights…' });
    const weights = await fetchWeights(req.weightsUrl, (loaded, total) => {
      const mb = (n: number) => (n / 1048576).toFixed(1);
      post({ type: 'stage', id, text: `loading weights… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB` });
    });
    // The pipeline's reads are watched for the live preview of finished tiles (preview.ts).
    const watched = watchReads(o);
    net = { key, pipeline: Pipeline.create(watched.ops, req.model, req.scale, weights), watch: watched.watch };
  }
  const { pipeline, watch } = net;
  const loadSeconds = (performance.now() - t0) / 1000;
  signal.throwIfAborted();

  const t1 = performance.now();
  post({ type: 'stage', id, text: 'decoding the image…' });
  const img = await decodeBlob(req.image);
  const run = { tile: req.tile, tilePad: req.tilePad, selfEnsemble: req.selfEnsemble, exact: req.exact, signal, maxPixels: MAX_OUTPUT_PIXELS };
  pipeline.checkSize('this image', img.width, img.height, run);
  post({ type: 'stage', id, text: `upscaling ×${req.scale}…` });
  let out;
  const preview = new TilePreview(img.width, img.height, req.scale, req.tile, req.tilePad, (r) =>
    post({ type: 'preview', id, outWidth: img.width * req.scale, outHeight: img.height * req.scale, ...r }, [r.data.buffer as ArrayBuffer]),
  );
  watch(preview.hook);
  try {
    out = await pipeline.upscale(img, { ...run, onProgress: (p) => post({ type: 'progress', id, done: p.tilesDone, total: p.tilesTotal, eta: p.eta }) });
  } catch (e) {
    if (signal.aborted) throw e;
    // A failure inside the network on a GPU backend (lost context, out of memory, missing kernel): try the next.
    failed.set(kind, `${kind} failed while upscaling: ${message(e)}`);
    throw new BackendError(failed.get(kind));
  } finally {
    watch(null);
  }
  const { image, tiles } = out;
  post({ type: 'stage', id, text: 'encoding PNG…' });
  const png = await encodePng(image.data as Uint8Array, image.width, image.height, image.channels as 3 | 4);
  signal.throwIfAborted();
  const runSeconds = (performance.now() - t1) / 1000;
  post(
    { type: 'done', id, png: png.buffer as ArrayBuffer, width: img.width, height: img.height, outWidth: image.width, outHeight: image.height, channels: image.channels, tiles, loadSeconds, runSeconds },
    [png.buffer as ArrayBuffer],
  );
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort(new Error('cancelled'));
    return;
  }
  // Jobs run one after another (one TF.js engine); a job cancelled while queued stops at once.
  const ac = new AbortController();
  running.set(msg.id, ac);
  queue = queue
    .then(() => upscale(msg, ac.signal))
    .catch((e: unknown) => post({ type: 'error', id: msg.id, message: message(e), cancelled: ac.signal.aborted }))
    .finally(() => running.delete(msg.id));
};
