// Backend choice, one policy for the library and the CLI:
// an explicit name (API option or --backend) > env LIGHTSR_BACKEND > 'auto'. Unknown names are errors.
// 'auto' prefers torch and falls back to tfjs (the reason is kept and announced to onFallback listeners);
// 'onnx' (onnxruntime-node, inference only) is explicit only: 'auto' never picks it;
// an explicit backend that cannot be loaded is an error that says why and how to fix it.
import type { Ops } from './ops.js';
import { startBackend } from './policy.js';

export const BACKENDS = ['torch', 'tfjs', 'onnx', 'auto'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Checks a backend name; `source` says where it came from in the error (e.g. '--backend'). */
export function parseBackend(value: string, source = 'backend'): BackendName {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`${source} '${value}' is not a backend (valid: ${BACKENDS.join(', ')})`);
}

/** The backend to use: `explicit` if given, else LIGHTSR_BACKEND (from `env`), else 'auto'. */
export function resolveBackend(explicit?: string, env: Record<string, string | undefined> = process.env): BackendName {
  if (explicit !== undefined) return parseBackend(explicit);
  const v = env.LIGHTSR_BACKEND;
  return v ? parseBackend(v, 'LIGHTSR_BACKEND') : 'auto';
}

export interface BackendLoaders {
  torch(): Promise<Ops>;
  tfjs(): Promise<Ops>;
  onnx?(): Promise<Ops>;
}

/** Node's order for 'auto': the libtorch addon, then TF.js. */
export const NODE_ORDER = ['torch', 'tfjs'] as const;

/** The shared policy (engine/policy.ts) over Node's backends; `fallback` says why 'auto' passed over torch. */
export async function pickBackend(choice: BackendName, load: BackendLoaders): Promise<{ ops: Ops; fallback: string | null }> {
  if (choice === 'onnx') {
    if (!load.onnx) throw new Error('no loader for the onnx backend');
    return { ops: await load.onnx(), fallback: null };
  }
  const { value, attempts } = await startBackend(choice, NODE_ORDER, (k) => load[k]());
  return { ops: value, fallback: attempts.find((a) => a.error !== undefined)?.error ?? null };
}

/** Why the last 'auto' choice ran on tfjs instead of torch (null when it did not fall back). */
export let fallbackReason: string | null = null;

const listeners = new Set<(reason: string) => void>();

/** Calls `fn(reason)` each time 'auto' falls back to tfjs. Returns a function that removes it. */
export function onFallback(fn: (reason: string) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const cached: Partial<Record<'torch' | 'tfjs' | 'onnx', Ops>> = {};

const defaultLoaders: BackendLoaders = {
  async torch() {
    if (cached.torch) return cached.torch;
    const { createTorchOps } = await import('../backends/torch/index.js');
    return (cached.torch = createTorchOps());
  },
  async tfjs() {
    if (cached.tfjs) return cached.tfjs;
    const { createTfjsOps } = await import('../backends/tfjs/index.js');
    return (cached.tfjs = await createTfjsOps());
  },
  async onnx() {
    if (cached.onnx) return cached.onnx;
    const { createOnnxOps } = await import('../backends/onnx/lazy.js');
    return (cached.onnx = await createOnnxOps());
  },
};

/** The engine for `name` (default: LIGHTSR_BACKEND, else 'auto'); see the policy above. */
export async function getOps(name?: BackendName): Promise<Ops> {
  const { ops, fallback } = await pickBackend(resolveBackend(name), defaultLoaders);
  fallbackReason = fallback;
  if (fallback !== null) for (const fn of listeners) fn(fallback);
  return ops;
}
