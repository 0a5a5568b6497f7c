// The onnxruntime path end to end (issue 18's "done" check): export on the fly → onnxruntime-node → Set5 ×4
// PSNR/SSIM equal to the torch backend's through the same evaluator; the exported file is cached by weights hash.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxUpscaler, type OnnxUpscaler } from '../src/backends/onnx/runtime.js';
import { createTorchOps } from '../src/backends/torch/index.js';
import { evaluateDataset } from '../src/eval/benchmark.js';
import { predict } from '../src/models/infer.js';
import { loadModel } from '../src/models/load.js';
import { referenceWeights, repoRoot, shared } from './helpers/fixtures.js';

const WEIGHTS = referenceWeights('imdn_x4.safetensors');
const SET5 = path.join(shared, 'data/bench/Set5');
let cache: string;
let up: OnnxUpscaler;

beforeAll(async () => {
  cache = mkdtempSync(path.join(tmpdir(), 'lightsr-onnx-cache-'));
  up = await createOnnxUpscaler('imdn', 4, WEIGHTS, { cacheDir: cache, threads: 1 });
});
afterAll(async () => {
  await up?.release();
  rmSync(cache, { recursive: true, force: true });
});

describe('onnxruntime upscaler', () => {
  it('Set5 ×4: PSNR/SSIM through onnxruntime equal the torch backend (IMDN, official weights)', async () => {
    const onnx = await evaluateDataset(SET5, 4, (lr) => up.run(lr));
    const ops = createTorchOps();
    const model = await loadModel(ops, 'imdn', 4, WEIGHTS);
    const torch = await evaluateDataset(SET5, 4, (lr) => predict(ops, model, lr));
    model.dispose();
    expect(onnx.images.map((i) => i.name)).toEqual(torch.images.map((i) => i.name));
    expect(onnx.images.length).toBe(5);
    onnx.images.forEach((im, k) => {
      expect(Math.abs(im.psnr - torch.images[k]!.psnr), im.name).toBeLessThan(0.002);
      expect(Math.abs(im.ssim - torch.images[k]!.ssim), im.name).toBeLessThan(1e-5);
    });
    expect(onnx.psnr).toBeCloseTo(32.21, 1); // the paper's Set5 ×4 score, which lightsr eval reproduces
  });

  it('caches the exported file by weights hash: same weights reuse it, other weights get their own', async () => {
    expect(up.file).not.toBeNull();
    const first = statSync(up.file!).mtimeMs;
    const again = await createOnnxUpscaler('imdn', 4, WEIGHTS, { cacheDir: cache });
    expect(again.file).toBe(up.file);
    expect(statSync(again.file!).mtimeMs).toBe(first);
    await again.release();
    const other = await createOnnxUpscaler('imdn', 4, path.join(repoRoot, 'weights/imdn_x4.safetensors'), { cacheDir: cache });
    expect(other.file).not.toBe(up.file);
    await other.release();
    expect(readdirSync(cache).filter((f) => f.endsWith('.onnx')).length).toBe(2);
    expect(readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
