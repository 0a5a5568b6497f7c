// Standing robustness suite (issue 14): seeded, mutated PNG/JPEG/WebP/TIFF/GIF/BMP files through the library
// (in-process) and the CLI (child processes), and malformed training folders through `lightsr train`. For every
// case: a clean one-line error naming the file, or a valid output of twice the input size; no crash, no hang,
// nothing partial left behind, the input untouched. Malformed weight files: robustness-weights.test.ts.
// `npm run fuzz` runs the same checks (test/helpers/robust.ts) over many more cases.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as registerTrain } from '../src/cli/train.js';
import { decodeImage } from '../src/image/io.js';
import { Upscaler } from '../src/upscale.js';
import { EXT, FORMATS, makeBases, type Base } from './helpers/bases.js';
import { fixPngCrc, layout } from './helpers/fields.js';
import { runCli } from './helpers/cli.js';
import { referenceWeights, repoRoot } from './helpers/fixtures.js';
import { caseName, KINDS, makeCase, type Case } from './helpers/mutate.js';
import { HEADER_MS, OUTPUT_LIMIT, runCliCase, runLibrary, runProcess, Tally, type Result } from './helpers/robust.js';

const SEED = 14;
const CASES = 300;
const CLI_CASES = 20;
const W2 = referenceWeights('imdn_x2.safetensors');
const BIN = path.join(repoRoot, 'bin/lightsr.js');

