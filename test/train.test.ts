// Training: losses, a tiny run that learns, every registered network trains, --init, the exported weights + card.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TrainOps } from '../src/engine/ops.js';
import { readSafetensorsSync } from '../src/engine/safetensors.js';
import { getOps } from '../src/engine/select.js';
import { ssim as ssimRef } from '../src/eval/metrics.js';
import { crop } from '../src/image/bicubic.js';
import { readImage, writeImage } from '../src/image/io.js';
import '../src/models/index.js';
import { loadModel } from '../src/models/load.js';
import { getEntry, listEntries } from '../src/models/index.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { resolveConfig } from '../src/train/config.js';
import { charbonnier, l1, SSIM } from '../src/train/losses.js';
import { JsonlLog } from '../src/train/progress.js';
import { loadMatching, train, Trainer } from '../src/train/trainer.js';

const shared = path.resolve(import.meta.dirname, '../../shared');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightsr-train-'));
const data = path.join(tmp, 'set14-crops');
let o: TrainOps;

beforeAll(async () => {
  o = (await getOps('torch')) as TrainOps;
  // 8 crops (96×96) of Set14 images as a tiny training set.
  fs.mkdirSync(data);
  const names = fs.readdirSync(path.join(shared, 'data/bench/Set14/HR')).sort().slice(0, 8);
  for (const n of names) {
    const img = (await readImage(path.join(shared, 'data/bench/Set14/HR', n))).image;
    await writeImage(path.join(data, n.replace(/\.\w+$/, '.png')), crop(img, 20, 20, 96, 96));
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = (out: string, extra: Record<string, unknown> = {}) => resolveConfig({
  model: 'imdn', scale: 2, trainDir: data, out: path.join(tmp, out), cacheDir: path.join(tmp, 'cache'),
  batchSize: 4, patchSize: 48, epochs: 1, logEvery: 1, threads: 1, ...extra,
});

describe('losses', () => {
  it('SSIM equals the evaluation SSIM and is differentiable; L1 and Charbonnier agree on large errors', () => {
    const h = 40, w = 36;
    const a = new Float32Array(h * w), b = new Float32Array(h * w);
    for (let i = 0; i < a.length; i++) {
      a[i] = 0.5 + 0.4 * Math.sin(i * 0.37) * Math.cos(i * 0.011);
      b[i] = Math.min(1, Math.max(0, a[i] + 0.1 * Math.sin(i * 1.7)));
    }
    const ref = ssimRef(Float64Array.from(a, (v) => v * 255), Float64Array.from(b, (v) => v * 255), h, w);
    const s = new SSIM(o, 1);
    const ta = o.tensor(a, [1, 1, h, w]);
    o.setRequiresGrad(ta, true);
    const tb = o.tensor(b, [1, 1, h, w]);
    const v = s.compute(ta, tb);
    expect((o.readSync(v) as Float32Array)[0]).toBeCloseTo(ref, 4);
    expect(ref).toBeLessThan(0.99);
    o.backward(v);
    const g = o.grad(ta)!;
    expect(Math.max(...Array.from(o.readSync(g) as Float32Array, Math.abs))).toBeGreaterThan(0);
    const same = s.compute(tb, tb);
    expect((o.readSync(same) as Float32Array)[0]).toBeCloseTo(1, 5);
    const big = o.add(tb, 0.5);
    expect((o.readSync(charbonnier(o, big, tb)) as Float32Array)[0]).toBeCloseTo((o.readSync(l1(o, big, tb)) as Float32Array)[0], 4);
    o.dispose([ta, tb, v, g, same, big]);
    s.dispose();
  });
});

describe('training', () => {
  it('a tiny IMDN run lowers the loss and exports weights with a card that loadModel accepts', async () => {
    const cfg = base('tiny', { itersPerEpoch: 15, epochs: 2, lr: 5e-4, ema: 0.9, seed: 3 });
    const s = await train(o, cfg);
    expect(s.status).toBe('finished');
    expect(s.iterations).toBe(30);
    const losses = JsonlLog.read(path.join(cfg.out, 'log.jsonl')).filter((r) => r.type === 'train').map((r) => r.loss as number);
    expect(losses.length).toBe(30);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));

    const card = JSON.parse(fs.readFileSync(path.join(cfg.out, 'model.safetensors.json'), 'utf8'));
    expect(card).toMatchObject({ architecture: 'imdn', scale: 2, weights: 'model', iteration: 30 });
    expect(card.recipe.loss).toBe('l1');
    expect(readSafetensorsSync(path.join(cfg.out, 'model.safetensors')).metadata).toMatchObject({ architecture: 'imdn', scale: '2' });
    const m = await loadModel(o, 'imdn', 2, path.join(cfg.out, 'model.safetensors'));
    m.dispose();
    const e = await loadModel(o, 'imdn', 2, path.join(cfg.out, 'model_ema.safetensors'));
    e.dispose();
    await expect(loadModel(o, 'imdn', 3, path.join(cfg.out, 'model.safetensors'))).rejects.toThrow(/×2/);
    // an existing run is not overwritten without --resume
    await expect(train(o, cfg)).rejects.toThrow(/already holds a training run \(last\.safetensors\); resume it or choose another output folder$/);
  });

  it('Trainer: requestStop saves a checkpoint at the next step boundary; the library prints nothing and leaves signals alone', async () => {
    const cfg = base('stop', { itersPerEpoch: 10, epochs: 1, seed: 5 });
    const signals = () => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const before = signals();
    const stderr = vi.spyOn(process.stderr, 'write');
    const messages: string[] = [];
    const seen: number[] = [];
    try {
      const t = await Trainer.open(o, cfg, {
        onLog: (m) => messages.push(m),
        onProgress: (p) => {
          seen.push(p.iteration);
          if (p.iteration === 3) t.requestStop();
        },
      });
      expect(t.itersPerEpoch).toBe(10);
      expect(signals()).toEqual(before);
      const s = await t.run();
      expect(s.status).toBe('stopped');
      expect(s.iterations).toBe(3);
      expect(seen).toEqual([1, 2, 3]);
      expect(stderr).not.toHaveBeenCalled();
    } finally {
      stderr.mockRestore();
    }
    expect(messages.some((m) => /^data: 8 images from /.test(m))).toBe(true);
    expect(messages.some((m) => /^imdn ×2: .*K params; batch 4 × 48px HR/.test(m))).toBe(true);
    expect(loadCheckpoint(path.join(cfg.out, 'last.safetensors')).state.iteration).toBe(3);
    const r = await train(o, cfg, { resume: true });
    expect(r).toMatchObject({ status: 'finished', iterations: 10 });
  });

  // HPINet-M and -L run the same code as -S with other widths and patch lists (their training-mode backward
  // is checked in zoo.test.ts), so the HPINet family trains here once, as hpinet-s.
  it('every registered network (HPINet as hpinet-s) trains for 3 iterations (batch 2, small patches)', async () => {
    const entries = listEntries().filter((e) => !['hpinet-m', 'hpinet-l'].includes(e.name));
    expect(entries.map((e) => e.name)).toContain('hpinet-s');
    for (const entry of entries) {
      const scale = entry.scales.includes(2) ? 2 : entry.scales[0];
      const lrSide = Math.max(24, entry.minInput ?? 0);
      const cfg = base(`zoo-${entry.name}`, {
        model: entry.name, scale, batchSize: 2, patchSize: lrSide * scale, itersPerEpoch: 3, epochs: 1, lr: 1e-4,
      });
      const s = await train(o, cfg);
      expect(s.iterations, entry.name).toBe(3);
      expect(Number.isFinite(s.last_loss), entry.name).toBe(true);
      // the weights moved away from the seeded initialisation
      o.seed(cfg.seed);
      const fresh = entry.create(o, scale);
      const trained = readSafetensorsSync(path.join(cfg.out, 'model.safetensors')).tensors;
      const changed = fresh.namedParams().filter(([n, p]) => p.trainable && (o.readSync(p.value) as Float32Array).some((v, i) => v !== trained.get(n)!.data[i]));
      expect(changed.length, entry.name).toBeGreaterThan(0);
      fresh.dispose();
    }
  }, 900_000); // HPINet's training step dominates

  it('--init loads matching tensors and keeps the upsampler fresh (x4 from x2)', () => {
    o.seed(1);
    const m = getEntry('imdn').create(o, 4);
    const r = loadMatching(m, path.join(shared, 'reference/weights/imdn_x2.safetensors'));
    expect(r.skipped.length).toBe(2);
    expect(r.skipped.join(' ')).toMatch(/upsampler/);
    const ref = readSafetensorsSync(path.join(shared, 'reference/weights/imdn_x2.safetensors')).tensors;
    expect(Array.from(o.readSync(m.namedParams()[0][1].value) as Float32Array)).toEqual(Array.from(ref.get(m.namedParams()[0][0])!.data));
    m.dispose();
    expect(() => loadMatching(getEntry('rfdn').create(o, 2), path.join(shared, 'reference/weights/hpinet_m_x2.safetensors'))).toThrow(/no tensor matches/);
  });

  it('--precision bf16: a run switched from fp32 on resume keeps learning and its card says when bf16 began', async () => {
    const cfg = base('bf16', { itersPerEpoch: 15, epochs: 2, lr: 5e-4, seed: 3, maxIters: 15 });
    expect((await train(o, cfg)).status).toBe('max_iters');
    const cfg16 = resolveConfig({ ...cfg, maxIters: null, precision: 'bf16' });
    if (!/\b(avx512_bf16|amx_bf16)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'))) {
      // without native bf16 the option is refused before anything changes
      await expect(train(o, cfg16, { resume: true })).rejects.toThrow(/AVX512-BF16 or AMX-BF16/);
      return;
    }
    const s = await train(o, cfg16, { resume: true });
    expect(s.status).toBe('finished');
    const losses = JsonlLog.read(path.join(cfg.out, 'log.jsonl')).filter((r) => r.type === 'train').map((r) => r.loss as number);
    expect(losses.length).toBe(30);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5))).toBeLessThan(0.6 * mean(losses.slice(0, 5)));
    const card = JSON.parse(fs.readFileSync(path.join(cfg.out, 'model.safetensors.json'), 'utf8'));
    expect(card.recipe.precision).toBe('fp32 to it 15, then bf16');
    expect(card.iteration).toBe(30);
  });

  it('rejects bad options with one clear message', () => {
    expect(() => base('bad', { precision: 'fp16' as never })).toThrow(/^precision must be one of fp32, bf16/);
    expect(() => base('bad', { patchSize: 47 })).toThrow(/multiple of the scale/);
    expect(() => base('bad', { loss: 'l2' as never })).toThrow(/^loss must be one of/);
    expect(() => base('bad', { model: 'nope' })).toThrow(/unknown model/);
    expect(() => base('bad', { scale: 5 })).toThrow(/no ×5/);
    expect(() => base('bad', { ema: 1.5 })).toThrow(/^ema decay must be in/);
  });
});
