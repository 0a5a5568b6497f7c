// IMDN ×4 inference: onnxruntime-node (the graph from `lightsr export`) vs lightsr's torch backend vs PyTorch
// (bench/imdn.py), same weights and thread count, in one run: Set5 per image and one 320×180 → 1280×720 image.
// Runs alternate (onnx, torch, PyTorch, …); the median of `repeat` runs after a warm-up is reported (wall and
// process CPU ms). Peak RSS: each side once more in its own fresh process on the 1280×720 image. Needs `npm run build`.
// The `--backend onnx` column runs the same network through the op interface on onnxruntime (lazy.ts, its own
// same threads). Peak RSS sides: onnx, lazy (--backend onnx), torch.
//   node bench/onnx.bench.js [--threads 2] [--repeat 3]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getOps } from '../dist/engine/select.js';
import '../dist/models/index.js';
import { loadModel } from '../dist/models/load.js';
import { predict } from '../dist/models/infer.js';
import { readImageRGB } from '../dist/image/io.js';
import { createOnnxUpscaler } from '../dist/backends/onnx/runtime.js';
import { createOnnxOps } from '../dist/backends/onnx/lazy.js';
import { imageFiles, median, numArg, pythonServer, strArg, timedMean } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, '../../shared');
const threads = numArg('threads', 2);
const repeat = numArg('repeat', 3);
const weights = path.join(shared, 'reference/weights/imdn_x4.safetensors');
const lrDir = path.join(shared, 'data/bench/Set5/LR_bicubic/X4');

/** A 320×180 test image (×4 → 1280×720): seeded smooth pattern plus noise. */
function bigImage() {
  const [w, h] = [320, 180];
  const data = new Float32Array(3 * w * h);
  let s = 1;
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[(c * h + y) * w + x] = 0.5 + 0.35 * Math.sin(x / (7 + c) + y / 11) + 0.1 * (s / 2 ** 32 - 0.5);
  }
  return { channels: 3, width: w, height: h, data };
}

/** The two sides (or only `only`): SR functions of a planar image. */
async function makeSides(only) {
  const s = {};
  if (!only || only === 'onnx') {
    const onnx = await createOnnxUpscaler('imdn', 4, weights, { threads, cacheDir: null });
    s.onnx = (lr) => onnx.run(lr);
  }
  if (!only || only === 'lazy') {
    // --backend onnx: the op interface on onnxruntime through the usual predict path
    const ops = await createOnnxOps({ threads });
    const model = await loadModel(ops, 'imdn', 4, weights);
    s.lazy = (lr) => predict(ops, model, lr);
  }
  if (!only || only === 'torch') {
    const ops = await getOps('torch');
    ops.setThreads(threads);
    const model = await loadModel(ops, 'imdn', 4, weights);
    s.torch = (lr) => predict(ops, model, lr);
    s.describe = ops.describe();
  }
  return s;
}

/** Peak RSS in MB of this process (VmHWM: per address space, so not inherited from the parent like ru_maxrss). */
const peakMB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;

const side = strArg('rss', undefined);
if (side) {
  // child: one side on the 1280×720 image, then its peak RSS
  const s = await makeSides(side);
  const before = peakMB();
  await s[side](bigImage());
  console.log(JSON.stringify({ side, maxRssMB: peakMB(), beforeMB: before }));
  process.exit(0);
}

const s = await makeSides();
const py = await pythonServer(path.join(here, 'imdn.py'), [weights, '-', '4', '--serve', '--threads', String(threads)]);
console.log(`IMDN ×4, ${threads} threads, median of ${repeat} alternating runs after a warm-up`);
console.log(`torch: ${s.describe}; onnxruntime-node 1.30.0 (CPU EP); PyTorch ${py.info.torch}`);
console.log('onnx = exported graph in one session; --backend onnx = the op interface on onnxruntime via predict');
console.log(['image', 'LR size', 'onnx ms', '--backend onnx ms', 'torch ms', 'PyTorch ms', 'onnx/torch', 'onnx CPU ms', '--backend onnx CPU ms', 'torch CPU ms', 'PyTorch CPU ms'].join('\t'));
const total = { onnx: 0, lazy: 0, torch: 0, py: 0 };
const cases = imageFiles(lrDir).map((f) => ({ name: path.parse(f).name, file: path.join(lrDir, f) }));
for (const c of [...cases, { name: '1280x720 out', file: null }]) {
  const lr = c.file ? await readImageRGB(c.file) : bigImage();
  const pyRun = async () => JSON.parse(await py.ask(c.file ?? '-'));
  const runs = { onnx: [], lazy: [], torch: [], py: [] };
  const w = [await timedMean(() => s.onnx(lr)), await timedMean(() => s.torch(lr)), await timedMean(() => s.lazy(lr))];
  if (Math.abs(w[0].mean - w[1].mean) > 1e-4 || Math.abs(w[2].mean - w[1].mean) > 1e-4) {
    throw new Error(`${c.name}: outputs differ (mean onnx ${w[0].mean}, torch ${w[1].mean}, --backend onnx ${w[2].mean})`);
  }
  if (c.file) await pyRun();
  for (let r = 0; r < repeat; r++) {
    runs.onnx.push(await timedMean(() => s.onnx(lr)));
    runs.lazy.push(await timedMean(() => s.lazy(lr)));
    runs.torch.push(await timedMean(() => s.torch(lr)));
    if (c.file) runs.py.push(await pyRun());
  }
  const med = (k, f) => (runs[k].length ? median(runs[k].map((x) => x[f])) : NaN);
  if (c.file) for (const k of Object.keys(total)) total[k] += med(k, 'ms');
  console.log([c.name, `${lr.width}×${lr.height}`, med('onnx', 'ms').toFixed(1), med('lazy', 'ms').toFixed(1), med('torch', 'ms').toFixed(1), c.file ? med('py', 'ms').toFixed(1) : '-',
    (med('onnx', 'ms') / med('torch', 'ms')).toFixed(3), med('onnx', 'cpu').toFixed(0), med('lazy', 'cpu').toFixed(0), med('torch', 'cpu').toFixed(0), c.file ? med('py', 'cpu').toFixed(0) : '-'].join('\t'));
}
py.close();
console.log(['Set5 total', '', total.onnx.toFixed(1), total.lazy.toFixed(1), total.torch.toFixed(1), total.py.toFixed(1), (total.onnx / total.torch).toFixed(3)].join('\t'));
for (const k of ['onnx', 'lazy', 'torch']) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss', k, '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peak RSS run (${k}) failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`peak RSS, 1280×720 output, fresh process: ${k} ${j.maxRssMB.toFixed(0)} MB (after loading: ${j.beforeMB.toFixed(0)} MB)`);
}
