// runEval: score a model (or the bicubic baseline) × scales × dataset folders; returns the results, prints nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OptionError } from '../option-error.js';
import { checkScale } from '../pipeline/scale.js';
import {
  bicubicUpscaler, evaluateDataset, listHR, withSelfEnsemble,
  type DatasetScore, type Progress, type SRFunction,
} from './benchmark.js';

export interface EvalOptions {
  /** 'bicubic' or a registry name. */
  model: string;
  scales: number[];
  /** Dataset folders or names (looked up under dataRoot, $LIGHTSR_DATA, then ../shared/data/bench). */
  data: string[];
  selfEnsemble?: boolean;
  /** One weights file per scale, or one path with `{scale}` in it; default: the installed weights. */
  weights?: string[];
  dataRoot?: string;
  onProgress?: (p: Progress) => void;
}

export interface EvalRow {
  model: string;
  scale: number;
  selfEnsemble: boolean;
  weights?: string;
  datasets: DatasetScore[];
}

export const BICUBIC_SCALES = [2, 3, 4, 5, 6, 7, 8];
const defaultBench = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/bench');

/** A dataset argument → folder: an existing path, else <root>/<name> for the known roots. */
export function resolveDataset(arg: string, dataRoot?: string): string {
  const tried: string[] = [];
  const candidates = [arg];
  for (const root of [dataRoot, process.env.LIGHTSR_DATA, defaultBench]) if (root) candidates.push(path.join(root, arg));
  for (const c of candidates) {
    if (existsSync(path.join(c, 'HR'))) return path.resolve(c);
    tried.push(c);
  }
  const plain = candidates.find((c) => existsSync(c));
  if (plain) return path.resolve(plain); // exists but has no HR/: listHR gives the precise message
  throw new Error(`dataset '${arg}' not found (looked for ${tried.map((t) => `'${t}'`).join(', ')})`);
}

function weightsFor(weights: string[] | undefined, scales: number[], scale: number): string | undefined {
  if (!weights || weights.length === 0) return undefined;
  if (weights.length === 1 && weights[0].includes('{scale}')) return weights[0].replaceAll('{scale}', String(scale));
  if (weights.length === 1 && scales.length === 1) return weights[0];
  if (weights.length !== scales.length) {
    throw new OptionError('weights', `give one weights file per scale (${scales.length}), or one path containing {scale}`);
  }
  return weights[scales.indexOf(scale)];
}

/** SR function for one model × scale plus a cleanup hook. */
async function makeSR(opts: EvalOptions, scale: number, weights?: string): Promise<{ up: SRFunction; close(): void }> {
  if (opts.model.toLowerCase() === 'bicubic') {
    return { up: opts.selfEnsemble ? withSelfEnsemble(bicubicUpscaler) : bicubicUpscaler, close() {} };
  }
  const { getOps } = await import('../engine/select.js');
  const { loadModel } = await import('../models/load.js');
  const { predict } = await import('../models/infer.js');
  const ops = await getOps();
  const model = await loadModel(ops, opts.model, scale, weights);
  return {
    up: (lr) => predict(ops, model, lr, { selfEnsemble: opts.selfEnsemble ?? false }),
    close: () => model.dispose(),
  };
}

/** Check every argument, then score model × scale × dataset. */
export async function runEval(opts: EvalOptions): Promise<EvalRow[]> {
  const isBicubic = opts.model.toLowerCase() === 'bicubic';
  if (opts.scales.length === 0) throw new Error('no scale given');
  for (const s of opts.scales) {
    checkScale(s);
    if (!isBicubic) {
      const { getEntry } = await import('../models/index.js');
      getEntry(opts.model, s); // unknown names and scales fail here
    } else if (!BICUBIC_SCALES.includes(s)) {
      throw new Error(`bicubic has no ×${s} model (available scales: ${BICUBIC_SCALES.join(', ')})`);
    }
  }
  if (opts.data.length === 0) throw new OptionError('data', 'no dataset given (e.g. Set5, Set14, B100)');
  const dirs = opts.data.map((d) => resolveDataset(d, opts.dataRoot));
  for (const d of dirs) await listHR(d); // fail before any work on a bad folder
  const perScale = opts.scales.map((s) => weightsFor(opts.weights, opts.scales, s));
  if (!isBicubic) {
    // Explicit files must exist; otherwise the installed defaults (weights/<model>_x<s>.safetensors) are used.
    const { resolveWeights } = await import('../upscale/weights.js');
    opts.scales.forEach((s, i) => { perScale[i] = resolveWeights(opts.model, s, perScale[i]); });
  }

  const rows: EvalRow[] = [];
  for (const [i, scale] of opts.scales.entries()) {
    const weights = perScale[i];
    const { up, close } = await makeSR(opts, scale, weights);
    try {
      const datasets: DatasetScore[] = [];
      for (const dir of dirs) datasets.push(await evaluateDataset(dir, scale, up, opts.onProgress));
      rows.push({ model: opts.model, scale, selfEnsemble: opts.selfEnsemble ?? false, ...(weights ? { weights } : {}), datasets });
    } finally {
      close();
    }
  }
  return rows;
}
