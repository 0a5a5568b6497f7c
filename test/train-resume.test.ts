// `lightsr train` as a child process: SIGKILL mid-epoch then --resume, and SIGINT or SIGTERM (checkpoint, exit 130)
// then --resume, must all reproduce an uninterrupted run: same iterations, learning rates, batches, losses, weights.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsSync } from '../src/engine/safetensors.js';
import { crop } from '../src/image/bicubic.js';
import { readImage, writeImage } from '../src/image/io.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';

const repo = path.resolve(import.meta.dirname, '..');
const shared = path.resolve(repo, '../shared');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lightsr-resume-'));
const data = path.join(tmp, 'data');
const IPE = 5;
const TOTAL = 3 * IPE;
const children: ChildProcess[] = [];

beforeAll(async () => {
  fs.mkdirSync(data);
  for (const n of ['baboon', 'comic', 'lenna', 'pepper']) {
    const img = (await readImage(path.join(shared, 'data/bench/Set14/HR', `${n}.png`))).image;
    await writeImage(path.join(data, `${n}.png`), crop(img, 0, 0, 96, 96));
  }
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(out: string, extra: string[] = []): ChildProcess {
  const args = [
    '--import', path.join(repo, 'test/helpers/ts-register.mjs'), path.join(repo, 'test/helpers/train-cli.ts'), 'train',
    '--model', 'imdn', '--scale', '2', '--train_dir', data, '--out', out, '--cache_dir', path.join(tmp, 'cache'),
    '--batch_size', '2', '--patch_size', '48', '--epochs', '3', '--iters_per_epoch', String(IPE), '--lr', '5e-4', '--cosine',
    '--warmup', '2', '--ema', '0.9', '--seed', '11', '--log_every', '1', '--save_every', '3', '--threads', '1', ...extra,
  ];
  const c = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let stdout = '';
  c.stderr!.on('data', (d) => (err += String(d)));
  c.stdout!.on('data', (d) => (stdout += String(d)));
  Object.defineProperty(c, 'errText', { get: () => err });
  Object.defineProperty(c, 'outText', { get: () => stdout });
  children.push(c);
  return c;
}

const exited = (c: ChildProcess) => new Promise<{ code: number | null; signal: string | null }>((res) => {
  if (c.exitCode !== null || c.signalCode !== null) res({ code: c.exitCode, signal: c.signalCode });
  else c.once('exit', (code, signal) => res({ code, signal }));
});

type Rec = { type: string; iter: number; lr: number; loss: number; batch_hash: number; status?: string };
const records = (out: string): Rec[] => {
  const f = path.join(out, 'log.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as Rec];
    } catch {
      return [];
    }
  });
};
const trainRecs = (out: string) => records(out).filter((r) => r.type === 'train');

async function waitForIter(out: string, iter: number, c: ChildProcess): Promise<void> {
  for (;;) {
    if (trainRecs(out).some((r) => r.iter >= iter)) return;
    if (c.exitCode !== null) throw new Error(`training exited early: ${(c as unknown as { errText: string }).errText}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function expectSameRun(ref: string, out: string): void {
  const a = trainRecs(ref);
  const b = trainRecs(out);
  expect(b.map((r) => r.iter)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
  expect(b.map((r) => r.lr)).toEqual(a.map((r) => r.lr));
  expect(b.map((r) => r.batch_hash)).toEqual(a.map((r) => r.batch_hash));
  b.forEach((r, i) => expect(Math.abs(r.loss - a[i].loss), `loss at ${r.iter}`).toBeLessThanOrEqual(1e-6 * Math.abs(a[i].loss)));
  for (const f of ['model.safetensors', 'model_ema.safetensors']) {
    const wa = readSafetensorsSync(path.join(ref, f)).tensors;
    const wb = readSafetensorsSync(path.join(out, f)).tensors;
    let worst = 0;
    for (const [k, t] of wa) t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - wb.get(k)!.data[i]))));
    expect(worst, f).toBeLessThan(1e-6);
  }
  expect(loadCheckpoint(path.join(out, 'last.safetensors')).state.iteration).toBe(TOTAL);
}

describe('kill and resume', () => {
  const ref = path.join(tmp, 'ref');

  it('an uninterrupted reference run', async () => {
    const c = start(ref);
    expect((await exited(c)).code, (c as unknown as { errText: string }).errText).toBe(0);
    const recs = trainRecs(ref);
    expect(recs.length).toBe(TOTAL);
    // warm-up, then cosine decay
    expect(recs[0].lr).toBeCloseTo(2.5e-4, 12);
    expect(recs[TOTAL - 1].lr).toBeLessThan(recs[2].lr);
  });

  it('SIGKILL mid-epoch, then --resume continues exactly', async () => {
    const out = path.join(tmp, 'killed');
    const c = start(out);
    await waitForIter(out, 7, c);
    c.kill('SIGKILL');
    expect((await exited(c)).signal).toBe('SIGKILL');
    const ck = loadCheckpoint(path.join(out, 'last.safetensors')).state;
    expect(ck.iteration % IPE).not.toBe(0); // mid-epoch
    expect(ck.iteration).toBeGreaterThanOrEqual(6);
    expect(ck.iteration).toBeLessThan(TOTAL);
    // the log may hold iterations past the checkpoint; the resumed run replaces them
    const r = start(out, ['--resume']);
    expect((await exited(r)).code, (r as unknown as { errText: string }).errText).toBe(0);
    expect(records(out).filter((x) => x.type === 'resume').map((x) => x.iter)).toEqual([ck.iteration]);
    expectSameRun(ref, out);
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} saves a checkpoint and exits 130; --resume finishes the same run`, async () => {
      const out = path.join(tmp, `interrupted-${sig}`);
      const c = start(out);
      await waitForIter(out, 4, c);
      c.kill(sig);
      expect((await exited(c)).code).toBe(130);
      const text = c as unknown as { errText: string; outText: string };
      expect(text.errText).toContain(`${sig}: saving a checkpoint after this iteration (press again to quit at once)\n`);
      expect(text.outText).toMatch(/^stopped \(resume with --resume\): imdn ×2, \d+\/15 iterations/);
      const done = trainRecs(out).at(-1)!.iter;
      const ck = loadCheckpoint(path.join(out, 'last.safetensors')).state;
      expect(ck.iteration).toBe(done); // saved right where it stopped
      expect(records(out).at(-1)).toMatchObject({ type: 'end', status: 'stopped' });
      if (sig === 'SIGINT') {
        // options that would change the run are refused on resume
        const bad = start(out, ['--resume', '--batch_size', '4']);
        expect((await exited(bad)).code).toBe(1);
        expect((bad as unknown as { errText: string }).errText).toMatch(/cannot change --batch_size/);
      }
      const r = start(out, ['--resume']);
      expect((await exited(r)).code, (r as unknown as { errText: string }).errText).toBe(0);
      expectSameRun(ref, out);
    });
  }
});
