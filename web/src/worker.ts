// Inference worker: TF.js backend (WebGPU → WebGL → wasm when 'auto'), weights fetched from the page's server,
// the same tiling (src/image/tiling.ts, src/upscale/exact.ts) and pixel conversions as `lightsr upscale`.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { createTfjsOps, type TfjsKind, type TfjsOps } from '../../src/backends/tfjs/index.js';
import { imresizePlanar } from '../../src/image/bicubic.js';
import { fromPlanar } from '../../src/image/planar.js';
import { planTiles, runTiled } from '../../src/image/tiling.js';
import type { PlanarImage } from '../../src/image/types.js';
import { predict } from '../../src/models/infer.js';
import '../../src/models/index.js';
import type { SRModel } from '../../src/models/registry.js';
import { GlobalStats, runTiledExact } from '../../src/upscale/exact.js';
import { encodePng } from './png.js';
import { decodeBlob, toPlanar } from './pixels.js';
import type { BackendAttempt, BackendChoice, FromWorker, ToWorker, UpscaleRequest } from './protocol.js';
import { loadModelFromUrl } from './weights.js';

const AUTO_ORDER: TfjsKind[] = ['webgpu', 'webgl', 'wasm'];
/** Output size limit: the float result alone takes 12 bytes per output pixel. */
const MAX_OUTPUT_PIXELS = 64e6;

const wasmPaths = {
  'tfjs-backend-wasm.wasm': new URL(wasmPlain, self.location.href).href,
  'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, self.location.href).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, self.location.href).href,
};

interface Net {
  key: string;
  model: SRModel;
  stats: GlobalStats;
  probed: boolean;
}

let ops: TfjsOps | null = null;
/** Backends that failed in this worker (not tried again in 'auto'). */
const failed = new Map<TfjsKind, string>();
let net: Net | null = null;
const running = new Map<number, AbortController>();

const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, { transfer });
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function dropNet(): void {
  net?.model.dispose();
  net = null;
}

/** Start `kind` unless it runs already. */
async function useBackend(kind: TfjsKind): Promise<TfjsOps> {
  if (ops?.kind === kind) return ops;
  dropNet(); // its tensors belong to the previous backend
  ops = null;
  ops = await createTfjsOps(kind, { wasmPaths });
  return ops;
}

/** The backends to try for a choice, in order, with the ones known to have failed left out of 'auto'. */
function candidates(choice: BackendChoice): TfjsKind[] {
  return choice === 'auto' ? AUTO_ORDER : [choice];
}

async function upscale(req: UpscaleRequest, signal: AbortSignal): Promise<void> {
  const attempts: BackendAttempt[] = [];
  const kinds = candidates(req.backend);
  for (let k = 0; k < kinds.length; k++) {
    const kind = kinds[k];
    const last = k === kinds.length - 1;
    const known = failed.get(kind);
    if (known && !last) {
      attempts.push({ kind, error: known });
      continue;
    }
    const soft = req.backend === 'auto' && !last ? await softwareGpu(kind) : null;
    if (soft) {
      failed.set(kind, soft);
      attempts.push({ kind, error: soft });
      continue;
    }
    try {
      await runOn(kind, req, signal, attempts);
      return;
    } catch (e) {
      // Only an unusable backend falls through to the next one; bad input, missing weights or a cancel stop here.
      if (signal.aborted || !(e instanceof BackendError) || last) throw e instanceof BackendError ? new Error(e.message) : e;
      failed.set(kind, e.message);
      attempts.push({ kind, error: e.message });
    }
  }
}

class BackendError extends Error {}

/**
 * Why 'auto' should pass over a GPU backend that would start: a software implementation (SwiftShader,
 * llvmpipe, WebGPU fallback adapter) is much slower than wasm. Null when the backend looks like real hardware.
 */
async function softwareGpu(kind: TfjsKind): Promise<string | null> {
  if (kind === 'webgpu') {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean; description?: string } } | null> } }).gpu;
    if (!gpu) return null; // the backend reports the missing API itself
    const adapter = await gpu.requestAdapter().catch(() => null);
    return adapter?.info?.isFallbackAdapter ? `software adapter${adapter.info.description ? ` (${adapter.info.description})` : ''}; wasm is faster` : null;
  }
  if (kind === 'webgl') {
    const gl = typeof OffscreenCanvas === 'undefined' ? null : new OffscreenCanvas(1, 1).getContext('webgl2');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? `software renderer (${renderer}); wasm is faster` : null;
  }
  return null;
}

