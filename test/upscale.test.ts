// `lightsr upscale` and the library API, with the official IMDN weights from ../shared (test fixtures).
import { existsSync, mkdtempSync, promises as fsp, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../src/cli/upscale.js';
import { encodeSafetensors, readSafetensors } from '../src/engine/safetensors.js';
import { getOps } from '../src/engine/select.js';
import { evaluateDataset } from '../src/eval/benchmark.js';
import { quantizeU8, scoreY } from '../src/eval/metrics.js';
import { imresizePlanar, modCrop } from '../src/image/bicubic.js';
import { fromPlanar, readImage, toPlanarRGB, writeImage } from '../src/image/io.js';
import type { RawImage } from '../src/image/types.js';
import { loadModel } from '../src/models/load.js';
import { predict } from '../src/models/infer.js';
import { upscale, Upscaler } from '../src/upscale.js';
import { formatSeconds, Progress } from '../src/upscale/progress.js';
import { runCli } from './helpers/cli.js';
import { cropRaw, maxAbsDiff } from './helpers/compare.js';
import { shared } from './helpers/fixtures.js';

const W4 = path.join(shared, 'reference/weights/imdn_x4.safetensors');
const SET5 = path.join(shared, 'data/bench/Set5');
const BIRD = path.join(SET5, 'LR_bicubic/X4/birdx4.png');
const BABY = path.join(SET5, 'LR_bicubic/X4/babyx4.png');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-upscale-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run `lightsr upscale ARGS` in-process; returns the exit code (as bin/lightsr.js would) and the output. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(register, ['upscale', ...args], env);

const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

/** Channel `c` of an interleaved image. */
function plane(img: RawImage, c: number): number[] {
  const out: number[] = [];
  for (let i = c; i < img.data.length; i += img.channels) out.push(img.data[i]);
  return out;
}

describe('default weights', () => {
  it('fails with a clear message while no trained default weights are installed', async () => {
    const empty = path.join(tmp, 'no-weights');
    await fsp.mkdir(empty);
    const r = await cli([BIRD, '-o', path.join(tmp, 'x.png')], { LIGHTSR_WEIGHTS_DIR: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no trained default weights are installed for imdn x4 yet; pass a weights file (--weights FILE)');
    expect(existsSync(path.join(tmp, 'x.png'))).toBe(false);
    await expect(Upscaler.create({ scale: 2, weightsDir: empty })).rejects.toThrow(
      'no trained default weights are installed for imdn x2 yet; pass a weights file');
  });
});

describe('tiling with IMDN (official ×4 weights)', () => {
  it('tiled output equals the whole-image output within 1 LSB with --exact and tile pad ≥ receptive field', async () => {
    const img = await cropRaw(BABY, 10, 20, 96, 96);
    const up = await Upscaler.create({ weights: W4 });
    try {
      const whole = (await up.run(img, { tile: 0 })).image!;
      // 24 px tiles + 28 px pad (IMDN's receptive-field radius is 27 LR px): 4 windows of 80×80.
      const exact = await up.run(img, { tile: 24, tilePad: 28, exact: true });
      expect(exact.tiles).toBe(4);
      expect(maxAbsDiff(exact.image!.data, whole.data)).toBeLessThanOrEqual(1);
      // Without --exact each tile uses its own CCA statistics, which moves some pixels by more than 1 LSB.
      const plain = await up.run(img, { tile: 24, tilePad: 28 });
      expect(maxAbsDiff(plain.image!.data, whole.data)).toBeGreaterThan(1);
    } finally {
      up.dispose();
    }
  });

  it('--exact with the self-ensemble matches the whole-image self-ensemble (per-variant statistics)', async () => {
    const img = await cropRaw(BABY, 30, 40, 72, 40); // 2 windows of 64×40 with tile 8 + pad 28
    const up = await Upscaler.create({ weights: W4 });
    try {
      const whole = (await up.run(img, { tile: 0, selfEnsemble: true })).image!;
      const exact = await up.run(img, { tile: 8, tilePad: 28, exact: true, selfEnsemble: true });
      expect(exact.tiles).toBe(2);
      expect(maxAbsDiff(exact.image!.data, whole.data)).toBeLessThanOrEqual(1);
    } finally {
      up.dispose();
    }
  });
});

describe('Set5 ×4', () => {
  it('files written by `lightsr upscale` score exactly what src/eval computes for the same model', async () => {
    const out = path.join(tmp, 'set5');
    const r = await cli([path.join(SET5, 'LR_bicubic/X4'), '-o', out, '--weights', W4, '--json']);
    expect(r.code).toBe(0);
    const results = jsonLines(r.stdout);
    expect(results.map((x) => x.status)).toEqual(['done', 'done', 'done', 'done', 'done']);

    const ops = await getOps();
    const model = await loadModel(ops, 'imdn', 4, W4);
    const direct = new Map<string, Uint8Array>();
    const evalScore = await evaluateDataset(SET5, 4, async (lr, s) => {
      const sr = await predict(ops, model, lr);
      direct.set(`${lr.width}x${lr.height}`, quantizeU8(sr));
      return sr;
    });
    model.dispose();
    expect(evalScore.lr).toBe('files');

    for (const img of evalScore.images) {
      const file = path.join(out, `${img.name}x4.png`);
      const sr = toPlanarRGB((await readImage(file)).image).rgb;
      const hr = toPlanarRGB(modCrop((await readImage(path.join(SET5, 'HR', `${img.name}.png`))).image, 4)).rgb;
      expect(quantizeU8(sr)).toEqual(direct.get(`${sr.width / 4}x${sr.height / 4}`)); // same pixels
      expect(scoreY(sr, hr, 4).psnr).toBe(img.psnr);
    }
    expect(evalScore.psnr).toBeGreaterThan(30); // a working ×4 network, far above bicubic's ~28.4 dB
  });
});

describe('formats', () => {
  let rgb: RawImage;
  let rgbOut: RawImage;
  beforeAll(async () => {
    rgb = await cropRaw(BIRD, 12, 16, 40, 32);
    rgbOut = (await upscale(rgb, { weights: W4 })).image!;
  });

  it('alpha is upscaled separately with MATLAB bicubic and re-attached', async () => {
    const n = rgb.width * rgb.height;
    const data = new Uint8Array(n * 4);
    for (let i = 0; i < n; i++) {
      data.set(rgb.data.subarray(i * 3, i * 3 + 3), i * 4);
      data[i * 4 + 3] = Math.round((255 * (i % rgb.width)) / (rgb.width - 1)); // horizontal ramp
    }
    const file = path.join(tmp, 'rgba.png');
    await writeImage(file, { ...rgb, channels: 4, data });
    const out = path.join(tmp, 'rgba_x4.png');
    const r = await cli([file, '-o', out, '--weights', W4]);
    expect(r.code).toBe(0);
    const got = (await readImage(out)).image;
    expect([got.width, got.height, got.channels, got.bitDepth]).toEqual([160, 128, 4, 8]);
    const { alpha } = toPlanarRGB({ ...rgb, channels: 4, data });
    const wantAlpha = fromPlanar(imresizePlanar(alpha!, 4));
    expect(plane(got, 3)).toEqual(Array.from(wantAlpha.data));
    for (let c = 0; c < 3; c++) expect(plane(got, c)).toEqual(plane(rgbOut, c));
  });

  it('gray in gives gray out (luma of the network output on the repeated channel)', async () => {
    const gray = new Uint8Array(rgb.width * rgb.height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgb.data[i * 3 + 1];
    const file = path.join(tmp, 'gray.png');
    await writeImage(file, { ...rgb, channels: 1, data: gray });
    const out = path.join(tmp, 'gray_x4.png');
    expect((await cli([file, '-o', out, '--weights', W4])).code).toBe(0);
    const got = (await readImage(out)).image;
    expect([got.width, got.height, got.channels]).toEqual([160, 128, 1]);
    const rep = new Uint8Array(gray.length * 3);
    gray.forEach((v, i) => rep.fill(v, i * 3, i * 3 + 3));
    const ref = (await upscale({ ...rgb, data: rep }, { weights: W4 })).image!;
    const luma = Array.from({ length: got.data.length }, (_, i) =>
      0.299 * ref.data[i * 3] + 0.587 * ref.data[i * 3 + 1] + 0.114 * ref.data[i * 3 + 2]);
    expect(maxAbsDiff(got.data, luma)).toBeLessThanOrEqual(1);
  });

  it('16-bit stays 16-bit, with the network run on the same [0,1] floats as 8-bit', async () => {
    const d16 = Uint16Array.from(rgb.data, (v) => v * 257);
    const file = path.join(tmp, 'deep.png');
    await writeImage(file, { ...rgb, bitDepth: 16, data: d16 });
    const out = path.join(tmp, 'deep_x4.png');
    expect((await cli([file, '-o', out, '--weights', W4])).code).toBe(0);
    const got = (await readImage(out)).image;
    expect([got.width, got.height, got.channels, got.bitDepth]).toEqual([160, 128, 3, 16]);
    expect(maxAbsDiff(Array.from(got.data, (v) => v / 257), rgbOut.data)).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(Array.from(got.data).some((v) => v % 257 !== 0)).toBe(true); // not merely 8-bit precision
  });

  it('applies EXIF orientation and keeps the ICC profile; buffer input works', async () => {
    const jpg = await sharp(Buffer.from(rgb.data), { raw: { width: 40, height: 32, channels: 3 } })
      .jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const r = await upscale(jpg, { weights: W4 });
    expect([r.outWidth, r.outHeight]).toEqual([32 * 4, 40 * 4]); // rotated 90° as displayed

    const tagged = path.join(tmp, 'p3.png');
    await sharp(Buffer.from(rgb.data), { raw: { width: 40, height: 32, channels: 3 } }).withIccProfile('p3').png().toFile(tagged);
    const icc = (await readImage(tagged)).icc;
    expect(icc && icc.length).toBeGreaterThan(100);
    for (const ext of ['png', 'jpg', 'webp']) {
      const out = path.join(tmp, `p3_x4.${ext}`);
      expect((await cli([tagged, '-o', out, '--weights', W4])).code).toBe(0);
      expect(Buffer.from((await readImage(out)).icc ?? [])).toEqual(Buffer.from(icc!));
    }
  });
});

describe('progress', () => {
  const fake = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns: 100, write: (s: string) => (chunks.push(s), true) } };
  };

  it('draws file and batch bars with tiles and ETA on a TTY', () => {
    const { chunks, stream } = fake(true);
    const p = new Progress(stream, 3);
    p.startFile('dir/a.png');
    p.tile(5, 20, 75);
    p.endFile();
    p.log('a done');
    p.finish();
    const text = chunks.join('');
    expect(text).toContain('dir/a.png');
    expect(text).toContain('5/20 tiles  ETA 1:15');
    expect(text).toMatch(/batch .* 1\/3 files/);
    expect(text).toContain('a done\n');
    expect(formatSeconds(3725)).toBe('1:02:05');
  });

  it('is silent when stderr is not a TTY', () => {
    const { chunks, stream } = fake(false);
    const p = new Progress(stream, 3);
    p.startFile('a.png');
    p.tile(1, 2, 1);
    p.log('x');
    p.finish();
    expect(chunks).toEqual([]);
  });
});

describe('batch and safety', () => {
  it('mirrors a folder tree, reports a corrupt file, continues, exits non-zero, and skips finished files', async () => {
    const src = path.join(tmp, 'batch-in');
    const dst = path.join(tmp, 'batch-out');
    await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
    const img = await cropRaw(BIRD, 0, 0, 24, 20);
    await writeImage(path.join(src, 'a.png'), img);
    await writeImage(path.join(src, 'sub', 'b.jpg'), img);
    await fsp.writeFile(path.join(src, 'bad.png'), Buffer.from('this is not a png'));
    await fsp.writeFile(path.join(src, 'notes.txt'), 'ignored');

    const r = await cli([src, '-o', dst, '--weights', W4, '--json']);
    expect(r.code).toBe(1);
    const res = jsonLines(r.stdout);
    expect(res.map((x) => [path.relative(src, String(x.input)), x.status])).toEqual([
      ['a.png', 'done'], ['bad.png', 'failed'], [path.join('sub', 'b.jpg'), 'done'],
    ]);
    expect(String(res[1].error)).toMatch(/bad\.png.*not a supported image/);
    expect(r.stderr).toContain('bad.png');
    const a = (await readImage(path.join(dst, 'a.png'))).image;
    expect([a.width, a.height]).toEqual([96, 80]);
    expect((await readImage(path.join(dst, 'sub', 'b.jpg'))).format).toBe('jpeg');
    expect(existsSync(path.join(dst, 'bad.png'))).toBe(false);
    expect(readdirSync(dst).sort()).toEqual(['a.png', 'sub']); // no temp files left behind

    const mtime = statSync(path.join(dst, 'a.png')).mtimeMs;
    const again = await cli([src, '-o', dst, '--weights', W4, '--json']);
    expect(again.code).toBe(1);
    expect(jsonLines(again.stdout).map((x) => x.status)).toEqual(['skipped', 'failed', 'skipped']);
    expect(statSync(path.join(dst, 'a.png')).mtimeMs).toBe(mtime);

    const forced = await cli([src, '-o', dst, '--weights', W4, '--json', '--overwrite', '-f', 'webp']);
    expect(jsonLines(forced.stdout).map((x) => [path.relative(dst, String(x.output)), x.status])).toEqual([
      ['a.webp', 'done'], ['bad.webp', 'failed'], [path.join('sub', 'b.webp'), 'done'],
    ]);
  });

  it('never overwrites an input, even with --overwrite', async () => {
    const dir = path.join(tmp, 'self');
    await fsp.mkdir(dir);
    const file = path.join(dir, 'in.png');
    await writeImage(file, await cropRaw(BIRD, 0, 0, 16, 16));
    const before = await fsp.readFile(file);
    const one = await cli([file, '-o', file, '--weights', W4, '--overwrite']);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('it is the input file');
    const viaLink = path.join(tmp, 'self-link');
    await fsp.symlink(dir, viaLink);
    const folder = await cli([dir, '-o', viaLink, '--weights', W4, '--overwrite', '--json']);
    expect(folder.code).toBe(1);
    expect(jsonLines(folder.stdout).map((x) => x.status)).toEqual(['failed']);
    expect(await fsp.readFile(file)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['in.png']);
  });

  it('refuses a scale the weights were not trained for', async () => {
    const r = await cli([BIRD, '-o', path.join(tmp, 'wrong.png'), '--weights', W4, '-s', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/imdn ×4 weights.*×2 was requested/);
    // A file without any description is refused by its shapes.
    const bare = path.join(tmp, 'bare.safetensors');
    await fsp.writeFile(bare, encodeSafetensors((await readSafetensors(W4)).tensors));
    const r2 = await cli([BIRD, '-o', path.join(tmp, 'wrong.png'), '--weights', bare, '-s', '3']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/does not fit imdn ×3.*upsampler/);
    expect((await cli([BIRD, '-o', path.join(tmp, 'wrong.png'), '--weights', W4, '-s', '5'])).stderr).toContain('imdn has no ×5 model');
    expect((await cli([BIRD, '-o', path.join(tmp, 'wrong.png'), '-m', 'nosuch'])).stderr).toContain("unknown model 'nosuch'");
    expect(existsSync(path.join(tmp, 'wrong.png'))).toBe(false);
  });

  it('cancels between tiles through an AbortSignal, writing nothing', async () => {
    const dir = path.join(tmp, 'cancel');
    await fsp.mkdir(dir);
    const out = path.join(dir, 'out.png');
    const ac = new AbortController();
    const seen: number[] = [];
    const p = upscale(await cropRaw(BABY, 0, 0, 64, 64), {
      weights: W4, tile: 16, tilePad: 4, output: out, signal: ac.signal,
      onProgress: (q) => {
        seen.push(q.tilesDone);
        ac.abort();
      },
    });
    await expect(p).rejects.toThrow(/abort/i);
    expect(seen).toEqual([1]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
