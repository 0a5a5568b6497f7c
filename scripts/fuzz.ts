// `npm run fuzz [-- --cases N] [--seed S] [--case I] [--cli-every K]`: the robustness invariants of
// test/robustness.test.ts over many more mutated images (not part of `npm test`). Library cases run in this
// process; every K-th case also runs through the CLI (bin/lightsr.js, i.e. dist/: `npm run build` first).
// Prints a table of outcomes per format × mutation kind, and the seed and index of every failing case;
// `--seed S --case I` replays one. Exit code 1 when any case broke an invariant.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Upscaler } from '../src/upscale.js';
import { makeBases } from '../test/helpers/bases.js';
import { caseName, makeCase } from '../test/helpers/mutate.js';
import { runCliCase, runLibrary, Tally, type Result } from '../test/helpers/robust.js';

const root = path.resolve(import.meta.dirname, '..');
const { values: a } = parseArgs({
  options: {
    cases: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    case: { type: 'string' },
    'cli-every': { type: 'string', default: '50' },
    weights: { type: 'string', default: path.resolve(root, '../shared/reference/weights/imdn_x2.safetensors') },
  },
});
const count = Number(a.cases);
const seed = a.seed !== undefined ? Number(a.seed) : Math.floor(Math.random() * 2 ** 31);
const cliEvery = Number(a['cli-every']);
const only = a.case !== undefined ? Number(a.case) : undefined;
for (const [k, v] of [['--cases', count], ['--seed', seed], ['--cli-every', cliEvery], ['--case', only ?? 0]] as const) {
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${k} must be a non-negative integer`);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'lightsr-fuzz-'));
const bin = path.join(root, 'bin/lightsr.js');
const bases = await makeBases();
const up = await Upscaler.create({ model: 'imdn', scale: 2, weights: a.weights });
const lib = new Tally();
const cli = new Tally();
const failures: string[] = [];
const note = (where: string, c: ReturnType<typeof makeCase>, r: Result) => {
  if (r.problems.length) failures.push(`${where} ${caseName(c)}\n    ${r.problems.join('\n    ')}`);
};

const indices = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => i);
const t0 = performance.now();
let slowest = 0;
for (const i of indices) {
  const c = makeCase(bases, seed, i);
  const r = await runLibrary(up, c, dir);
  lib.add(c, r);
  slowest = Math.max(slowest, r.ms);
  note('library', c, r);
  if (only !== undefined || (cliEvery > 0 && i % cliEvery === 0)) {
    const rc = await runCliCase(c, dir, bin, a.weights);
    cli.add(c, rc);
    note('cli', c, rc);
  }
  if (only === undefined && (i + 1) % 250 === 0) process.stderr.write(`${i + 1}/${count} cases, ${failures.length} failing\n`);
}
up.dispose();

process.stdout.write(`seed ${seed}: ${indices.length} library cases in ${((performance.now() - t0) / 1000).toFixed(1)} s (slowest ${slowest.toFixed(0)} ms), ${cli.count()} through the CLI\n\n`);
process.stdout.write(`library (in-process):\n${lib.table()}\n\n`);
if (cli.count()) process.stdout.write(`CLI (bin/lightsr.js):\n${cli.table()}\n\n`);
if (failures.length) {
  process.stdout.write(`${failures.length} failing (files kept in ${dir}); replay one with: npm run fuzz -- --seed ${seed} --case I\n${failures.join('\n')}\n`);
  process.exitCode = 1;
} else {
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write('no invariant broken\n');
}
