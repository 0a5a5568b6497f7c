// HPINet on Set5: per-image inference time of lightsr (torch backend) vs the same network in plain PyTorch
// (bench/hpinet.py on /usr/bin/python3, loop-based patch division like the released code), same weights and
// thread count. Runs alternate (lightsr, PyTorch, …) so that load from other processes hits both alike; one
// warm-up per image (outputs cross-checked), then the median of `repeat` runs. Needs `npm run build`.
//   node bench/hpinet.bench.js [--variant M|S] [--scale 4] [--threads 2] [--repeat 3]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';
import { alternate, imageFiles, numArg, pythonServer, strArg, timedMean } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const variant = strArg('variant', 'M').toUpperCase();
const scale = numArg('scale', 4);
const threads = numArg('threads', 2);
const repeat = numArg('repeat', 3);
const weights = path.join(shared, `reference/weights/hpinet_${variant.toLowerCase()}_x${scale}.safetensors`);
const lrDir = path.join(shared, `data/bench/Set5/LR_bicubic/X${scale}`);

const py = await pythonServer(path.join(here, 'hpinet.py'), [weights, variant, String(scale), '--serve', '--threads', String(threads)]);
const pyRun = async (file) => JSON.parse(await py.ask(file));

const ops = await getOps('torch');
ops.setThreads(threads);
const model = await loadModel(ops, `hpinet-${variant.toLowerCase()}`, scale, weights);

console.log(`HPINet-${variant} ×${scale}, Set5 (${lrDir}), ${threads} threads, median of ${repeat} alternating runs after a warm-up`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${py.info.torch} (${py.info.threads} threads)`);
console.log(['image', 'LR size', 'lightsr ms', 'PyTorch ms', 'ratio', 'lightsr CPU ms', 'PyTorch CPU ms'].join('\t'));
const tot = { ours: 0, ref: 0, oursCpu: 0, refCpu: 0 };
for (const f of imageFiles(lrDir)) {
  const file = path.join(lrDir, f);
  const lr = await readImageRGB(file);
  const m = await alternate(f, () => timedMean(() => predict(ops, model, lr)), () => pyRun(file), repeat);
  for (const k of Object.keys(tot)) tot[k] += m[k];
  console.log([path.parse(f).name, `${lr.width}×${lr.height}`, m.ours.toFixed(0), m.ref.toFixed(0), (m.ours / m.ref).toFixed(3), m.oursCpu.toFixed(0), m.refCpu.toFixed(0)].join('\t'));
}
py.close();
model.dispose();
console.log(['total', '', tot.ours.toFixed(0), tot.ref.toFixed(0), (tot.ours / tot.ref).toFixed(3), tot.oursCpu.toFixed(0), tot.refCpu.toFixed(0)].join('\t'));
console.log(`ratio lightsr / PyTorch = ${(tot.ours / tot.ref).toFixed(3)} wall, ${(tot.oursCpu / tot.refCpu).toFixed(3)} CPU time`);
