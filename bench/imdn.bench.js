// IMDN ×4 on Set5: per-image inference time of lightsr (torch backend) vs the official architecture in PyTorch
// (bench/imdn.py on /usr/bin/python3), same weights, same thread count, in one run. Needs `npm run build`.
// Runs alternate (ours, PyTorch, ours, PyTorch, …) so that load from other processes hits both alike;
// each side is warmed up once per image; the median of `repeat` runs is reported.
//   node bench/imdn.bench.js [--threads 2] [--repeat 3] [--scale 4]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';
import { alternate, imageFiles, numArg, pythonServer, timedMean } from './lib.js';

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

console.log(`IMDN ×${scale}, Set5 (${lrDir}), ${threads} threads, median of ${repeat} alternating runs after a warm-up`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads)`);
console.log(['image', 'LR size', 'lightsr ms', 'PyTorch ms', 'ratio', 'lightsr CPU ms', 'PyTorch CPU ms', 'CPU ratio'].join('\t'));
const sum = { ours: 0, ref: 0, oursCpu: 0, refCpu: 0 };
for (const f of imageFiles(lrDir)) {
  const file = path.join(lrDir, f);
  const lr = await readImageRGB(file);
  const m = await alternate(f, () => timedMean(() => predict(ops, model, lr)), () => pyRun(file), repeat);
  for (const k of Object.keys(sum)) sum[k] += m[k];
  console.log([path.parse(f).name, `${lr.width}×${lr.height}`, m.ours.toFixed(1), m.ref.toFixed(1), (m.ours / m.ref).toFixed(3), m.oursCpu.toFixed(0), m.refCpu.toFixed(0), (m.oursCpu / m.refCpu).toFixed(3)].join('\t'));
}
py.close();
model.dispose();
console.log(['total', '', sum.ours.toFixed(1), sum.ref.toFixed(1), (sum.ours / sum.ref).toFixed(3), sum.oursCpu.toFixed(0), sum.refCpu.toFixed(0), (sum.oursCpu / sum.refCpu).toFixed(3)].join('\t'));
console.log(`ratio lightsr / PyTorch = ${(sum.ours / sum.ref).toFixed(3)} wall, ${(sum.oursCpu / sum.refCpu).toFixed(3)} CPU time (lightsr includes the host↔tensor copies; CPU time is steadier on a busy machine)`);
