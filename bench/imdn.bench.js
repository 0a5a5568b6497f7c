// IMDN ×4 on Set5: per-image inference time of lightsr (torch backend) vs the official architecture in PyTorch
// (bench/imdn.py on /usr/bin/python3), same weights, same thread count, in one run. Needs `npm run build`.
// Runs alternate (ours, PyTorch, ours, PyTorch, …) so that load from other processes hits both alike;
// each side is warmed up once per image; the median of `repeat` runs is reported.
//   node bench/imdn.bench.js [--threads 2] [--repeat 3] [--scale 4]
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';
import { median, numArg, pythonServer } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const threads = numArg('threads', 2);
const repeat = numArg('repeat', 3);
const scale = numArg('scale', 4);
const weights = path.join(shared, `reference/weights/imdn_x${scale}.safetensors`);
const lrDir = path.join(shared, `data/bench/Set5/LR_bicubic/X${scale}`);

// PyTorch side: a persistent process answering one timed forward per image path.
const py = await pythonServer(path.join(here, 'imdn.py'), [weights, '-', String(scale), '--serve', '--threads', String(threads)]);
const pyInfo = py.info;
const pyRun = async (file) => JSON.parse(await py.ask(file));

const ops = await getOps('torch');
ops.setThreads(threads);
const model = await loadModel(ops, 'imdn', scale, weights);
const ourRun = async (lr) => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await predict(ops, model, lr);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  let sum = 0;
  for (const v of out.data) sum += v;
  return { ms, cpu: (c.user + c.system) / 1000, mean: sum / out.data.length };
};

console.log(`IMDN ×${scale}, Set5 (${lrDir}), ${threads} threads, median of ${repeat} alternating runs after a warm-up`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads)`);
console.log(['image', 'LR size', 'lightsr ms', 'PyTorch ms', 'ratio', 'lightsr CPU ms', 'PyTorch CPU ms', 'CPU ratio'].join('\t'));
const sum = { ours: 0, ref: 0, oursCpu: 0, refCpu: 0 };
for (const f of readdirSync(lrDir).filter((n) => /\.(png|bmp)$/i.test(n)).sort()) {
  const file = path.join(lrDir, f);
  const lr = await readImageRGB(file);
  const [a, b] = [await ourRun(lr), await pyRun(file)]; // warm-up; outputs cross-checked
  if (Math.abs(a.mean - b.mean) > 1e-4) throw new Error(`${f}: outputs differ (mean ${a.mean} vs PyTorch ${b.mean})`);
  const ours = [];
  const ref = [];
  for (let r = 0; r < repeat; r++) {
    ours.push(await ourRun(lr));
    ref.push(await pyRun(file));
  }
  const o = median(ours.map((x) => x.ms));
  const p = median(ref.map((x) => x.ms));
  const oc = median(ours.map((x) => x.cpu));
  const pc = median(ref.map((x) => x.cpu));
  sum.ours += o;
  sum.ref += p;
  sum.oursCpu += oc;
  sum.refCpu += pc;
  console.log([path.parse(f).name, `${lr.width}×${lr.height}`, o.toFixed(1), p.toFixed(1), (o / p).toFixed(3), oc.toFixed(0), pc.toFixed(0), (oc / pc).toFixed(3)].join('\t'));
}
py.close();
model.dispose();
console.log(['total', '', sum.ours.toFixed(1), sum.ref.toFixed(1), (sum.ours / sum.ref).toFixed(3), sum.oursCpu.toFixed(0), sum.refCpu.toFixed(0), (sum.oursCpu / sum.refCpu).toFixed(3)].join('\t'));
console.log(`ratio lightsr / PyTorch = ${(sum.ours / sum.ref).toFixed(3)} wall, ${(sum.oursCpu / sum.refCpu).toFixed(3)} CPU time (lightsr includes the host↔tensor copies; CPU time is steadier on a busy machine)`);
