// TF.js backend entry. Works in Node and in browser bundles: no Node-only imports here. In Node the wasm
// backend finds its .wasm files next to its own module in node_modules (no network); in a browser pass
// `wasmPaths` (a URL prefix or per-file URLs, see setWasmPaths of @tensorflow/tfjs-backend-wasm).
//
// TF.js has one global engine: the backend selected by the last createTfjsOps call is the one that runs.
import * as tf from '@tensorflow/tfjs-core';
import { makeTfjsOps, type TfjsOps } from './ops.js';

export type { TfjsOps } from './ops.js';
export type TfjsKind = 'wasm' | 'cpu' | 'webgl' | 'webgpu';

export interface TfjsOptions {
  /** wasm only: where the .wasm binaries are served (browser). */
  wasmPaths?: string | Record<string, string>;
  /** wasm only: thread count when the multi-threaded binary can run (browser with cross-origin isolation). */
  threads?: number;
}

const KINDS: readonly TfjsKind[] = ['wasm', 'cpu', 'webgl', 'webgpu'];

const inNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function register(kind: TfjsKind, opts: TfjsOptions): Promise<string> {
  switch (kind) {
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (opts.wasmPaths) wasm.setWasmPaths(opts.wasmPaths as string);
      if (opts.threads) wasm.setThreadsCount(opts.threads);
      return '';
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return '';
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return '';
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return '';
  }
}

function details(kind: TfjsKind): string {
  const where = inNode ? 'Node' : 'browser';
  if (kind !== 'wasm') return `tfjs ${kind} (${where})`;
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
  return `tfjs wasm (${where}, ${simd})`;
}

/** TF.js implementation of Ops (inference only). 'cpu' is the pure-JS backend: slow, for tiny tests. */
export async function createTfjsOps(kind: TfjsKind = 'wasm', opts: TfjsOptions = {}): Promise<TfjsOps> {
  if (!KINDS.includes(kind)) throw new Error(`unknown TF.js backend '${String(kind)}' (use one of ${KINDS.join(', ')})`);
  try {
    await register(kind, opts);
    if (!(await tf.setBackend(kind))) throw new Error('initialisation failed');
    await tf.ready();
  } catch (e) {
    throw new Error(`cannot start the TF.js ${kind} backend: ${e instanceof Error ? e.message : String(e)}`);
  }
  return makeTfjsOps(kind, details(kind));
}
