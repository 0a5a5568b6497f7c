// `lightsr eval`: PSNR/SSIM (Y, spec §6) of a model or the bicubic baseline on benchmark folders.
// The work is runEval (src/eval/run.ts); this file parses the flags and prints.
import type { Command } from 'commander';
import { stderrProgress } from '../eval/benchmark.js';
import { runEval, type EvalRow } from '../eval/run.js';
import { OptionError } from '../option-error.js';
import { parseScale } from '../pipeline/scale.js';
import { NoDefaultWeightsError } from '../upscale/weights.js';

export function parseScales(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error('no scale given (e.g. --scale 2,3,4)');
  return parts.map((p) => parseScale(p.replace(/^x/i, '')));
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
      }).catch((err: unknown) => {
        if (err instanceof NoDefaultWeightsError) err.message += ' (--weights FILE)';
        if (err instanceof OptionError && (err.option === 'weights' || err.option === 'data')) err.message += ` (--${err.option})`;
        throw err;
      });
      process.stdout.write(`${o.json ? evalJson(rows) : formatEvalTable(rows)}\n`);
    });
}
