import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../src/cli/eval.js';
import { runEval, type EvalRow } from '../src/eval/run.js';
import { bicubicUpscaler, evaluateDataset } from '../src/eval/benchmark.js';
import { cliOutput } from './helpers/cli.js';
import { SET5, shared } from './helpers/fixtures.js';

const bench = path.join(shared, 'data/bench');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The classic "Bicubic" rows of SR papers (MATLAB bicubic ×s on uint8, Y, border = scale).
const EXPECTED: Record<number, Record<string, [number, number]>> = {
  2: { Set5: [33.6734, 0.93029], Set14: [30.3246, 0.86985], B100: [29.5599, 0.8434] },
  3: { Set5: [30.4033, 0.86891], Set14: [27.6311, 0.77588], B100: [27.209, 0.73907] },
  4: { Set5: [28.429, 0.81114], Set14: [26.0884, 0.7048], B100: [25.9613, 0.66807] },
};

describe('bicubic baseline', () => {
  it('reproduces the 9 published bicubic cells (Set5/Set14/B100 × 2,3,4)', async () => {
    const rows = await runEval({ model: 'bicubic', scales: [2, 3, 4], data: ['Set5', 'Set14', 'B100'], dataRoot: bench });
    expect(rows.map((r) => r.scale)).toEqual([2, 3, 4]);
    for (const row of rows) {
      expect(row.datasets.map((d) => d.dataset)).toEqual(['Set5', 'Set14', 'B100']);
      for (const d of row.datasets) {
        const [p, s] = EXPECTED[row.scale][d.dataset];
        expect(Math.abs(d.psnr - p), `${d.dataset} x${row.scale} PSNR ${d.psnr}`).toBeLessThan(0.005);
        expect(Math.abs(d.ssim - s), `${d.dataset} x${row.scale} SSIM ${d.ssim}`).toBeLessThan(0.0002);
        expect(d.lr).toBe('files');
        expect(d.images.length).toBe({ Set5: 5, Set14: 14, B100: 100 }[d.dataset]);
      }
    }
  });

  it('generates LR with MATLAB bicubic when LR_bicubic/ is absent (same scores as the official LR files)', async () => {
    const dir = path.join(tmp, 'Set5hr');
    mkdirSync(path.join(dir, 'HR'), { recursive: true });
    for (const n of SET5) symlinkSync(path.join(bench, 'Set5/HR', `${n}.png`), path.join(dir, 'HR', `${n}.png`));
    const gen = await evaluateDataset(dir, 3, bicubicUpscaler);
    const files = await evaluateDataset(path.join(bench, 'Set5'), 3, bicubicUpscaler);
    expect(gen.lr).toBe('generated');
    expect(gen.images).toEqual(files.images);
  });

  it('self-ensemble wraps any upscaler (bicubic+ differs slightly from bicubic)', async () => {
    const [plain] = await runEval({ model: 'bicubic', scales: [4], data: ['Set5'], dataRoot: bench });
    const [plus] = await runEval({ model: 'bicubic', scales: [4], data: ['Set5'], dataRoot: bench, selfEnsemble: true });
    const d = plus.datasets[0].psnr - plain.datasets[0].psnr;
    expect(d).not.toBe(0);
    expect(Math.abs(d)).toBeLessThan(0.2);
  });
});

