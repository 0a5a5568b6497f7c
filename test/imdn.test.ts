// IMDN / IMDN_AS against the official PyTorch outputs in ../shared/reference (spec §1, §6.6).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as evalCommand } from '../src/cli/eval.js';
import { register as info } from '../src/cli/info.js';
import type { Ops, Tensor } from '../src/engine/ops.js';
import { getOps } from '../src/engine/select.js';
import { readSafetensors, writeSafetensors } from '../src/engine/safetensors.js';
import { createShapeOps } from '../src/eval/complexity.js';
import { quantizeU8, scoreY } from '../src/eval/metrics.js';
import { crop } from '../src/image/bicubic.js';
import { readImageRGB } from '../src/image/io.js';
import type { PlanarImage } from '../src/image/types.js';
import '../src/models/index.js';
import { IMDN_AS, adaptiveCrop } from '../src/models/imdn.js';
import { predict } from '../src/models/infer.js';
import { loadModel } from '../src/models/load.js';
import { cliOutput } from './helpers/cli.js';
import { compareToPng, maxAbsDiff } from './helpers/compare.js';
import { readF32, referenceOutputs, referenceScores, referenceWeights, SET5, set5Hr, set5Lr, shared } from './helpers/fixtures.js';

const SCALES = [2, 3, 4];
const refDir = (s: number) => referenceOutputs(`imdn_x${s}`);

describe('IMDN weights and loading', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-imdn-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('official ×2/×3/×4 and AS weights load with exact shapes and counts', async () => {
    const { ops } = createShapeOps();
    for (const s of SCALES) {
      const m = await loadModel(ops, 'imdn', s, referenceWeights(`imdn_x${s}.safetensors`));
      expect(m.scale).toBe(s);
      expect(m.namedParams().length).toBe(92);
    }
    const as = await loadModel(ops, 'imdn-as', 1, referenceWeights('imdn_as.safetensors'));
    expect(as.namedParams().length).toBe(94);
    expect(as.numParams()).toBe(752_104);
  });

  it('refuses a scale mismatch stated by metadata or by a JSON card', async () => {
    const { ops } = createShapeOps();
    await expect(loadModel(ops, 'imdn', 2, referenceWeights('imdn_x4.safetensors'))).rejects.toThrow(/×4 weights.*×2 was requested/);
    await expect(loadModel(ops, 'imdn-as', 1, referenceWeights('imdn_x4.safetensors'))).rejects.toThrow(/holds imdn weights.*not imdn-as/);
    const { tensors } = await readSafetensors(referenceWeights('imdn_x3.safetensors'));
    const file = path.join(tmp, 'mine.safetensors');
    await writeSafetensors(file, tensors, {});
    writeFileSync(`${file}.json`, JSON.stringify({ architecture: 'imdn', scale: 3 }));
    await expect(loadModel(ops, 'imdn', 4, file)).rejects.toThrow(/imdn ×3 weights \(per .*mine\.safetensors\.json\), but ×4 was requested/);
    expect((await loadModel(ops, 'imdn', 3, file)).scale).toBe(3);
  });

  it('a file without a card is checked by shapes, and the error names the model and scale', async () => {
    const { ops } = createShapeOps();
    const { tensors } = await readSafetensors(referenceWeights('imdn_x4.safetensors'));
    const file = path.join(tmp, 'bare.safetensors');
    await writeSafetensors(file, tensors, {});
    expect((await loadModel(ops, 'imdn', 4, file)).numParams()).toBe(715_176);
    await expect(loadModel(ops, 'imdn', 2, file)).rejects.toThrow(/does not fit imdn ×2: .*upsampler\.0\.weight: file has \[48, 64, 3, 3\], model expects \[12, 64, 3, 3\]/);
    await expect(loadModel(ops, 'imdn', 5, file)).rejects.toThrow(/no ×5 model/);
  });
});

