// Backends in the browser: TF.js WebGPU → WebGL → wasm for 'auto', chosen by the shared policy
// (engine/policy.ts), with software GPU implementations passed over (wasm is faster than those).
import { createTfjsOps, type TfjsKind, type TfjsOps, type TfjsOptions } from '../backends/tfjs/index.js';
import { startBackend, type Attempt } from '../engine/policy.js';

export type BrowserBackend = 'auto' | TfjsKind;

/** The order 'auto' tries. */
export const BROWSER_ORDER: readonly TfjsKind[] = ['webgpu', 'webgl', 'wasm'];

/**
 * Why 'auto' should pass over a GPU backend that would start: a software implementation (SwiftShader,
 * llvmpipe, WebGPU fallback adapter) is much slower than wasm. Null when the backend looks like real hardware.
 */
export async function softwareGpu(kind: TfjsKind): Promise<string | null> {
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

/** Start a TF.js backend by the shared policy; `attempts` says what was passed over and why. */
export async function startBrowserBackend(choice: BrowserBackend = 'auto', opts: TfjsOptions = {}): Promise<{ ops: TfjsOps; kind: TfjsKind; attempts: Attempt<TfjsKind>[] }> {
  const { kind, value, attempts } = await startBackend(choice, BROWSER_ORDER, (k) => createTfjsOps(k, opts), { skip: softwareGpu });
  return { ops: value, kind, attempts };
}
