// IMDN / IMDN_AS against the official PyTorch outputs in ../shared/reference (spec §1, §6.6).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Ops, Tensor } from '../src/engine/ops.js';
import { getOps } from '../src/engine/select.js';
import { readSafetensors, writeSafetensors } from '../src/engine/safetensors.js';
import { createShapeOps } from '../src/eval/complexity.js';
import { quantizeU8, scoreY } from '../src/eval/metrics.js';
import { readImage, readImageRGB } from '../src/image/io.js';
import type { PlanarImage } from '../src/image/types.js';
import '../src/models/index.js';
import { IMDN_AS, adaptiveCrop } from '../src/models/imdn.js';
import { predict } from '../src/models/infer.js';
import { loadModel } from '../src/models/load.js';

const shared = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared');
const weights = (f: string) => path.join(shared, 'reference/weights', f);
const refDir = (s: number) => path.join(shared, 'reference/outputs', `imdn_x${s}`);
const lrFile = (name: string, s: number) => path.join(shared, `data/bench/Set5_matlab_lr/LR_bicubic/X${s}/${name}x${s}.bmp`);
const NAMES = ['baby', 'bird', 'butterfly', 'head', 'woman'];
const SCALES = [2, 3, 4];

/** Top-left crop of a planar image. */
function crop(img: PlanarImage, h: number, w: number, top = 0, left = 0): PlanarImage {
  const out = new Float32Array(img.channels * h * w);
  for (let c = 0; c < img.channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = (c * img.height + top + y) * img.width + left;
      out.set(img.data.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return { channels: img.channels, height: h, width: w, data: out };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** Compare our uint8 output (planar) with the reference PNG (interleaved RGB): share of equal values, max diff. */
async function compareToPng(sr: PlanarImage, file: string): Promise<{ equal: number; maxDiff: number }> {
  const { image } = await readImage(file);
  expect([image.width, image.height, image.channels]).toEqual([sr.width, sr.height, 3]);
  const q = quantizeU8(sr);
  const n = sr.width * sr.height;
  let equal = 0;
  let maxDiff = 0;
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const d = Math.abs(q[c * n + i] - image.data[i * 3 + c]);
      if (d === 0) equal++;
      maxDiff = Math.max(maxDiff, d);
    }
  }
  return { equal: equal / (3 * n), maxDiff };
}

interface Metrics { [k: string]: { psnr_y: number; ssim_y: number } }
const refMetrics = (s: number) => JSON.parse(readFileSync(path.join(refDir(s), 'metrics.json'), 'utf8')) as Metrics;

describe('IMDN weights and loading', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-imdn-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('official ×2/×3/×4 and AS weights load with exact shapes and counts', async () => {
    const { ops } = createShapeOps();
    for (const s of SCALES) {
      const m = await loadModel(ops, 'imdn', s, weights(`imdn_x${s}.safetensors`));
      expect(m.scale).toBe(s);
      expect(m.namedParams().length).toBe(92);
    }
    const as = await loadModel(ops, 'imdn-as', 1, weights('imdn_as.safetensors'));
    expect(as.namedParams().length).toBe(94);
    expect(as.numParams()).toBe(752_104);
  });

  it('refuses a scale mismatch stated by metadata or by a JSON card', async () => {
    const { ops } = createShapeOps();
    await expect(loadModel(ops, 'imdn', 2, weights('imdn_x4.safetensors'))).rejects.toThrow(/×4 weights.*×2 was requested/);
    await expect(loadModel(ops, 'imdn-as', 1, weights('imdn_x4.safetensors'))).rejects.toThrow(/holds imdn weights.*not imdn-as/);
    const { tensors } = await readSafetensors(weights('imdn_x3.safetensors'));
    const file = path.join(tmp, 'mine.safetensors');
    await writeSafetensors(file, tensors, {});
    writeFileSync(`${file}.json`, JSON.stringify({ architecture: 'imdn', scale: 3 }));
    await expect(loadModel(ops, 'imdn', 4, file)).rejects.toThrow(/imdn ×3 weights \(per .*mine\.safetensors\.json\), but ×4 was requested/);
    expect((await loadModel(ops, 'imdn', 3, file)).scale).toBe(3);
  });

  it('a file without a card is checked by shapes, and the error names the model and scale', async () => {
    const { ops } = createShapeOps();
    const { tensors } = await readSafetensors(weights('imdn_x4.safetensors'));
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
      const model = await loadModel(ops, 'imdn', s, weights(`imdn_x${s}.safetensors`));
      const ref = refMetrics(s);
      let psnrSum = 0;
      let ssimSum = 0;
      for (const name of NAMES) {
        const lr = await readImageRGB(lrFile(name, s));
        // Float parity on the top-left 24×24 LR crop.
        const small = await predict(ops, model, crop(lr, 24, 24));
        expect(maxAbsDiff(small.data, readF32(path.join(refDir(s), `${name}_crop24_chw_f32.bin`)))).toBeLessThanOrEqual(1e-4);
        // Whole image, quantised.
        const sr = await predict(ops, model, lr);
        expect([sr.height, sr.width]).toEqual([lr.height * s, lr.width * s]);
        const cmp = await compareToPng(sr, path.join(refDir(s), `${name}.png`));
        expect(cmp.equal).toBeGreaterThanOrEqual(0.999);
        expect(cmp.maxDiff).toBeLessThanOrEqual(1);
        const hr = crop(await readImageRGB(path.join(shared, `data/bench/Set5_matlab_lr/HR/${name}.bmp`)), sr.height, sr.width);
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
    const model = await loadModel(ops, 'imdn', 4, weights('imdn_x4.safetensors'));
    let sum = 0;
    for (const name of NAMES) {
      const lr = await readImageRGB(lrFile(name, 4));
      const sr = await predict(ops, model, lr, { selfEnsemble: true });
      const hr = crop(await readImageRGB(path.join(shared, `data/bench/Set5_matlab_lr/HR/${name}.bmp`)), sr.height, sr.width);
      sum += scoreY(sr, hr, 4).psnr;
    }
    expect(Math.abs(sum / 5 - 32.31)).toBeLessThanOrEqual(0.01);
    model.dispose();
  });

  it('leaves no tensors behind', async () => {
    const model = await loadModel(ops, 'imdn', 2, weights('imdn_x2.safetensors'));
    const before = ops.numTensors();
    const lr = crop(await readImageRGB(lrFile('bird', 2)), 20, 28);
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
    model = (await loadModel(ops, 'imdn-as', 1, weights('imdn_as.safetensors'))) as IMDN_AS;
    // An HR photo stands in for a pre-upscaled input.
    img = crop(await readImageRGB(path.join(shared, 'data/bench/Set5_matlab_lr/HR/butterfly.bmp')), 200, 232, 20, 12);
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
      const x = ops.tensor(crop(img, h, wd).data, [1, 3, h, wd]);
      const whole = ops.readSync(ops.tidy(() => local(x))) as Float32Array;
      const acs = ops.readSync(ops.tidy(() => adaptiveCrop(ops, local, x))) as Float32Array;
      expect(maxAbsDiff(acs, whole)).toBeLessThanOrEqual(1e-4); // float rounding of different conv shapes only
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
    const tlData = crop({ channels: 3, height: 132, width: 148, data: ops.readSync(tl) as Float32Array }, 100, 116);
    expect(maxAbsDiff(crop({ channels: 3, height: h, width: w, data: acs }, 100, 116).data, tlData.data)).toBeLessThanOrEqual(1e-5);
    ops.dispose([x, acsT, tl]);
  });

  it('on sides not divisible by 4, runs and returns the input size', async () => {
    for (const [h, w] of [[197, 230], [101, 61], [7, 13]]) {
      const out = await predict(ops, model, crop(img, h, w));
      expect([out.channels, out.height, out.width]).toEqual([3, h, w]);
      expect(out.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('IMDN on the tfjs backend', () => {
  it('matches the official float outputs on the 24×24 crops', async () => {
    const ops = await getOps('tfjs');
    for (const s of SCALES) {
      const model = await loadModel(ops, 'imdn', s, weights(`imdn_x${s}.safetensors`));
      for (const name of NAMES) {
        const lr = crop(await readImageRGB(lrFile(name, s)), 24, 24);
        const out = await predict(ops, model, lr);
        expect(maxAbsDiff(out.data, readF32(path.join(refDir(s), `${name}_crop24_chw_f32.bin`)))).toBeLessThanOrEqual(1e-4);
      }
      model.dispose();
    }
  });
});

/** Run one lightsr command in-process (commander, as src/cli/main.ts does) and capture stdout. */
async function cli(file: string, args: string[]): Promise<string> {
  const mod = (await import(`../src/cli/${file}.ts`)) as { register(p: Command): void };
  const program = new Command('lightsr').exitOverride();
  mod.register(program);
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'lightsr', ...args]);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return out;
}

describe('IMDN from the command line', () => {
  it('lightsr info imdn --scale 4: params, MACs at 1280×720, input size, scales', async () => {
    const out = await cli('info', ['info', 'imdn', '--scale', '4']);
    expect(out).toMatch(/scales: ×2, ×3, ×4/);
    expect(out).toMatch(/params\s+715,176/);
    expect(out).toMatch(/MACs\s+40\.89 G for 1280×720 output/);
    expect(out).toMatch(/input\s+320×180 → output 1280×720/);
    const all = await cli('info', ['info', 'imdn']);
    expect(all).toMatch(/158\.77 G[\s\S]*640×360[\s\S]*71\.34 G[\s\S]*426×240[\s\S]*40\.89 G/);
    await expect(cli('info', ['info', 'imdn', '--scale', '5'])).rejects.toThrow(/no ×5 model/);
  });

  it('lightsr eval --model imdn --scale 4 on Set5 prints 32.21/0.8948 (metrics.json within 0.005 dB)', async () => {
    const out = await cli('eval', ['eval', '--model', 'imdn', '--scale', '4', '--weights', weights('imdn_x4.safetensors'),
      '--data', path.join(shared, 'data/bench/Set5'), '--json']);
    const res = JSON.parse(out) as { results: { datasets: { psnr: number; ssim: number }[] }[] };
    const { psnr, ssim } = res.results[0].datasets[0];
    const ref = refMetrics(4).mean;
    expect(Math.abs(psnr - ref.psnr_y)).toBeLessThan(0.005);
    expect(Math.abs(ssim - ref.ssim_y)).toBeLessThan(0.0005);
    expect(`${psnr.toFixed(2)}/${ssim.toFixed(4)}`).toBe('32.21/0.8948');
  });
});