describe('IMDN parity with the official PyTorch outputs (torch backend)', () => {
  let ops: Ops;
  beforeAll(async () => {
    ops = await getOps('torch');
  });

  for (const s of SCALES) {
    it(`×${s}: Set5 uint8 outputs, 24×24 float crops and PSNR/SSIM`, async () => {
      const model = await loadModel(ops, 'imdn', s, referenceWeights(`imdn_x${s}.safetensors`));
      const ref = referenceScores(`imdn_x${s}`);
      let psnrSum = 0;
      let ssimSum = 0;
      for (const name of SET5) {
        const lr = await readImageRGB(set5Lr(name, s));
        // Float parity on the top-left 24×24 LR crop.
        const small = await predict(ops, model, crop(lr, 0, 0, 24, 24));
        expect(maxAbsDiff(small.data, readF32(path.join(refDir(s), `${name}_crop24_chw_f32.bin`)))).toBeLessThanOrEqual(1e-4);
        // Whole image, quantised.
        const sr = await predict(ops, model, lr);
        expect([sr.height, sr.width]).toEqual([lr.height * s, lr.width * s]);
        const cmp = await compareToPng(sr, path.join(refDir(s), `${name}.png`));
        expect(cmp.equal).toBeGreaterThanOrEqual(0.999);
        expect(cmp.maxDiff).toBeLessThanOrEqual(1);
        const hr = crop(await readImageRGB(set5Hr(name)), 0, 0, sr.height, sr.width);
        const score = scoreY(sr, hr, s);
        expect(Math.abs(score.psnr - ref[name].psnr_y)).toBeLessThan(0.005);
        psnrSum += score.psnr;
        ssimSum += score.ssim;
      }
      expect(Math.abs(psnrSum / 5 - ref.mean.psnr_y)).toBeLessThan(0.005);
      expect(Math.abs(ssimSum / 5 - ref.mean.ssim_y)).toBeLessThan(0.0005);
      model.dispose();
    });
  }

  it('×4 self-ensemble: Set5 32.31 dB (spec §6.6)', async () => {
    const model = await loadModel(ops, 'imdn', 4, referenceWeights('imdn_x4.safetensors'));
    let sum = 0;
    for (const name of SET5) {
      const lr = await readImageRGB(set5Lr(name, 4));
      const sr = await predict(ops, model, lr, { selfEnsemble: true });
      const hr = crop(await readImageRGB(set5Hr(name)), 0, 0, sr.height, sr.width);
      sum += scoreY(sr, hr, 4).psnr;
    }
    expect(Math.abs(sum / 5 - 32.31)).toBeLessThanOrEqual(0.01);
    model.dispose();
  });

  it('leaves no tensors behind', async () => {
    const model = await loadModel(ops, 'imdn', 2, referenceWeights('imdn_x2.safetensors'));
    const before = ops.numTensors();
    const lr = crop(await readImageRGB(set5Lr('bird', 2)), 0, 0, 20, 28);
    await predict(ops, model, lr, { selfEnsemble: true });
    await predict(ops, model, lr);
    expect(ops.numTensors()).toBe(before);
    model.dispose();
  });
});

