// HPINet on Set5: per-image inference time of lightsr (torch backend) vs the same network in plain PyTorch
// (bench/hpinet.py on /usr/bin/python3, loop-based patch division like the released code), same weights and
// thread count. Runs alternate (lightsr, PyTorch, …) so that load from other processes hits both alike; one
// warm-up per image (outputs cross-checked), then the median of `repeat` runs. Needs `npm run build`.
//   node bench/hpinet.bench.js [--variant M|S] [--scale 4] [--threads 2] [--repeat 3]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const variant = opt('variant', 'M').toUpperCase();
const scale = Number(opt('scale', '4'));
const threads = Number(opt('threads', '2'));
const repeat = Number(opt('repeat', '3'));
const weights = path.join(shared, `reference/weights/hpinet_${variant.toLowerCase()}_x${scale}.safetensors`);
const lrDir = path.join(shared, `data/bench/Set5/LR_bicubic/X${scale}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const py = spawn('/usr/bin/python3', [path.join(here, 'hpinet.py'), weights, variant, String(scale), '--serve', '--threads', String(threads)], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
const next = async () => {
  const { value, done } = await lines.next();
  if (done) throw new Error('bench/hpinet.py stopped (see its error above)');
  return JSON.parse(value);
};
const pyInfo = await next();
const pyRun = async (file) => {
  py.stdin.write(`${file}\n`);
  return next();
};

const ops = await getOps('torch');
ops.setThreads(threads);
const model = await loadModel(ops, `hpinet-${variant.toLowerCase()}`, scale, weights);
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

console.log(`HPINet-${variant} ×${scale}, Set5 (${lrDir}), ${threads} threads, median of ${repeat} alternating runs after a warm-up`);
console.log(`lightsr: ${ops.describe()}; PyTorch ${pyInfo.torch} (${pyInfo.threads} threads)`);
console.log(['image', 'LR size', 'lightsr ms', 'PyTorch ms', 'ratio', 'lightsr CPU ms', 'PyTorch CPU ms'].join('\t'));
const tot = { ours: 0, ref: 0, oursCpu: 0, refCpu: 0 };
for (const f of readdirSync(lrDir).filter((n) => /\.(png|bmp)$/i.test(n)).sort()) {
  const file = path.join(lrDir, f);
  const lr = await readImageRGB(file);
  const [a, b] = [await ourRun(lr), await pyRun(file)];
  if (Math.abs(a.mean - b.mean) > 1e-4) throw new Error(`${f}: outputs differ (mean ${a.mean} vs PyTorch ${b.mean})`);
  const ours = [];
  const ref = [];
  for (let r = 0; r < repeat; r++) {
    ours.push(await ourRun(lr));
    ref.push(await pyRun(file));
  }
  const row = [median(ours.map((x) => x.ms)), median(ref.map((x) => x.ms)), median(ours.map((x) => x.cpu)), median(ref.map((x) => x.cpu))];
  tot.ours += row[0];
  tot.ref += row[1];
  tot.oursCpu += row[2];
  tot.refCpu += row[3];
  console.log([path.parse(f).name, `${lr.width}×${lr.height}`, row[0].toFixed(0), row[1].toFixed(0), (row[0] / row[1]).toFixed(3), row[2].toFixed(0), row[3].toFixed(0)].join('\t'));
}
py.stdin.end();
model.dispose();
console.log(['total', '', tot.ours.toFixed(0), tot.ref.toFixed(0), (tot.ours / tot.ref).toFixed(3), tot.oursCpu.toFixed(0), tot.refCpu.toFixed(0)].join('\t'));
console.log(`ratio lightsr / PyTorch = ${(tot.ours / tot.ref).toFixed(3)} wall, ${(tot.oursCpu / tot.refCpu).toFixed(3)} CPU time`);
