// Engine overhead: conv3×3 64→64 + LeakyReLU on 16×64×48×48, forward and forward+backward, on the
// lightsr torch backend vs PyTorch (bench/engine.py under /usr/bin/python3) with the same thread count.
// The machine is shared, so the two sides alternate iteration by iteration and the best and median
// times of each are reported; the ratio uses the best times.
//   node bench/engine.bench.js [--threads 2] [--iters 15]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTorchOps } from '../dist/backends/torch/index.js';
import { median, numArg, pythonServer } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const threads = numArg('threads', 2);
const iters = numArg('iters', 15);
const warmup = 2;
const [N, C, H, W] = [16, 64, 48, 48];
const convFlop = 2 * N * C * H * W * C * 9; // multiply-adds ×2
const gflops = (flop, ms) => flop / (ms * 1e6);

// --- PyTorch server ---
const py = await pythonServer(path.join(here, 'engine.py'), ['--threads', String(threads)]);
const pyInfo = py.info;
const pyRun = async (pass) => Number(await py.ask(pass));

// --- lightsr ---
const o = createTorchOps();
o.setThreads(threads);
o.seed(0);
const x = o.rand([N, C, H, W]);
const w = o.tidy(() => o.mul(o.rand([C, C, 3, 3], -0.5, 0.5), 0.1));
const b = o.rand([C], -0.5, 0.5);
const xg = o.noGrad(() => o.clone(x));
const wg = o.noGrad(() => o.clone(w));
const bg = o.noGrad(() => o.clone(b));
for (const t of [xg, wg, bg]) o.setRequiresGrad(t, true);
const ours = {
  fwd: () => o.noGrad(() => o.tidy(() => { o.leakyRelu(o.conv2d(x, w, b, { padding: 1 }), 0.05); })),
  fwdbwd: () => o.tidy(() => {
    o.zeroGrad([xg, wg, bg]);
    o.backward(o.mean(o.leakyRelu(o.conv2d(xg, wg, bg, { padding: 1 }), 0.05)));
  }),
};
const ourRun = (pass) => {
  const t0 = performance.now();
  ours[pass]();
  return performance.now() - t0;
};

console.log(`conv3×3 ${C}→${C} + LeakyReLU, input ${N}×${C}×${H}×${W}; ${iters} alternating iterations after ${warmup} warm-up`);
console.log(`lightsr: ${o.describe()}; baseline: PyTorch ${pyInfo.torch}, ${pyInfo.threads} threads`);
console.log('pass        lightsr ms best/median  GFLOP/s   PyTorch ms best/median  GFLOP/s   ratio ours/PyTorch');
for (const [pass, flop, label] of [['fwd', convFlop, 'forward'], ['fwdbwd', 3 * convFlop, 'fwd+bwd']]) {
  const a = [];
  const p = [];
  for (let i = 0; i < warmup + iters; i++) {
    const ta = ourRun(pass);
    const tp = await pyRun(pass);
    if (i >= warmup) {
      a.push(ta);
      p.push(tp);
    }
  }
  const [ab, pb] = [Math.min(...a), Math.min(...p)];
  const cell = (best, med) => `${best.toFixed(1)} / ${med.toFixed(1)}`.padStart(20);
  console.log(`${label.padEnd(10)}  ${cell(ab, median(a))}  ${gflops(flop, ab).toFixed(1).padStart(7)}  ${cell(pb, median(p))}  ${gflops(flop, pb).toFixed(1).padStart(7)}   ${(pb / ab).toFixed(3)}`);
}
py.close();
if (o.numTensors() !== 6) throw new Error(`tensor leak in the benchmark: ${o.numTensors()} live`);