describe('lightsr eval command', () => {
  const run = (args: string[]) => cliOutput(register, ['eval', ...args]);

  it('prints the papers\' table and JSON', async () => {
    const table = await run(['--model', 'bicubic', '--scale', '2,4', '--data', 'Set5', '--data-root', bench]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^Method\s+Scale\s+Set5$/);
    expect(lines[1]).toMatch(/^Bicubic\s+×2\s+33\.67\/0\.9303$/);
    expect(lines[2]).toMatch(/^Bicubic\s+×4\s+28\.43\/0\.8111$/);
    const json = JSON.parse(await run(['--scale', '3', '--data', path.join(bench, 'Set5'), '--json'])) as { results: EvalRow[] };
    const r = json.results[0];
    expect([r.model, r.scale, r.datasets[0].dataset, r.datasets[0].images.length]).toEqual(['bicubic', 3, 'Set5', 5]);
    expect(r.datasets[0].psnr).toBeCloseTo(30.4033, 3);
  });

  it('one clear error for bad datasets and scales', async () => {
    const empty = path.join(tmp, 'Empty');
    mkdirSync(path.join(empty, 'HR'), { recursive: true });
    writeFileSync(path.join(empty, 'HR', 'notes.txt'), 'no images here');
    const noHr = path.join(tmp, 'NoHR');
    mkdirSync(noHr, { recursive: true });
    const cases: [string[], RegExp][] = [
      [['--data', 'NoSuchSet', '--data-root', bench], /dataset 'NoSuchSet' not found/],
      [['--data', empty], /no images in/],
      [['--data', noHr], /has no HR\/ subfolder/],
      [['--data', 'Set5', '--data-root', bench, '--scale', '1'], /bicubic has no ×1 model \(available scales: 2, 3, 4, 5, 6, 7, 8\)/],
      [['--data', 'Set5', '--data-root', bench, '--scale', '2.5'], /^scale must be a positive integer, got 2\.5$/],
      [['--data', 'Set5', '--data-root', bench, '--model', 'nosuchnet'], /unknown model 'nosuchnet'/],
      [['--data', 'Set5', '--data-root', bench, '--model', 'imdn', '--scale', '5'], /imdn has no ×5 model/],
      [['--data', 'Set5', '--data-root', bench, '--model', 'imdn', '--weights', path.join(tmp, 'none.safetensors')], /weights file '.*none\.safetensors' not found/],
      [['--data', 'Set5', '--data-root', bench, '--model', 'imdn', '--scale', '2,4', '--weights', 'a,b,c'], /one weights file per scale .*\(--weights\)$/],
    ];
    for (const [args, re] of cases) await expect(run(args)).rejects.toThrow(re);
  });

  it('the library checks scales with the one message and names no CLI flag', async () => {
    const lib = (o: Partial<Parameters<typeof runEval>[0]>) => runEval({ model: 'bicubic', scales: [2], data: ['Set5'], dataRoot: bench, ...o });
    await expect(lib({ scales: [2.5] })).rejects.toThrow(/^scale must be a positive integer, got 2\.5$/);
    await expect(lib({ scales: [0] })).rejects.toThrow(/^scale must be a positive integer, got 0$/);
    await expect(evaluateDataset(path.join(bench, 'Set5'), 2.5, bicubicUpscaler)).rejects.toThrow(/^scale must be a positive integer, got 2\.5$/);
    await expect(lib({ scales: [2, 4], weights: ['a', 'b', 'c'] })).rejects.toThrow(/^give one weights file per scale \(2\), or one path containing \{scale\}$/);
    await expect(lib({ data: [] })).rejects.toThrow(/^no dataset given/);
  });

  it('a broken LR folder is reported, not skipped', async () => {
    const dir = path.join(tmp, 'Broken');
    mkdirSync(path.join(dir, 'HR'), { recursive: true });
    mkdirSync(path.join(dir, 'LR_bicubic', 'X2'), { recursive: true });
    symlinkSync(path.join(bench, 'Set5/HR/bird.png'), path.join(dir, 'HR', 'bird.png'));
    await expect(evaluateDataset(dir, 2, bicubicUpscaler)).rejects.toThrow(/has no LR image for bird\.png/);
    symlinkSync(path.join(bench, 'Set5/LR_bicubic/X2/babyx2.png'), path.join(dir, 'LR_bicubic', 'X2', 'birdx2.png'));
    await expect(evaluateDataset(dir, 2, bicubicUpscaler)).rejects.toThrow(/expected 144x144/);
  });
});
