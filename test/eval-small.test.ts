// `lightsr eval` on HR images too small to score: one error naming the file and the reason, exit 1.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../src/cli/eval.js';
import { hrTooSmall, minHRSide } from '../src/eval/benchmark.js';
import { runCli } from './helpers/cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-eval-small-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A dataset folder <tmp>/<name>/HR/img.png holding one w×h image (a gradient, so the scores are finite). */
async function dataset(name: string, w: number, h: number): Promise<string> {
  const dir = path.join(tmp, name);
  mkdirSync(path.join(dir, 'HR'), { recursive: true });
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 251;
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, 'HR', 'img.png'));
  return dir;
}

const evalCli = (dir: string, scale: number) => runCli(register, ['eval', '--data', dir, '--scale', String(scale)]);

describe('eval on too-small HR images', () => {
  it('1×1 at ×2: smaller than the scale, names the file, exit 1', async () => {
    const dir = await dataset('one', 1, 1);
    const r = await evalCli(dir, 2);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`lightsr: HR image ${path.join(dir, 'HR', 'img.png')} is 1x1, smaller than the scale ×2; ` +
      '×2 needs HR images of at least 16x16 (remove it, or use a smaller scale)\n');
  });

  it('3×3 at ×2: nothing left after the border crop', async () => {
    const dir = await dataset('three', 3, 3);
    const r = await evalCli(dir, 2);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(path.join(dir, 'HR', 'img.png'));
    expect(r.stderr).toMatch(/is 3x3: cropping the 2 px border from its 2x2 mod-crop leaves nothing to score/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('15×20 at ×2: the cropped area is smaller than the SSIM window; 16×16 is enough', async () => {
    const r = await evalCli(await dataset('narrow', 15, 20), 2);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is 15x20: after the 2 px border crop, 10x16 is smaller than SSIM's 11x11 window/);
    const ok = await evalCli(await dataset('edge', 16, 16), 2);
    expect(ok.error).toBeUndefined();
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/Bicubic\s+×2\s+\d+\.\d\d\/\d\.\d{4}/);
  });

  it('minHRSide is the exact limit for scales 2–8', () => {
    for (let s = 2; s <= 8; s++) {
      const m = minHRSide(s);
      expect(hrTooSmall(m, m, s), `×${s} at ${m}`).toBeNull();
      expect(hrTooSmall(m - 1, m, s), `×${s} at ${m - 1}`).not.toBeNull();
      expect(hrTooSmall(m, m - 1, s), `×${s} at ${m - 1}`).not.toBeNull();
      // By definition: the mod-cropped side minus both borders must hold the 11-px SSIM window.
      const left = m - (m % s) - 2 * s;
      expect(left).toBeGreaterThanOrEqual(11);
      expect(m - 1 - ((m - 1) % s) - 2 * s).toBeLessThan(11);
    }
  });
});
