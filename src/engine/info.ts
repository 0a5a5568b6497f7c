// backendInfo(): which backend lightsr runs on, whether the libtorch addon loads, and if not, why and how to fix it.
// The choice itself is select.ts's policy; this only probes the addon and replays that policy without starting tfjs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Ops } from './ops.js';
import { pickBackend, resolveBackend, type BackendName } from './select.js';

export interface BackendInfo {
  /** The backend asked for: the argument, else LIGHTSR_BACKEND, else 'auto'. */
  requested: BackendName;
  /** The backend that runs ('auto': torch when the addon loads, else tfjs); null when torch was asked for and cannot load. */
  active: 'torch' | 'tfjs' | null;
  addon: {
    /** The addon file lightsr loads (LIGHTSR_TORCH_ADDON, else the package's build/Release/lightsr_torch.node). */
    path: string;
    found: boolean;
    loaded: boolean;
    /** Why it did not load (null when it did). */
    error: string | null;
  };
  /** Why 'auto' fell back to tfjs (null when it did not). */
  fallback: string | null;
  /** How to get the addon working (null when it loads). */
  fix: string | null;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Reports the backend for `backend` (default: LIGHTSR_BACKEND, else 'auto'). Loads the addon to check it; never starts tfjs. */
export async function backendInfo(backend?: string): Promise<BackendInfo> {
  const requested = resolveBackend(backend);
  const torch = await import('../backends/torch/index.js');
  const file = torch.addonPath();
  let torchOps: Ops | null = null;
  let error: string | null = null;
  try {
    torchOps = torch.createTorchOps();
  } catch (e) {
    error = message(e);
  }
  const fix = error === null ? null : torch.addonFix();
  if (error !== null) {
    // The loader's message ends with its own "(to fix: ...)": `fix` carries that. Point at the install-time build log.
    error = error.replace(` (to fix: ${fix})`, '');
    const log = path.join(path.dirname(file), '../addon-build.log');
    if (existsSync(log)) error += `; the install-time build failed, its log: ${log}`;
  }
  const tfjsMark = { name: 'tfjs' } as Ops;
  let active: BackendInfo['active'] = null;
  let fallback: string | null = null;
  try {
    const picked = await pickBackend(requested, {
      torch: async () => {
        if (torchOps === null) throw new Error(error ?? 'libtorch backend unavailable');
        return torchOps;
      },
      tfjs: async () => tfjsMark,
    });
    active = picked.ops === tfjsMark ? 'tfjs' : 'torch';
    fallback = picked.fallback;
  } catch {
    // torch was asked for and cannot load (getOps would throw): active stays null, addon.error says why
  }
  return { requested, active, addon: { path: file, found: existsSync(file), loaded: error === null, error }, fallback, fix };
}