let tmp: string;
let bases: Base[];
let up: Upscaler;
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightsr-robust-'));
  bases = await makeBases();
  up = await Upscaler.create({ model: 'imdn', scale: 2, weights: W2 });
});
afterAll(() => {
  up?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const folder = (name: string) => {
  const d = path.join(tmp, name);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const report = (failed: string[]) => failed.join('\n');

describe('mutated image files', () => {
  it('the generator is deterministic in (seed, index)', () => {
    const a = makeCase(bases, 5, 42);
    expect(makeCase(bases, 5, 42)).toEqual(a);
    expect(makeCase(bases, 5, 43)).not.toEqual(a);
    expect(makeCase(bases, 6, 42)).not.toEqual(a);
  });

  it('every base image, unchanged, upscales to twice its size (the controls)', async () => {
    expect(new Set(bases.map((b) => b.format))).toEqual(new Set(FORMATS));
    const dir = folder('controls');
    const failed: string[] = [];
    for (const [i, b] of bases.entries()) {
      const c: Case = {
        seed: 0, index: i, format: b.format, base: b.name, kind: 'valid', detail: 'unchanged', bytes: b.bytes, ext: EXT[b.format],
        viaBytes: false, outExt: '.png', tile: 128, tilePad: 32, defaultLimit: false,
      };
      const r = await runLibrary(up, c, dir);
      if (r.problems.length || r.outcome !== 'ok') failed.push(`${b.format}/${b.name}: ${r.outcome} ${r.problems.join('; ')}`);
      else if (r.size?.join('×') !== `${2 * b.width}×${2 * b.height}`) failed.push(`${b.format}/${b.name}: ${r.size?.join('×')}, expected ${2 * b.width}×${2 * b.height}`);
    }
    expect(failed, report(failed)).toEqual([]);
  });

  it(`${CASES} seeded mutations in-process: a clean error or a valid output, bounded, nothing partial, input untouched`, async () => {
    const dir = folder('library');
    const tally = new Tally();
    const failed: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const c = makeCase(bases, SEED, i);
      const r = await runLibrary(up, c, dir);
      tally.add(c, r);
      if (r.problems.length) failed.push(`${caseName(c)}: ${r.problems.join('; ')}`);
    }
    console.info(`robustness, library, seed ${SEED}:\n${tally.table()}`);
    expect(failed, report(failed)).toEqual([]);
    // the sample covers every format and kind, and both outcomes
    for (const f of FORMATS) expect(tally.count((ff) => ff === f), f).toBeGreaterThan(10);
    for (const k of KINDS) expect(tally.count((_f, kk) => kk === k), k).toBeGreaterThan(0);
    expect(tally.count((_f, _k, o) => o === 'ok')).toBeGreaterThan(CASES / 10);
    expect(tally.count((_f, _k, o) => o !== 'ok')).toBeGreaterThan(CASES / 10);
    expect(fs.readdirSync(dir)).toEqual([]); // every passing case removes its files; nothing else appeared
  });

  it(`${CLI_CASES} cases through the CLI: exit 0 and a valid output, or exit 1 and one line naming the file`, async () => {
    const dir = folder('cli');
    // stratified: each kind and each format in turn
    const cases = Array.from({ length: CLI_CASES }, (_, i) => makeCase(bases, SEED, 100_000 + i, { kind: KINDS[i % KINDS.length], format: FORMATS[i % FORMATS.length] }));
    const results: Result[] = [];
    for (let i = 0; i < cases.length; i += 2) { // two processes at a time
      results.push(...(await Promise.all(cases.slice(i, i + 2).map((c) => runCliCase(c, dir, BIN, W2)))));
    }
    const tally = new Tally();
    const failed: string[] = [];
    cases.forEach((c, i) => {
      tally.add(c, results[i]);
      if (results[i].problems.length) failed.push(`${caseName(c)}: ${results[i].problems.join('; ')}`);
    });
    console.info(`robustness, CLI, seed ${SEED}:\n${tally.table()}`);
    expect(failed, report(failed)).toEqual([]);
    expect(tally.count((_f, _k, o) => o === 'ok')).toBeGreaterThan(0);
    expect(tally.count((_f, _k, o) => o !== 'ok')).toBeGreaterThan(0);
  });
});

describe('a folder of mutated files through the CLI, in one process', () => {
  it('one JSON status per file, an output exactly for each "done", one stderr line per failure, exit 1 iff one failed', async () => {
    const inDir = folder('cli-folder/in');
    const outDir = path.join(tmp, 'cli-folder/out');
    const formats = FORMATS.filter((f) => f !== 'gif'); // folder mode reads no GIF
    const cases = Array.from({ length: 12 }, (_, i) => makeCase(bases, SEED, 300_000 + i, { kind: KINDS[(i * 5) % KINDS.length], format: formats[i % formats.length] }));
    const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    for (const c of cases) fs.writeFileSync(path.join(inDir, `c${c.index}${c.ext}`), c.bytes);
    const r = await runProcess([BIN, 'upscale', inDir, '-o', outDir, '-s', '2', '--weights', W2, '--max-pixels', String(OUTPUT_LIMIT), '--json'], 120_000);
    expect(r.signal, r.stderr).toBeNull();
    type Line = { input: string; output: string; status: string; error?: string; width?: number; height?: number };
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => path.basename(l.input)).sort()).toEqual(cases.map((c) => `c${c.index}${c.ext}`).sort());
    const failed = lines.filter((l) => l.status === 'failed');
    expect(lines.every((l) => l.status === 'done' || l.status === 'failed')).toBe(true);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(lines.length);
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(errors).toHaveLength(failed.length);
    for (const l of lines) {
      if (l.status === 'failed') {
        expect(fs.existsSync(l.output), l.output).toBe(false);
        expect(l.error).not.toContain('\n');
        expect(errors.some((e) => e.startsWith(`lightsr: ${l.input}: `))).toBe(true);
      } else {
        const { info } = await sharp(l.output, { failOn: 'warning' }).raw().toBuffer({ resolveWithObject: true });
        expect([info.width, info.height]).toEqual([2 * l.width!, 2 * l.height!]);
      }
    }
    expect(fs.readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    for (const c of cases) expect(hash(fs.readFileSync(path.join(inDir, `c${c.index}${c.ext}`)))).toBe(hash(c.bytes));
  });
});

describe('regressions found by this suite', () => {
  it("an input over sharp's own pixel limit is refused for its size, not as corrupt, and maxPixels 0 lifts the limit", async () => {
    const b = bases.find((x) => x.format === 'png' && x.name === 'rgb')!.bytes.slice();
    const [w, h] = layout('png', b).dims[0];
    w.set(b, 20000);
    h.set(b, 20000);
    fixPngCrc(b, 8); // a valid IHDR: only the (small) pixel data betrays it
    const t0 = performance.now();
    const err = (await up.run(b).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/20000×20000.*over the limit/);
    expect(err.message).not.toMatch(/corrupt/);
    expect(performance.now() - t0).toBeLessThan(HEADER_MS);
    // no limit: the header is accepted and the decoder finds the data missing
    await expect(up.run(b, { maxPixels: 0 })).rejects.toThrow(/cannot read image '<buffer>': corrupt or truncated PNG data/);
    // readImage/decodeImage without options (training, eval): sharp's limit, named as a limit
    await expect(decodeImage(b, 'big.png')).rejects.toThrow("cannot read image 'big.png': 20000×20000 is over the limit of 268402689 pixels");
  });
});

describe('the checks catch what they are meant to catch', () => {
  const valid = (): Case => ({ ...makeCase(bases, SEED, 0, { kind: 'valid', format: 'png' }), viaBytes: false, outExt: '.png' });
  type Run = (input: string | Uint8Array, o: { output: string }) => Promise<unknown>;
  const badLibrary: [string, Run, RegExp][] = [
    ['a TypeError', async () => { throw new TypeError('x is undefined'); }, /threw a TypeError/],
    ['an error not naming the file', async () => { throw new Error('bad data'); }, /does not name the file/],
    ['a two-line error', async (i) => { throw new Error(`cannot read '${String(i)}':\n  at f (x.js:1:1)`); }, /several lines/],
    ['an output left after an error', async (i, o) => { fs.writeFileSync(o.output, 'half'); throw new Error(`'${String(i)}' failed`); }, /output file was left/],
    ['a temp file left', async (i, o) => { fs.writeFileSync(path.join(path.dirname(o.output), '.x.png.1.ab12cd34.tmp'), ''); throw new Error(`'${String(i)}' failed`); }, /temp files left/],
    ['the input changed', async (i) => { fs.appendFileSync(i as string, 'x'); throw new Error(`'${String(i)}' failed`); }, /input file was changed/],
    ['an output of the wrong size', async (_i, o) => {
      await sharp({ create: { width: 3, height: 3, channels: 3, background: '#000' } }).png().toFile(o.output);
      return { width: 12, height: 10, outWidth: 24, outHeight: 20 };
    }, /output is 3×3, expected \d+×\d+/],
    ['success without an output', async () => ({ width: 12, height: 10, outWidth: 24, outHeight: 20 }), /wrote no output/],
    ['a hang', () => new Promise(() => undefined), /hang/],
  ];
  it.each(badLibrary)('library: %s', async (name, run, problem) => {
    const r = await runLibrary({ run } as unknown as Upscaler, valid(), folder(`check-${name.replace(/\W+/g, '-')}`), 500);
    expect(r.problems.some((p) => problem.test(p)), r.problems.join('; ')).toBe(true);
  });

  const badCli: [string, string, RegExp][] = [
    ['exit code 2', 'process.exit(2)', /exit code 2/],
    ['death by a signal', "process.kill(process.pid, 'SIGABRT')", /crash: died of SIGABRT/],
    ['a stack trace', "console.error(`lightsr: ${process.argv[3]}: bad`); console.error('    at f (x.js:1:1)'); process.exit(1)", /stack trace/],
    ['an error not naming the file', "console.error('lightsr: something failed'); process.exit(1)", /does not start with/],
    ['exit 0 without an output', 'process.exit(0)', /wrote no output/],
    ['an output left after an error', "require('fs').writeFileSync(process.argv[5], 'x'); console.error(`lightsr: ${process.argv[3]}: bad`); process.exit(1)", /output file was left/],
    ['a hang', 'setInterval(() => undefined, 1000)', /hang/],
  ];
  it.each(badCli)('CLI: %s', async (name, code, problem) => {
    const dir = folder(`check-cli-${name.replace(/\W+/g, '-')}`);
    const bin = path.join(dir, 'fake-lightsr.cjs'); // argv: bin upscale IN -o OUT ...
    fs.writeFileSync(bin, code);
    const r = await runCliCase(valid(), dir, bin, W2, 3000);
    expect(r.problems.some((p) => problem.test(p)), r.problems.join('; ')).toBe(true);
  });
});

describe('malformed training folders: one clear error, nothing half-written', () => {
  const cacheDir = () => path.join(tmp, 'train-cache');
  const trainArgs = (dataDir: string, out: string) => [
    'train', '--model', 'imdn', '--scale', '2', '--train_dir', dataDir, '--out', out, '--cache_dir', cacheDir(),
    '--patch_size', '48', '--batch_size', '2', '--epochs', '1',
  ];

  /** Every folder in the cache is complete (has its index); no temp folder is left. */
  function expectCacheClean(): void {
    if (!fs.existsSync(cacheDir())) return;
    for (const e of fs.readdirSync(cacheDir())) {
      expect(e, 'a temp cache folder was left').not.toMatch(/\.tmp$/);
      expect(fs.existsSync(path.join(cacheDir(), e, 'index.json')), `${e} has no index.json`).toBe(true);
    }
  }

  /** An image file made from a base by the mutation generator (truncated, garbage, ...). */
  const damaged = (i: number, kind: 'truncate' | 'garbage' | 'empty' | 'bomb') => {
    const c = makeCase(bases, SEED, 200_000 + i, { kind, format: FORMATS[i % FORMATS.length] === 'gif' ? 'png' : FORMATS[i % FORMATS.length] });
    return { bytes: c.bytes, name: `d${i}${c.ext}` };
  };

  const cases: [string, () => string, RegExp][] = [
    ['a missing folder', () => path.join(tmp, 'no-such-folder'), /training folder not found: .*no-such-folder/],
    ['an empty folder', () => folder('t-empty'), /no images .* found under .*t-empty/],
    ['a folder without images (text, hidden files)', () => {
      const d = folder('t-text');
      fs.writeFileSync(path.join(d, 'notes.txt'), 'hello');
      fs.writeFileSync(path.join(d, '.hidden.png'), 'x');
      return d;
    }, /no images .* found under .*t-text/],
    ['a folder of corrupt images', () => {
      const d = folder('t-corrupt');
      (['truncate', 'garbage', 'empty', 'bomb'] as const).forEach((k, i) => {
        const f = damaged(i, k);
        fs.writeFileSync(path.join(d, f.name), f.bytes);
      });
      return d;
    }, /cannot read image '.*t-corrupt\/d\d\.\w+'/],
    ['good images and one truncated one', () => {
      const d = folder('t-mixed');
      for (const b of bases.filter((x) => x.format === 'png').slice(0, 3)) fs.writeFileSync(path.join(d, `a-${b.name}.png`), b.bytes);
      fs.writeFileSync(path.join(d, 'z-bad.png'), bases.find((x) => x.format === 'png')!.bytes.subarray(0, 60));
      return d;
    }, /cannot read image '.*t-mixed\/z-bad\.png': corrupt or truncated PNG/],
    ['images all smaller than the patch', () => {
      const d = folder('t-small');
      for (const f of FORMATS.filter((x) => x !== 'gif')) { // training reads no GIF
        for (const b of bases.filter((x) => x.format === f).slice(0, 2)) fs.writeFileSync(path.join(d, `${b.name}${EXT[f]}`), b.bytes);
      }
      return d;
    }, /no training image is at least 48×48 px/],
    ['a broken symbolic link', () => {
      const d = folder('t-link');
      fs.writeFileSync(path.join(d, 'a.png'), bases[0].bytes);
      fs.symlinkSync(path.join(d, 'gone.png'), path.join(d, 'b.png'));
      return d;
    }, /cannot read training image '.*t-link\/b\.png': broken symbolic link/],
  ];

  for (const [name, make, message] of cases) {
    it(name, async () => {
      const dataDir = make();
      const out = path.join(tmp, 'runs', name.replace(/\W+/g, '-'));
      const r = await runCli(registerTrain, trainArgs(dataDir, out));
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('lightsr:'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe('');
      expectCacheClean();
      expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]); // no checkpoint, log or weights
    });
  }

  it('as a process: a FIFO among the images is refused at once (reading it would block forever); corrupt files exit 1, no stack', async () => {
    const d = folder('t-fifo');
    fs.writeFileSync(path.join(d, 'a.png'), bases[0].bytes);
    execFileSync('mkfifo', [path.join(d, 'b.png')]);
    const run = (dataDir: string, out: string) => runProcess([
      '--import', path.join(repoRoot, 'test/helpers/ts-register.mjs'), path.join(repoRoot, 'test/helpers/train-cli.ts'), ...trainArgs(dataDir, out),
    ], 60_000);
    const bad = folder('t-proc-corrupt');
    fs.writeFileSync(path.join(bad, 'a.jpg'), bases.find((b) => b.format === 'jpeg')!.bytes.subarray(0, 100));
    for (const [dataDir, message] of [[d, /cannot read training image '.*b\.png': not a regular file/], [bad, /cannot read image '.*t-proc-corrupt\/a\.jpg'/]] as const) {
      const r = await run(dataDir, path.join(tmp, 'runs', `proc-${path.basename(dataDir)}`));
      expect(r.signal, r.stderr).toBeNull(); // not killed by the timeout
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('lightsr:'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(r.stderr).not.toMatch(/^\s+at\s/m);
    }
    expectCacheClean();
  });
});
