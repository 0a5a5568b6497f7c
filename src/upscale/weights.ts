// Default weights: lightsr's own trained files, `weights/<model>_x<scale>.safetensors` (+ `.json` card)
// under the package root (or $LIGHTSR_WEIGHTS_DIR).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { weightsStem } from '../pipeline/stem.js';

export { weightsStem } from '../pipeline/stem.js';

let root: string | undefined;

/** The lightsr package root (the folder holding its package.json), from src/ or dist/ alike. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'lightsr') return (root = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the lightsr package root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The default weights folder: $LIGHTSR_WEIGHTS_DIR, else `<package root>/weights`. */
export function defaultWeightsDir(): string {
  return process.env.LIGHTSR_WEIGHTS_DIR || path.join(packageRoot(), 'weights');
}

export function defaultWeightsPath(model: string, scale: number, dir = defaultWeightsDir()): string {
  return path.join(dir, `${weightsStem(model, scale)}.safetensors`);
}

/** No weights were given and none are installed for this network and scale. */
export class NoDefaultWeightsError extends Error {
  override name = 'NoDefaultWeightsError';
}

/**
 * The weights file to use: `explicit` when given (it must exist), else the installed default, else a clear
 * error. `dir` overrides the default weights folder (tests).
 */
export function resolveWeights(model: string, scale: number, explicit?: string, dir?: string): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`weights file '${explicit}' not found`);
    return explicit;
  }
  const p = defaultWeightsPath(model, scale, dir);
  if (!existsSync(p)) {
    throw new NoDefaultWeightsError(`no trained default weights are installed for ${model.toLowerCase()} x${scale} yet; pass a weights file`);
  }
  return p;
}