async function runOn(kind: TfjsKind, req: UpscaleRequest, signal: AbortSignal, attempts: BackendAttempt[]): Promise<void> {
  const { id } = req;
  const t0 = performance.now();
  post({ type: 'stage', id, text: `starting the ${kind} backend…` });
  let o: TfjsOps;
  try {
    o = await useBackend(kind);
  } catch (e) {
    throw new BackendError(message(e));
  }
  post({ type: 'backend', id, kind, description: o.describe(), attempts: [...attempts, { kind }] });

  const key = `${req.model}|${req.scale}|${req.weightsUrl}`;
  if (net?.key !== key) {
    dropNet();
    post({ type: 'stage', id, text: 'loading weights…' });
    // The network is built on an Ops wrapper that can swap in global statistics (exact tiling), as in the CLI.
    const stats = new GlobalStats(o);
    const model = await loadModelFromUrl(stats.ops, req.model, req.scale, req.weightsUrl, (loaded, total) => {
      const mb = (n: number) => (n / 1048576).toFixed(1);
      post({ type: 'stage', id, text: `loading weights… ${mb(loaded)}${total ? ` / ${mb(total)}` : ''} MB` });
    });
    net = { key, model, stats, probed: false };
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  signal.throwIfAborted();

  const t1 = performance.now();
  post({ type: 'stage', id, text: 'decoding the image…' });
  const img = await decodeBlob(req.image);
  const outPixels = img.width * img.height * req.scale * req.scale;
  if (outPixels > MAX_OUTPUT_PIXELS) {
    throw new Error(`the result would be ${(outPixels / 1e6).toFixed(0)} megapixels, more than this page handles (${MAX_OUTPUT_PIXELS / 1e6}); use the lightsr CLI`);
  }
  const { rgb, alpha } = toPlanar(img);
  const cur = net!;
  const tiles = planTiles(rgb.height, rgb.width, req.tile, req.tilePad).count;
  const runner = (t: PlanarImage) => predict(o, cur.model, t, { selfEnsemble: req.selfEnsemble });
  const tileOpts = {
    tile: req.tile, pad: req.tilePad, signal,
    onTile: (done: number, total: number) => post({ type: 'progress', id, done, total }),
  };
  post({ type: 'stage', id, text: `upscaling ×${req.scale}…` });
  let sr: PlanarImage;
  try {
    if (req.exact && !cur.probed) {
      cur.stats.probe(cur.model);
      cur.probed = true;
    }
    // With the self-ensemble, exact tiling gathers statistics per dihedral variant (as the CLI does).
    const exactOpts = { ...tileOpts, selfEnsemble: req.selfEnsemble };
    sr = req.exact
      ? await runTiledExact(cur.stats, cur.model, rgb, req.scale, runner, exactOpts)
      : await runTiled(rgb, req.scale, runner, tileOpts);
  } catch (e) {
    if (signal.aborted) throw e;
    // A failure inside the network on a GPU backend (lost context, out of memory, missing kernel): try the next.
    throw new BackendError(`${kind} failed while upscaling: ${message(e)}`);
  }
  const a = alpha ? imresizePlanar(alpha, req.scale, { outH: sr.height, outW: sr.width }) : undefined;
  const out = fromPlanar(sr, a, 8);
  post({ type: 'stage', id, text: 'encoding PNG…' });
  const png = await encodePng(out.data as Uint8Array, out.width, out.height, out.channels as 3 | 4);
  signal.throwIfAborted();
  const runSeconds = (performance.now() - t1) / 1000;
  post(
    { type: 'done', id, png: png.buffer as ArrayBuffer, width: img.width, height: img.height, outWidth: sr.width, outHeight: sr.height, tiles, loadSeconds, runSeconds },
    [png.buffer as ArrayBuffer],
  );
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'cancel') {
    running.get(msg.id)?.abort(new Error('cancelled'));
    return;
  }
  const ac = new AbortController();
  running.set(msg.id, ac);
  upscale(msg, ac.signal)
    .catch((e: unknown) => post({ type: 'error', id: msg.id, message: message(e), cancelled: ac.signal.aborted }))
    .finally(() => running.delete(msg.id));
};
