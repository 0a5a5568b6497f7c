// Every registered network × scale exports to ONNX (randomly initialised on torch, weights passed as a state
// dict), passes onnx.checker, and onnxruntime-node matches our torch backend on a small input. Networks whose graph depends on the
// input size (HPINet's host-side patch grid, IMDN_AS's adaptive cropping) refuse a dynamic export and are
// exported at one fixed size; the others are checked at a second size and batch 2 from the same file.
// The official weights (IMDN ×2/×3, HPINet-M ×2/×3/×4, HPINet-S ×4, IMDN_AS; IMDN ×4 is in onnx-export.test.ts)
// are checked on a crop of a Set5 LR image.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/backends/onnx/export.js';
import { createTorchOps } from '../src/backends/torch/index.js';
import type { TrainOps } from '../src/engine/ops.js';
import { listEntries } from '../src/models/index.js';
import { predictTensor } from '../src/models/infer.js';
import { buildModel } from '../src/models/card.js';
import { readImageRGB } from '../src/image/io.js';
import { loadModel } from '../src/models/load.js';
import { referenceWeights, shared } from './helpers/fixtures.js';
import { maxAbs, onnxChecker, ortRun, ortSession, randomInput } from './helpers/onnx.js';

const FIXED = new Set(['hpinet-s', 'hpinet-m', 'hpinet-l', 'imdn-as']);
/** Inputs checked: fixed-size networks at their export size; dynamic ones at two sizes (none of them traced). */
const SIZES = { fixed: [[1, 3, 26, 30]], dynamic: [[1, 3, 17, 21], [2, 3, 22, 16]] };

let ops: TrainOps;
let tmp: string;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-onnx-zoo-'));
  ops = createTorchOps() as TrainOps;
  ops.seed(5);
});

const cases = listEntries().flatMap((e) => e.scales.map((s) => [e.name, s] as const));

describe('every network × scale: ONNX export matches torch', () => {
  it('the zoo is what this test expects', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    for (const f of FIXED) expect(cases.some(([n]) => n === f)).toBe(true);
  });

  it.each(cases)('%s ×%i', async (name, scale) => {
    const entry = listEntries().find((e) => e.name === name)!;
    const model = buildModel(ops, entry, scale);
    const weights = model.stateDict();
    try {
      const fixed = FIXED.has(name);
      if (fixed) {
        await expect(exportOnnx(name, scale, weights)).rejects.toThrow(/cannot be exported with a dynamic input size/);
      }
      const r = await exportOnnx(name, scale, weights, fixed ? { size: [26, 30] } : {});
      expect(r.dynamic).toBe(!fixed);
      const file = path.join(tmp, `${name}_x${scale}.onnx`);
      writeFileSync(file, r.bytes);
      expect(onnxChecker(file)).toBeNull();
      const session = await ortSession(r.bytes);
      for (const dims of fixed ? SIZES.fixed : SIZES.dynamic) {
        const x = randomInput(dims.reduce((a, b) => a * b, 1), dims[3]!);
        const xt = ops.tensor(x, dims);
        const yt = predictTensor(ops, model, xt);
        const want = (await ops.read(yt)) as Float32Array;
        ops.dispose([xt, yt]);
        const got = await ortRun(session, x, dims);
        const s = name === 'imdn-as' ? 1 : scale;
        expect(got.dims).toEqual([dims[0], 3, dims[2]! * s, dims[3]! * s]);
        const peak = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        expect(peak).toBeGreaterThan(1e-3); // a real, non-zero output
        expect(maxAbs(got.data, want), `${name} ×${scale} ${dims.join('×')}`).toBeLessThan(1e-4 * Math.max(1, peak));
      }
    } finally {
      model.dispose();
    }
  });
});


describe('official weights: ONNX export matches torch on a Set5 LR crop', () => {
  const files = [['imdn', 2], ['imdn', 3], ['hpinet-m', 2], ['hpinet-m', 3], ['hpinet-m', 4], ['hpinet-s', 4], ['imdn-as', 1]] as const;
  const fileOf = (name: string, s: number) => referenceWeights(name === 'imdn-as' ? 'imdn_as.safetensors' : `${name.replace('-', '_')}_x${s}.safetensors`);

  it.each(files)('%s ×%i', async (name, scale) => {
    const lr = await readImageRGB(path.join(shared, `data/bench/Set5/LR_bicubic/X${Math.max(scale, 2)}/birdx${Math.max(scale, 2)}.png`));
    const [h, w] = [30, 34];
    const crop = new Float32Array(3 * h * w);
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[(c * h + y) * w + x] = lr.data[(c * lr.height + y + 5) * lr.width + x + 7]!;
    const file = fileOf(name, scale);
    const model = await loadModel(ops, name, scale, file);
    try {
      const r = await exportOnnx(name, scale, file, FIXED.has(name) ? { size: [h, w] } : {});
      const dims = [1, 3, h, w];
      const xt = ops.tensor(crop, dims);
      const yt = predictTensor(ops, model, xt);
      const want = (await ops.read(yt)) as Float32Array;
      ops.dispose([xt, yt]);
      const got = await ortRun(await ortSession(r.bytes), crop, dims);
      expect(got.dims).toEqual([1, 3, h * scale, w * scale]);
      expect(maxAbs(got.data, want)).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });
});

describe('opsets below 17 (LayerNorm decomposed, ReduceMean axes as attributes)', () => {
  it.each([['hpinet-s', 2, 13], ['hpinet-m', 3, 16], ['rfdn', 4, 13]] as const)('%s ×%i at opset %i matches torch', async (name, scale, opset) => {
    const entry = listEntries().find((e) => e.name === name)!;
    const model = buildModel(ops, entry, scale);
    try {
      const fixed = FIXED.has(name);
      const r = await exportOnnx(name, scale, model.stateDict(), { opset, ...(fixed ? { size: [26, 30] as [number, number] } : {}) });
      expect(r.opset).toBe(opset);
      const dims = [1, 3, 26, 30];
      const x = randomInput(3 * 26 * 30, 11);
      const xt = ops.tensor(x, dims);
      const yt = predictTensor(ops, model, xt);
      const want = (await ops.read(yt)) as Float32Array;
      ops.dispose([xt, yt]);
      const got = await ortRun(await ortSession(r.bytes), x, dims);
      expect(maxAbs(got.data, want)).toBeLessThan(1e-4);
    } finally {
      model.dispose();
    }
  });
});
