// `lightsr eval`: PSNR/SSIM (Y, spec §6) of a model or the bicubic baseline on benchmark folders.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
  bicubicUpscaler, evaluateDataset, listHR, stderrProgress, withSelfEnsemble,
  type DatasetScore, type Progress, type Upscaler,
} from '../eval/benchmark.js';

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

const BICUBIC_SCALES = [2, 3, 4, 5, 6, 7, 8];
const defaultBench = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/bench');

export function parseScales(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('no scale given (e.g. --scale 2,3,4)');
  return parts.map((p) => {
    const s = Number(p.replace(/^x/i, ''));
    if (!Number.isInteger(s)) throw new Error(`unsupported scale '${p}': scales are integers such as 2, 3, 4`);
    return s;
  });
}

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
    throw new Error(`give one --weights file per scale (${scales.length}), or one path containing {scale}`);
  }
  return weights[scales.indexOf(scale)];
}

/** Upscaler for one model × scale plus a cleanup hook. Integration point for the networks. */
async function makeUpscaler(opts: EvalOptions, scale: number, weights?: string): Promise<{ up: Upscaler; close(): void }> {
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
  let allowed = BICUBIC_SCALES;
  if (!isBicubic) {
    const { getEntry } = await import('../models/index.js');
    const entry = getEntry(opts.model);
    allowed = entry.scales;
  }
  if (opts.scales.length === 0) throw new Error('no scale given');
  for (const s of opts.scales) {
    if (!allowed.includes(s)) throw new Error(`unsupported scale ${s} for ${opts.model} (supported: ${allowed.join(', ')})`);
  }
  if (opts.data.length === 0) throw new Error('no dataset given (e.g. --data Set5,Set14,B100)');
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
    const { up, close } = await makeUpscaler(opts, scale, weights);
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

/** Papers' layout: rows = method × scale, columns = datasets with PSNR/SSIM (2 / 4 decimals). */
export function formatEvalTable(rows: EvalRow[]): string {
  const names = [...new Set(rows.flatMap((r) => r.datasets.map((d) => d.dataset)))];
  const head = ['Method', 'Scale', ...names];
  const cells = rows.map((r) => [
    `${r.model === 'bicubic' ? 'Bicubic' : r.model}${r.selfEnsemble ? '+' : ''}`,
    `×${r.scale}`,
    ...names.map((n) => {
      const d = r.datasets.find((x) => x.dataset === n);
      return d ? `${d.psnr.toFixed(2)}/${d.ssim.toFixed(4)}` : '-';
    }),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd();
  const notes = 'PSNR (dB) / SSIM on Y (BT.601), border = scale; SR quantised to uint8.';
  const generated = rows.flatMap((r) => r.datasets.filter((d) => d.lr === 'generated').map((d) => `${d.dataset} ×${d.scale}`));
  const extra = generated.length ? [`LR generated with MATLAB bicubic (no LR_bicubic folder): ${generated.join(', ')}`] : [];
  return [line(head), ...cells.map(line), '', notes, ...extra].join('\n');
}

/** --json output: mean and per-image scores. Infinity (identical images) becomes null. */
export function evalJson(rows: EvalRow[]): string {
  return JSON.stringify({ protocol: 'Y BT.601, border=scale, uint8-quantised SR, SSIM 11x11 gaussian 1.5', results: rows }, null, 2);
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('PSNR/SSIM on the Y channel (standard SR protocol) over benchmark datasets')
    .option('--model <name>', "'bicubic' or a network from `lightsr models`", 'bicubic')
    .option('--scale <list>', 'comma-separated scales, e.g. 2,3,4', '4')
    .requiredOption('--data <list>', 'comma-separated dataset folders or names (Set5,Set14,B100) with HR/ [+ LR_bicubic/X<s>/]')
    .option('--data-root <dir>', 'folder holding dataset folders (default $LIGHTSR_DATA, then ../shared/data/bench)')
    .option('--weights <file>', 'safetensors weights: one per scale (comma-separated) or one path with {scale}; default: installed weights/<model>_x<s>.safetensors')
    .option('--self-ensemble', 'average the 8 flips/transposes (the "+" models)')
    .option('--json', 'print machine-readable JSON instead of a table')
    .action(async (o: { model: string; scale: string; data: string; dataRoot?: string; weights?: string; selfEnsemble?: boolean; json?: boolean }) => {
      const rows = await runEval({
        model: o.model,
        scales: parseScales(o.scale),
        data: o.data.split(',').map((s) => s.trim()).filter(Boolean),
        weights: o.weights?.split(',').map((s) => s.trim()).filter(Boolean),
        selfEnsemble: o.selfEnsemble,
        dataRoot: o.dataRoot,
        onProgress: stderrProgress(),
      });
      process.stdout.write(`${o.json ? evalJson(rows) : formatEvalTable(rows)}\n`);
    });
}
