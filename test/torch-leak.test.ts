// libtorch backend: a long training loop must not leak native tensors or memory.
import { expect, test } from 'vitest';
import { createTorchOps } from '../src/backends/torch/index.js';
import type { Tensor } from '../src/engine/ops.js';

test('10,000 forward+backward+Adam steps keep RSS flat and numTensors constant', () => {
  const o = createTorchOps();
  o.setThreads(1);
  o.seed(1);
  const start = o.numTensors();
  const param = (shape: number[]): Tensor => {
    const t = o.rand(shape, -0.3, 0.3);
    o.setRequiresGrad(t, true);
    return t;
  };
  const w1 = param([4, 1, 3, 3]);
  const b1 = param([4]);
  const w2 = param([1, 4, 3, 3]);
  const b2 = param([1]);
  const params = [w1, b1, w2, b2];
  const opt = o.adam(params, { lr: 1e-3 });
  const x = o.rand([2, 1, 8, 8]);
  const target = o.tidy(() => o.flip(x, [3]));

  let firstLoss = 0;
  let lastLoss = 0;
  const step = (): number => o.tidy(() => {
    opt.zeroGrad();
    const h = o.leakyRelu(o.conv2d(x, w1, b1, { padding: 1 }), 0.1);
    const y = o.add(o.conv2d(h, w2, b2, { padding: 1 }), x);
    const loss = o.mean(o.abs(o.sub(y, target)));
    o.backward(loss);
    opt.step();
    return o.readSync(loss)[0];
  });

  for (let i = 0; i < 1000; i++) firstLoss = i === 0 ? step() : (step(), firstLoss);
  const rss0 = process.memoryUsage().rss;
  const live0 = o.numTensors();
  for (let i = 0; i < 10_000; i++) lastLoss = step();
  const rss1 = process.memoryUsage().rss;
  expect(o.numTensors()).toBe(live0);
  expect(Math.abs(rss1 - rss0)).toBeLessThan(50 * 2 ** 20);
  expect(lastLoss).toBeLessThan(firstLoss); // it did train

  // The optimizer's state is exported as copies that the caller owns.
  const st = opt.stateDict();
  expect(st.size).toBe(12);
  for (const t of st.values()) o.dispose(t);
  opt.dispose();
  o.dispose([...params, x, target]);
  expect(o.numTensors()).toBe(start);
});
