import type { Ops } from './ops.js';

export type BackendName = 'torch' | 'tfjs' | 'auto';

const cached: Partial<Record<'torch' | 'tfjs', Ops>> = {};

/**
 * The active backend. 'auto' (default, or env LIGHTSR_BACKEND) prefers torch and falls back to tfjs
 * when the addon cannot be loaded; the reason is kept in `fallbackReason`.
 */
export let fallbackReason: string | null = null;

export async function getOps(name: BackendName = (process.env.LIGHTSR_BACKEND as BackendName) || 'auto'): Promise<Ops> {
  if (name === 'torch' || name === 'auto') {
    if (cached.torch) return cached.torch;
    try {
      const { createTorchOps } = await import('../backends/torch/index.js');
      const ops = createTorchOps();
      cached.torch = ops;
      return ops;
    } catch (err) {
      if (name === 'torch') throw err;
      fallbackReason = err instanceof Error ? err.message : String(err);
    }
  }
  if (cached.tfjs) return cached.tfjs;
  const { createTfjsOps } = await import('../backends/tfjs/index.js');
  const ops = await createTfjsOps();
  cached.tfjs = ops;
  return ops;
}
