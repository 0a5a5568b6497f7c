// Upscale limits are checked before any work, cancellation stops between tiles, and a non-finite network output
// fails the image: nothing partial is ever written.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../src/cli/upscale.js';
import { checkFinite, runTiled } from '../src/image/tiling.js';
import { DEFAULT_MAX_PIXELS, Upscaler } from '../src/upscale.js';
import { runCli } from './helpers/cli.js';
import { referenceWeights, repoRoot } from './helpers/fixtures.js';

const W2 = referenceWeights('imdn_x2.safetensors');
let tmp: string;
let up: Upscaler;
beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-bounds-'));
  up = await Upscaler.create({ model: 'imdn', scale: 2, weights: W2 });
});
afterAll(() => {
  up?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const png = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#7a8090' } }).png().toBuffer();
const cli = (args: string[]) => runCli(register, ['upscale', ...args]);

describe('limits are checked from the header, before decoding or running', () => {
  it('refuses a decompression bomb at once, naming the sizes, the limit and the way out', async () => {
    const bomb = path.join(tmp, 'bomb.png');
    await sharp(await png(16000, 16000)).toFile(bomb); // small file, 256 MP of pixels
    let tiles = 0;
    const t0 = performance.now();
    const err = await up.run(bomb, { output: path.join(tmp, 'bomb_x2.png'), onProgress: () => tiles++ }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/16000×16000: ×2 makes 32000×32000 .* over the limit of 268 MP.*raise the maxPixels limit/);
    expect(tiles).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000); // header only: the full decode alone takes longer
    expect(existsSync(path.join(tmp, 'bomb_x2.png'))).toBe(false);
  });

  it('maxPixels applies to the output, and 0 lifts it', async () => {
    const img = await png(20, 10); // ×2 → 40×20 = 800 px
    await expect(up.run(img, { maxPixels: 799 })).rejects.toThrow(/makes 40×20 .*over the limit/);
    await expect(up.run(img, { maxPixels: 199 })).rejects.toThrow(/is 20×10 .*over the limit/);
    expect((await up.run(img, { maxPixels: 800 })).outWidth).toBe(40);
    expect((await up.run(img, { maxPixels: 0 })).outHeight).toBe(20);
    await expect(up.run(img, { maxPixels: -5 })).rejects.toThrow(/maxPixels must be a positive integer/);
    expect(DEFAULT_MAX_PIXELS).toBe(16383 * 16383);
  });

  it('refuses outputs the format cannot hold before running (WebP 16383, JPEG 65535 px per side)', async () => {
    const wide = path.join(tmp, 'wide.png');
    await sharp(await png(8200, 4)).toFile(wide);
    let tiles = 0;
    await expect(up.run(wide, { output: path.join(tmp, 'wide.webp'), onProgress: () => tiles++ }))
      .rejects.toThrow(/16400×8, too large for WEBP \(at most 16383 px per side\); write PNG instead/);
    expect(tiles).toBe(0);
    const r = await cli([wide, '-o', path.join(tmp, 'wide.jpg')]);
    expect(r.code).toBe(0); // 16400 fits JPEG
    expect(existsSync(path.join(tmp, 'wide.jpg'))).toBe(true);
  });

  it('the CLI takes --max-pixels and fails with one line and no output', async () => {
    const src = path.join(tmp, 'small.png');
    await sharp(await png(30, 30)).toFile(src);
    const out = path.join(tmp, 'small_x2.png');
    const r = await cli([src, '-o', out, '-s', '2', '--weights', W2, '--max-pixels', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/makes 60×60 .*over the limit.*\(--max-pixels N; 0 = no limit\)/);
    expect(existsSync(out)).toBe(false);
    expect((await cli([src, '-o', out, '-s', '2', '--weights', W2, '--max-pixels', 'lots'])).stderr).toMatch(/--max-pixels must be an integer/);
  });

  it('an output folder that cannot be written is refused before running', async () => {
    await expect(up.run(await png(8, 8), { output: path.join(tmp, 'no/such/dir/x.png') })).rejects.toThrow(/folder .* does not exist/);
  });
});

describe('cancel', () => {
  it('is seen between tiles even though each forward is synchronous (events run between tiles)', async () => {
    const ac = new AbortController();
    let last = 0;
    const out = path.join(tmp, 'cancel.png');
    const run = up.run(await png(64, 64), {
      tile: 8, tilePad: 4, signal: ac.signal, output: out,
      // A timer, not a direct abort: it fires only if the tile loop lets the event loop run.
      onProgress: (p) => {
        last = p.tilesDone;
        if (p.tilesDone === 1) setTimeout(() => ac.abort(new Error('stop')), 0);
      },
    });
    await expect(run).rejects.toThrow('stop');
    expect(last).toBeLessThanOrEqual(2);
    expect(existsSync(out)).toBe(false);
  });

  it('SIGINT / SIGTERM from the terminal: exit 130, "cancelled", no output and no temp files', async () => {
    const dir = path.join(tmp, 'sig');
    mkdirSync(path.join(dir, 'in'), { recursive: true });
    await sharp(await png(8, 8)).toFile(path.join(dir, 'in/a.png'));
    await sharp(await png(96, 96)).toFile(path.join(dir, 'in/b.png'));
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const outDir = path.join(dir, `out-${sig}`);
      const child = spawn(process.execPath, [
        path.join(repoRoot, 'bin/lightsr.js'), 'upscale', path.join(dir, 'in'), '-o', outDir,
        '-s', '2', '--weights', W2, '-t', '4', '--tile-pad', '2', '--json',
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let sent = false;
      // a.png is tiny: its JSON line says b.png (576 tiles) has started; signal then (once).
      child.stdout.on('data', (d) => {
        stdout += String(d);
        if (!sent && stdout.includes('"status":"done"')) sent = child.kill(sig);
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; output: string });
      expect(code).toBe(130);
      expect(lines.map((l) => l.status)).toEqual(['done', 'cancelled']);
      expect(readdirSync(outDir)).toEqual(['a.png']); // no b.png, no temp file
    }
  });
});

describe('non-finite network output', () => {
  it('fails the image with a clear error instead of a black picture', async () => {
    const img = { channels: 3, height: 4, width: 4, data: new Float32Array(48).fill(0.5) };
    const bad = (t: typeof img) => ({ ...t, height: t.height * 2, width: t.width * 2, data: new Float32Array(t.data.length * 4).fill(NaN) });
    await expect(runTiled(img, 2, bad, { tile: 0, pad: 0 })).rejects.toThrow(/192 non-finite values \(NaN\/Inf\) in tile 1 of 1.*weights/);
    expect(() => checkFinite({ ...img, data: Float32Array.of(0, Infinity, 1) }, 'x')).toThrow(/1 non-finite/);
    expect(() => checkFinite(img, 'x')).not.toThrow();
  });
});
