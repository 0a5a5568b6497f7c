// IMDN ×4 on Set5: per-image inference time of lightsr (torch backend) vs the official architecture in PyTorch
// (bench/imdn.py, /usr/bin/python3), same weights, same thread count, in one run. Needs `npm run build`.
//   node bench/imdn.bench.js [--threads 2] [--repeat 3] [--scale 4]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const threads = arg('threads', 2);
const repeat = arg('repeat', 3);
const scale = arg('scale', 4);
const weights = path.join(shared, `reference/weights/imdn_x${scale}.safetensors`);
const lrDir = path.join(shared, `data/bench/Set5/LR_bicubic/X${scale}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// --- lightsr, torch backend ---
const ops = await getOps('torch');
ops.setThreads(threads);
const model = await loadModel(ops, 'imdn', scale, weights);
const ours = new Map();
for (const f of readdirSync(lrDir).filter((n) => /\.(png|bmp)$/i.test(n)).sort()) {
  const lr = await readImageRGB(path.join(lrDir, f));
  const first = await predict(ops, model, lr); // warm-up, and the value cross-checked with PyTorch
  let mean = 0;
  for (const v of first.data) mean += v;
  const times = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    await predict(ops, model, lr);
    times.push(performance.now() - t0);
  }
  ours.set(path.parse(f).name, { ms: median(times), mean: mean / first.data.length, size: `${lr.width}×${lr.height}` });
}
model.dispose();

// --- PyTorch baseline ---
const py = spawnSync('/usr/bin/python3', [path.join(here, 'imdn.py'), weights, lrDir, String(scale), '--threads', String(threads), '--repeat', String(repeat)], { encoding: 'utf8' });
if (py.status !== 0) throw new Error(`bench/imdn.py failed: ${py.stderr || py.error}`);
const ref = JSON.parse(py.stdout.trim().split('\n').pop());

// --- report ---
console.log(`IMDN ×${scale}, Set5 (${lrDir}), ${threads} threads, median of ${repeat} runs after a warm-up`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${ref.torch} (${ref.threads} threads)`);
console.log(['image', 'LR size', 'lightsr ms', 'PyTorch ms', 'ratio'].join('\t'));
let sumOurs = 0;
let sumRef = 0;
for (const r of ref.images) {
  const o = ours.get(r.name);
  if (!o) throw new Error(`no lightsr timing for ${r.name}`);
  if (Math.abs(o.mean - r.mean) > 1e-4) throw new Error(`${r.name}: outputs differ (mean ${o.mean} vs PyTorch ${r.mean})`);
  sumOurs += o.ms;
  sumRef += r.ms;
  console.log([r.name, o.size, o.ms.toFixed(1), r.ms.toFixed(1), (o.ms / r.ms).toFixed(3)].join('\t'));
}
console.log(['total', '', sumOurs.toFixed(1), sumRef.toFixed(1), (sumOurs / sumRef).toFixed(3)].join('\t'));
console.log(`ratio lightsr / PyTorch = ${(sumOurs / sumRef).toFixed(3)} (lightsr time includes host↔tensor copies)`);