describe('IMDN_AS and adaptive cropping (torch backend)', () => {
  let ops: Ops;
  let model: IMDN_AS;
  let img: PlanarImage;
  beforeAll(async () => {
    ops = await getOps('torch');
    model = (await loadModel(ops, 'imdn-as', 1, referenceWeights('imdn_as.safetensors'))) as IMDN_AS;
    // An HR photo stands in for a pre-upscaled input.
    img = crop(await readImageRGB(set5Hr('butterfly')), 20, 12, 200, 232);
  });
  afterAll(() => model.dispose());

  it('adaptive cropping stitches exactly: with a local net it equals one whole pass', () => {
    // 12 chained 3×3 convs: receptive radius 12 px < the ≥ 29 px of context ACS keeps past each seam.
    const w = ops.rand([3, 3, 3, 3], -0.3, 0.3);
    const local = (t: Tensor) => {
      let y = t;
      for (let i = 0; i < 12; i++) y = ops.conv2d(y, w, null, { padding: 1 });
      return y;
    };
    for (const [h, wd] of [[200, 232], [197, 230], [101, 64]]) {
      const x = ops.tensor(crop(img, 0, 0, h, wd).data, [1, 3, h, wd]);
      const whole = ops.readSync(ops.tidy(() => local(x))) as Float32Array;
      const acs = ops.readSync(ops.tidy(() => adaptiveCrop(ops, local, x))) as Float32Array;
      // Float rounding of different conv shapes only: oneDNN picks its kernel (and summation order) per shape and
      // per CPU (CI saw 1.8e-4 on a range of ~6), so the bound is relative to the output range.
      const range = whole.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbsDiff(acs, whole)).toBeLessThanOrEqual(1e-4 * range); // a seam error would be of order range
      expect(acs.length).toBe(whole.length);
      ops.dispose(x);
    }
    ops.dispose(w);
  });

  it('IMDN_AS: adaptive cropping is close to one whole pass, and each quadrant is its crop\'s own result', async () => {
    // Not equal: CCA's mean/std are taken over each crop instead of the whole image (measured ≈ 36.6 dB here).
    const [h, w] = [200, 232];
    const x = ops.tensor(img.data, [1, 3, h, w]);
    const whole = quantizeU8({ channels: 3, height: h, width: w, data: ops.readSync(ops.tidy(() => model.forwardWhole(x))) as Float32Array });
    const acsT = ops.tidy(() => adaptiveCrop(ops, (t) => model.forwardWhole(t), x));
    const acs = ops.readSync(acsT) as Float32Array;
    let se = 0;
    const q = quantizeU8({ channels: 3, height: h, width: w, data: acs });
    for (let i = 0; i < q.length; i++) se += (q[i] - whole[i]) ** 2;
    expect(10 * Math.log10((255 * 255) / (se / q.length))).toBeGreaterThan(33);
    // Top-left quadrant [0:100, 0:116] comes from the 132×148 top-left crop run alone.
    const tl = ops.tidy(() => model.forwardWhole(ops.narrow(ops.narrow(x, 2, 0, 132), 3, 0, 148)));
    const tlData = crop({ channels: 3, height: 132, width: 148, data: ops.readSync(tl) as Float32Array }, 0, 0, 100, 116);
    expect(maxAbsDiff(crop({ channels: 3, height: h, width: w, data: acs }, 0, 0, 100, 116).data, tlData.data)).toBeLessThanOrEqual(1e-5);
    ops.dispose([x, acsT, tl]);
  });

  it('on sides not divisible by 4, runs and returns the input size', async () => {
    for (const [h, w] of [[197, 230], [101, 61], [7, 13]]) {
      const out = await predict(ops, model, crop(img, 0, 0, h, w));
      expect([out.channels, out.height, out.width]).toEqual([3, h, w]);
      expect(out.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('IMDN on the tfjs backend', () => {
  it('matches the official float outputs on the 24×24 crops', async () => {
    const ops = await getOps('tfjs');
    for (const s of SCALES) {
      const model = await loadModel(ops, 'imdn', s, referenceWeights(`imdn_x${s}.safetensors`));
      for (const name of SET5) {
        const lr = crop(await readImageRGB(set5Lr(name, s)), 0, 0, 24, 24);
        const out = await predict(ops, model, lr);
        expect(maxAbsDiff(out.data, readF32(path.join(refDir(s), `${name}_crop24_chw_f32.bin`)))).toBeLessThanOrEqual(1e-4);
      }
      model.dispose();
    }
  });
});

describe('IMDN from the command line', () => {
  it('lightsr info imdn --scale 4: params, MACs at 1280×720, input size, scales', async () => {
    const out = await cliOutput(info, ['info', 'imdn', '--scale', '4']);
    expect(out).toMatch(/scales: ×2, ×3, ×4/);
    expect(out).toMatch(/params\s+715,176/);
    expect(out).toMatch(/MACs\s+40\.89 G for 1280×720 output/);
    expect(out).toMatch(/input\s+320×180 → output 1280×720/);
    const all = await cliOutput(info, ['info', 'imdn']);
    expect(all).toMatch(/158\.77 G[\s\S]*640×360[\s\S]*71\.34 G[\s\S]*426×240[\s\S]*40\.89 G/);
    await expect(cliOutput(info, ['info', 'imdn', '--scale', '5'])).rejects.toThrow(/no ×5 model/);
  });

  it('lightsr eval --model imdn --scale 4 on Set5 prints 32.21/0.8948 (metrics.json within 0.005 dB)', async () => {
    const out = await cliOutput(evalCommand, ['eval', '--model', 'imdn', '--scale', '4', '--weights', referenceWeights('imdn_x4.safetensors'),
      '--data', path.join(shared, 'data/bench/Set5'), '--json']);
    const res = JSON.parse(out) as { results: { datasets: { psnr: number; ssim: number }[] }[] };
    const { psnr, ssim } = res.results[0].datasets[0];
    const ref = referenceScores('imdn_x4').mean;
    expect(Math.abs(psnr - ref.psnr_y)).toBeLessThan(0.005);
    expect(Math.abs(ssim - ref.ssim_y)).toBeLessThan(0.0005);
    expect(`${psnr.toFixed(2)}/${ssim.toFixed(4)}`).toBe('32.21/0.8948');
  });
});
