// `--backend onnx`: the op interface run lazily on onnxruntime-node (src/backends/onnx/lazy.ts). Explicit only
// ('auto' keeps torch → tfjs); inference through the same predict/upscale/eval paths; equal to torch within 1e-4.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxOps } from '../src/backends/onnx/lazy.js';
import { createTorchOps } from '../src/backends/torch/index.js';
import { register as evalCommand } from '../src/cli/eval.js';
import { register as upscaleCommand } from '../src/cli/upscale.js';
import type { Ops } from '../src/engine/ops.js';
import { isTrainOps } from '../src/engine/ops.js';
import { pickBackend, resolveBackend } from '../src/engine/select.js';
import { readImageRGB } from '../src/image/io.js';
import { predict } from '../src/models/infer.js';
import { loadModel } from '../src/models/load.js';
import { buildModel } from '../src/models/card.js';
import { getEntry } from '../src/models/index.js';
import { runCli } from './helpers/cli.js';
import { referenceWeights, shared } from './helpers/fixtures.js';
import { maxAbs } from './helpers/onnx.js';

const BIRD = path.join(shared, 'data/bench/Set5/LR_bicubic/X4/birdx4.png');
let tmp: string;
let onnx: Ops;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-onnx-backend-'));
  onnx = await createOnnxOps({ threads: 1 });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('onnx backend', () => {
  it('is a valid explicit name, inference only, and never what auto picks', async () => {
    expect(resolveBackend('onnx', {})).toBe('onnx');
    expect(resolveBackend(undefined, { LIGHTSR_BACKEND: 'onnx' })).toBe('onnx');
    expect(isTrainOps(onnx)).toBe(false);
    expect(onnx.describe()).toMatch(/^onnxruntime-node 1\.30\.0 \(CPU, 1 threads\)$/);
    const fake = (name: string) => async () => ({ name }) as unknown as Ops;
    expect((await pickBackend('auto', { torch: fake('torch'), tfjs: fake('tfjs'), onnx: fake('onnx') })).ops.name).toBe('torch');
    expect((await pickBackend('onnx', { torch: fake('torch'), tfjs: fake('tfjs'), onnx: fake('onnx') })).ops.name).toBe('onnx');
  });

  it('IMDN ×4 (official weights) on Set5 bird, plain and self-ensemble: equal to torch within 1e-4', async () => {
    const lr = await readImageRGB(BIRD);
    const torch = createTorchOps();
    const [mo, mt] = [await loadModel(onnx, 'imdn', 4, referenceWeights('imdn_x4.safetensors')), await loadModel(torch, 'imdn', 4, referenceWeights('imdn_x4.safetensors'))];
    for (const selfEnsemble of [false, true]) {
      const a = await predict(onnx, mo, lr, { selfEnsemble });
      const b = await predict(torch, mt, lr, { selfEnsemble });
      expect([a.width, a.height]).toEqual([lr.width * 4, lr.height * 4]);
      expect(maxAbs(a.data, b.data)).toBeLessThan(1e-4);
    }
    mt.dispose();
  });

  it.each([['hpinet-s', 2], ['rfdn', 4], ['rdnesa', 3], ['hfdn', 3], ['shsr', 2], ['imdn-as', 1]] as const)(
    '%s ×%i (random weights, 18×13 input, below ESA\'s 15 px and HPINet\'s patch size): equal to torch within 1e-4', async (name, scale) => {
      const torch = createTorchOps();
      const mt = buildModel(torch, getEntry(name, scale), scale);
      const mo = buildModel(onnx, getEntry(name, scale), scale, mt.stateDict());
      const lr = { channels: 3, height: 13, width: 18, data: Float32Array.from({ length: 3 * 13 * 18 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2) };
      const a = await predict(onnx, mo, lr);
      const b = await predict(torch, mt, lr);
      mt.dispose();
      expect([a.width, a.height]).toEqual([18 * scale, 13 * scale]);
      expect(maxAbs(a.data, b.data)).toBeLessThan(1e-4);
    });

  it('values are read asynchronously only: readSync of a computed tensor says why it cannot', () => {
    const x = onnx.tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(Array.from(onnx.readSync(x))).toEqual([1, 2, 3, 4]);
    expect(() => onnx.readSync(onnx.relu(x))).toThrow(/cannot read values synchronously .* use --backend torch or tfjs/);
  });

  it('lightsr --backend onnx upscale (tiles + self-ensemble) is within 1 LSB of torch', async () => {
    const out = (b: string) => path.join(tmp, `bird_${b}.png`);
    for (const b of ['onnx', 'torch']) {
      const r = await runCli(upscaleCommand, ['upscale', BIRD, '-o', out(b), '-t', '32', '-x'], { LIGHTSR_BACKEND: b });
      expect(r.error, b).toBeUndefined();
    }
    const [a, c] = await Promise.all(['onnx', 'torch'].map((b) => sharp(out(b)).raw().toBuffer()));
    expect(a!.length).toBe(288 * 288 * 3);
    let worst = 0;
    for (let i = 0; i < a!.length; i++) worst = Math.max(worst, Math.abs(a![i]! - c![i]!));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('--exact tiling (synchronous tile statistics) is refused on onnx with the reason, nothing written', async () => {
    const out = path.join(tmp, 'baby_exact.png');
    const r = await runCli(upscaleCommand, ['upscale', path.join(shared, 'data/bench/Set5/LR_bicubic/X4/babyx4.png'), '-o', out, '-t', '48', '--exact'],
      { LIGHTSR_BACKEND: 'onnx' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the onnx backend cannot read values synchronously .*use --backend torch or tfjs/);
    expect(existsSync(out)).toBe(false);
  });

  it('lightsr --backend onnx eval: Set5 ×4 IMDN 32.21 dB', async () => {
    const r = await runCli(evalCommand, ['eval', '--model', 'imdn', '--scale', '4', '--data', path.join(shared, 'data/bench/Set5'),
      '--weights', referenceWeights('imdn_x4.safetensors')], { LIGHTSR_BACKEND: 'onnx' });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/imdn\s+×4\s+32\.21\/0\.8948/);
  });
});
