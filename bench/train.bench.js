// Training speed: `lightsr train` (torch backend, real data through the worker loader) vs the same step in
// PyTorch (bench/train.py on /usr/bin/python3), IMDN ×4, batch 16, HR patch 192 (LR 48), L1, Adam, same threads.
// Rounds alternate (lightsr block, PyTorch block, …) so load from other processes hits both alike; the first
// iteration of each block is a warm-up and is dropped; medians are reported. Needs `npm run build`.
// --precision bf16 times both sides with bfloat16 autocast of the forward pass (CPUs with AVX512-BF16/AMX).
//   node bench/train.bench.js [--threads 2] [--iters 3] [--rounds 2] [--batch 16] [--patch 192] [--scale 4] [--precision fp32|bf16]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { resolveConfig } from '../dist/train/config.js';
import { JsonlLog } from '../dist/train/progress.js';
import { train } from '../dist/train/trainer.js';
import { median, numArg, strArg } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const threads = numArg('threads', 2);
const iters = numArg('iters', 3);
const rounds = numArg('rounds', 2);
const batch = numArg('batch', 16);
const patch = numArg('patch', 192);
const scale = numArg('scale', 4);
const precision = strArg('precision', 'fp32');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightsr-train-bench-'));

const ops = await getOps('torch');
const ours = { ms: [], cpu: [], data: [] };
const ref = { ms: [], cpu: [] };
let pyInfo = null;
try {
  for (let r = 0; r < rounds; r++) {
    const cfg = resolveConfig({
      model: 'imdn', scale, trainDir: path.join(shared, 'data/bench/B100/HR'), out: path.join(tmp, `run${r}`), cacheDir: path.join(tmp, 'cache'),
      batchSize: batch, patchSize: patch, epochs: 1, itersPerEpoch: iters + 1, logEvery: 1, threads, seed: r, precision,
    });
    await train(ops, cfg);
    const recs = JsonlLog.read(path.join(cfg.out, 'log.jsonl')).filter((x) => x.type === 'train').slice(1);
    for (const x of recs) {
      ours.ms.push(x.step_ms + x.data_ms);
      ours.cpu.push(x.cpu_ms);
      ours.data.push(x.data_ms);
    }
    const py = spawnSync('/usr/bin/python3', [path.join(here, 'train.py'), '--scale', String(scale), '--batch', String(batch), '--patch', String(patch),
      '--iters', String(iters + 1), '--threads', String(threads), '--seed', String(r), '--precision', precision], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`bench/train.py failed: ${py.stderr}`);
    pyInfo = JSON.parse(py.stdout);
    ref.ms.push(...pyInfo.ms.slice(1));
    ref.cpu.push(...pyInfo.cpu.slice(1));
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const o = median(ours.ms);
const p = median(ref.ms);
console.log(`IMDN ×${scale} training step, batch ${batch}, HR patch ${patch} (LR ${patch / scale}), L1 + Adam, ${precision}, ${threads} threads; ` +
  `${rounds} alternating rounds × ${iters} timed iterations (after 1 warm-up each)`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads)`);
console.log(['', 'ms/it (median)', 'it/s', 'CPU ms/it', 'data wait ms/it'].join('\t'));
console.log(['lightsr', o.toFixed(0), (1000 / o).toFixed(3), median(ours.cpu).toFixed(0), median(ours.data).toFixed(1)].join('\t'));
console.log(['PyTorch', p.toFixed(0), (1000 / p).toFixed(3), median(ref.cpu).toFixed(0), '-'].join('\t'));
console.log(`ratio it/s lightsr / PyTorch = ${(p / o).toFixed(3)} (wall), ${(median(ref.cpu) / median(ours.cpu)).toFixed(3)} (CPU time; steadier on a busy machine)`);
