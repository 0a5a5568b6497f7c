// Library hygiene (issue 16 item 4): the package entry type-checks for a consumer, modules work on their own
// in a fresh process, options are checked with one message that names no CLI flag, and the CLI adds its flags.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { register as registerInfo } from '../src/cli/info.js';
import { register as registerTrain } from '../src/cli/train.js';
import { measureComplexity } from '../src/eval/complexity.js';
import { OptionError } from '../src/option-error.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';
import { RESUMABLE_OVERRIDES, ResumeConflictError, resumeConfig } from '../src/train/resume.js';
import { runCli } from './helpers/cli.js';

const root = path.resolve(import.meta.dirname, '..');
const src = (f: string) => path.join(root, 'src', f).replaceAll('\\', '/');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-library-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Type errors of each of `files` (only theirs, not of the sources they import), under the project's options. */
function typeErrors(files: Record<string, string>): Record<string, string[]> {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(tmp, name), text);
  const program = ts.createProgram(Object.keys(files).map((n) => path.join(tmp, n)), { ...options, noEmit: true, rootDir: undefined });
  return Object.fromEntries(Object.keys(files).map((n) => [n, program.getSemanticDiagnostics(program.getSourceFile(path.join(tmp, n)))
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)]));
}

describe('package entry', () => {
  it('a consumer can use Upscaler, upscale, Pipeline and backendInfo as values; the old shadowing is caught', () => {
    const use = (from: string) => `import { Upscaler, upscale, Pipeline, backendInfo, type SRFunction } from '${from}';
export const values = [Upscaler.create, upscale, Pipeline.create, backendInfo];
export async function f(): Promise<Upscaler> { return Upscaler.create({ scale: 4 }); }
export const sr: SRFunction | null = null;
`;
    // The bug this guards against: a type-only export named Upscaler next to `export *` of the class.
    const shadow = `export * from '${src('index.js')}';\nexport type { SRFunction as Upscaler } from '${src('eval/benchmark.js')}';\n`;
    const errors = typeErrors({ 'consumer.mts': use(src('index.js')), 'shadow.mts': shadow, 'shadowed.mts': use('./shadow.mjs') });
    expect(errors['consumer.mts']).toEqual([]);
    expect(errors['shadow.mts']).toEqual([]);
    expect(errors['shadowed.mts'].length).toBeGreaterThan(0);
    for (const e of errors['shadowed.mts']) expect(e).toMatch(/^TS2693: 'Upscaler' only refers to a type/);
  });
});

describe('modules on their own', () => {
  for (const [file, call] of [
    ['eval/complexity.ts', "const c = m.measureComplexity('imdn', 4); console.log(c.model, c.scale, c.params);"],
    ['train/config.ts', "const c = m.resolveConfig({ model: 'imdn', scale: 4, trainDir: 'd', out: 'o' }); console.log(c.model, c.scale, c.patchSize);"],
  ]) {
    it(`${file} works when imported first, in a fresh process`, () => {
      const code = `const m = await import(${JSON.stringify(`file://${src(file)}`)}); ${call}`;
      const r = spawnSync(process.execPath, ['--import', './test/helpers/ts-register.mjs', '--input-type=module', '-e', code],
        { cwd: root, encoding: 'utf8', env: { ...process.env, LIGHTSR_BACKEND: 'tfjs' } });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^imdn 4 \d+\n$/);
    });
  }
});

describe('options', () => {
  const base = (extra: Partial<TrainConfig> = {}) => resolveConfig({
    model: 'imdn', scale: 2, trainDir: path.join(tmp, 'data'), out: path.join(tmp, 'run'), batchSize: 4, patchSize: 48, ...extra,
  });
  const errorOf = (fn: () => unknown): Error => {
    try { fn(); } catch (e) { return e as Error; }
    throw new Error('no error');
  };

  it('resolveConfig: one clear message per bad option, naming the option, not a flag', () => {
    const cases: [Partial<TrainConfig>, RegExp, string?][] = [
      [{ precision: 'fp16' as never }, /^precision must be one of fp32, bf16, got 'fp16'$/, 'precision'],
      [{ patchSize: 47 }, /^patchSize 47 \(HR\) must be a multiple of the scale 2$/, 'patchSize'],
      [{ loss: 'l2' as never }, /^loss must be one of /, 'loss'],
      [{ ema: 1.5 }, /^ema decay must be in \(0, 1\), got 1\.5$/, 'ema'],
      [{ batchSize: 0 }, /^batchSize must be a positive integer, got 0$/, 'batchSize'],
      [{ model: 'nope' }, /unknown model 'nope'/],
      [{ scale: 5 }, /^imdn has no ×5 model \(available scales: 2, 3, 4\)$/],
      [{ scale: 2.5 }, /^scale must be a positive integer, got 2\.5$/],
      [{ scale: 'x' as never }, /^scale must be a positive integer, got x$/],
    ];
    for (const [extra, re, option] of cases) {
      const e = errorOf(() => base(extra));
      expect(e.message).toMatch(re);
      expect(e.message).not.toMatch(/--/);
      if (option) expect(e).toBeInstanceOf(OptionError);
      if (option) expect((e as OptionError).option).toBe(option);
    }
    expect(base({ scale: '3' as never, patchSize: 48 }).scale).toBe(3); // flags arrive as text
  });

  it('resumeConfig: only the resumable options may change', () => {
    const saved = base({ maxIters: 100 });
    const same = resumeConfig(saved, { epochs: 7, batchSize: 4, precision: 'bf16' });
    expect(same).toMatchObject({ epochs: 7, batchSize: 4, precision: 'bf16', maxIters: null, out: saved.out });
    expect(resumeConfig(saved, { out: path.join(tmp, 'elsewhere') }).out).toBe(saved.out);
    const e = errorOf(() => resumeConfig(saved, { batchSize: 8, lr: 1e-3, epochs: 3 }));
    expect(e).toBeInstanceOf(ResumeConflictError);
    expect((e as ResumeConflictError).keys).toEqual(['batchSize', 'lr']);
    expect(e.message).toBe(`cannot change batchSize, lr when resuming (only ${RESUMABLE_OVERRIDES.join(', ')} may change)`);
  });

  it('measureComplexity and lightsr info check the scale with the same messages', async () => {
    expect(() => measureComplexity('imdn', 2.5)).toThrow(/^scale must be a positive integer, got 2\.5$/);
    expect(() => measureComplexity('imdn', 5)).toThrow(/^imdn has no ×5 model \(available scales: 2, 3, 4\)$/);
    const info = (s: string) => runCli(registerInfo, ['info', 'imdn', '--scale', s]);
    expect((await info('x')).error?.message).toBe('scale must be a positive integer, got x');
    expect((await info('5')).error?.message).toBe('imdn has no ×5 model (available scales: 2, 3, 4)');
  });

  it('lightsr train adds its flags to the library errors', async () => {
    const run = (args: string[]) => runCli(registerTrain, ['train', '--model', 'imdn', '--train_dir', tmp, '--out', path.join(tmp, 'r'), ...args]);
    expect((await run(['--patch_size', '47'])).error?.message).toBe('patchSize 47 (HR) must be a multiple of the scale 2 (--patch_size)');
    expect((await run(['--batch_size', '0'])).error?.message).toBe('batchSize must be a positive integer, got 0 (--batch_size)');
    expect((await run(['--scale', '2.5'])).error?.message).toBe('scale must be a positive integer, got 2.5');
  });
});
