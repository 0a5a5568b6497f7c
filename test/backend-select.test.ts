// Backend choice: --backend > LIGHTSR_BACKEND > auto; unknown names and unavailable explicit backends are errors;
// auto falling back to tfjs says why on stderr, once. The CLI runs in child processes from the TS sources, with
// LIGHTSR_TORCH_ADDON pointing at a missing file to play "addon not built".
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ops } from '../src/engine/ops.js';
import { getOps, pickBackend, resolveBackend, type BackendName } from '../src/engine/select.js';
import { Upscaler } from '../src/upscale.js';
import { repoRoot } from './helpers/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-backend-'));
const tiny = path.join(tmp, 'tiny.png');
const noAddon = path.join(tmp, 'missing/lightsr_torch.node');
const FALLBACK = /running on the slower tfjs backend/g;

beforeAll(async () => {
  const px = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 29) % 256;
  await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(tiny);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** `lightsr ARGS` in a child process with `env` added (LIGHTSR_BACKEND / LIGHTSR_TORCH_ADDON unset unless given). */
function lightsr(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env, LIGHTSR_THREADS: '1' };
  delete base.LIGHTSR_BACKEND;
  delete base.LIGHTSR_TORCH_ADDON;
  const cli = ['--import', path.join(repoRoot, 'test/helpers/ts-register.mjs'), path.join(repoRoot, 'test/helpers/main-cli.ts')];
  const c = spawn(process.execPath, [...cli, ...args], { cwd: repoRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (d) => (stdout += String(d)));
  c.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => c.on('close', (code) => resolve({ code, stdout, stderr })));
}

const out = (name: string) => path.join(tmp, name);
const upscaleArgs = (o: string) => ['upscale', tiny, '-o', o, '-s', '2', '-t', '0'];

describe('backend policy (in-process)', () => {
  it('explicit > LIGHTSR_BACKEND > auto; unknown names list the valid ones', () => {
    expect(resolveBackend(undefined, {})).toBe('auto');
    expect(resolveBackend(undefined, { LIGHTSR_BACKEND: '' })).toBe('auto');
    expect(resolveBackend(undefined, { LIGHTSR_BACKEND: 'tfjs' })).toBe('tfjs');
    expect(resolveBackend('torch', { LIGHTSR_BACKEND: 'tfjs' })).toBe('torch');
    expect(() => resolveBackend('nosuch', {})).toThrow("backend 'nosuch' is not a backend (valid: torch, tfjs, onnx, auto)");
    expect(() => resolveBackend(undefined, { LIGHTSR_BACKEND: 'TFJS' })).toThrow(/LIGHTSR_BACKEND 'TFJS' is not a backend \(valid: torch, tfjs, onnx, auto\)/);
  });

  it('explicit torch that cannot load throws; auto falls back with the reason; tfjs never tries torch', async () => {
    const tf = { name: 'tfjs' } as Ops;
    const calls: string[] = [];
    const load = {
      torch: async (): Promise<Ops> => { calls.push('torch'); throw new Error('no addon here'); },
      tfjs: async () => { calls.push('tfjs'); return tf; },
    };
    await expect(pickBackend('torch', load)).rejects.toThrow('no addon here');
    expect(calls).toEqual(['torch']);
    expect(await pickBackend('auto', load)).toEqual({ ops: tf, fallback: 'no addon here' });
    calls.length = 0;
    expect(await pickBackend('tfjs', load)).toEqual({ ops: tf, fallback: null });
    expect(calls).toEqual(['tfjs']);
  });

  it('the library refuses unknown names (getOps, Upscaler.create)', async () => {
    await expect(getOps('nosuch' as BackendName)).rejects.toThrow(/valid: torch, tfjs, onnx, auto/);
    await expect(Upscaler.create({ scale: 2, backend: 'gpu' as BackendName })).rejects.toThrow("backend 'gpu' is not a backend");
  });
});

describe('backend choice from the command line', () => {
  it('unknown --backend or LIGHTSR_BACKEND: one error line, exit 1, nothing written', async () => {
    const a = await lightsr(['--backend', 'nosuch', ...upscaleArgs(out('a.png'))]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe("lightsr: --backend 'nosuch' is not a backend (valid: torch, tfjs, onnx, auto)\n");
    const b = await lightsr(upscaleArgs(out('b.png')), { LIGHTSR_BACKEND: 'nosuch' });
    expect(b.code).toBe(1);
    expect(b.stderr).toBe("lightsr: LIGHTSR_BACKEND 'nosuch' is not a backend (valid: torch, tfjs, onnx, auto)\n");
    expect(existsSync(out('a.png')) || existsSync(out('b.png'))).toBe(false);
  });

  it('LIGHTSR_BACKEND=tfjs runs tfjs (info says so; upscale never tries the addon); --backend wins over it', async () => {
    const info = await lightsr(['info', 'imdn', '-s', '2'], { LIGHTSR_BACKEND: 'tfjs' });
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^engine: tfjs wasm/m);
    const up = await lightsr(upscaleArgs(out('tfjs.png')), { LIGHTSR_BACKEND: 'tfjs', LIGHTSR_TORCH_ADDON: noAddon });
    expect(up.code).toBe(0);
    expect(up.stderr).not.toMatch(FALLBACK);
    expect((await sharp(out('tfjs.png')).metadata()).width).toBe(16);
    const flag = await lightsr(['--backend', 'torch', 'info', 'imdn', '-s', '2'], { LIGHTSR_BACKEND: 'tfjs' });
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^engine: libtorch /m);
  });

  it('explicit torch with the addon missing: error saying why and how to fix, exit 1, nothing written', async () => {
    for (const [args, env] of [
      [upscaleArgs(out('t1.png')), { LIGHTSR_BACKEND: 'torch', LIGHTSR_TORCH_ADDON: noAddon }],
      [['--backend', 'torch', ...upscaleArgs(out('t2.png'))], { LIGHTSR_BACKEND: 'tfjs', LIGHTSR_TORCH_ADDON: noAddon }],
    ] as const) {
      const r = await lightsr([...args], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`lightsr: libtorch backend unavailable: ${noAddon} not found ` +
        '(to fix: unset LIGHTSR_TORCH_ADDON or point it at a built lightsr_torch.node)\n');
    }
    expect(existsSync(out('t1.png')) || existsSync(out('t2.png'))).toBe(false);
  });

  it('train has no tfjs fallback: tfjs chosen, or auto with the addon missing, is an error before any work', async () => {
    const dir = path.join(tmp, 'train');
    mkdirSync(dir, { recursive: true });
    const args = ['train', '--model', 'imdn', '--scale', '2', '--train_dir', dir, '--out', path.join(dir, 'run')];
    const a = await lightsr(args, { LIGHTSR_BACKEND: 'tfjs' });
    expect([a.code, a.stderr]).toEqual([1, 'lightsr: training needs the torch backend, but tfjs was chosen (use --backend torch or auto)\n']);
    const b = await lightsr(args, { LIGHTSR_TORCH_ADDON: noAddon });
    expect(b.code).toBe(1);
    expect(b.stderr).toBe(`lightsr: libtorch backend unavailable: ${noAddon} not found ` +
      '(to fix: unset LIGHTSR_TORCH_ADDON or point it at a built lightsr_torch.node)\n');
    expect(existsSync(path.join(dir, 'run'))).toBe(false);
  });

  it('auto with the addon missing: works on tfjs with exactly one stderr line saying why', async () => {
    const up = await lightsr(upscaleArgs(out('auto.png')), { LIGHTSR_TORCH_ADDON: noAddon });
    expect(up.code).toBe(0);
    expect((await sharp(out('auto.png')).metadata()).width).toBe(16);
    expect(up.stderr.match(FALLBACK)).toHaveLength(1);
    expect(up.stderr).toContain(`lightsr: running on the slower tfjs backend: libtorch backend unavailable: ${noAddon} not found (to fix:`);
    // eval at two scales asks for an engine twice: still one line.
    mkdirSync(path.join(tmp, 'ds/HR'), { recursive: true });
    const px = Buffer.alloc(18 * 18 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * 13) % 256;
    await sharp(px, { raw: { width: 18, height: 18, channels: 3 } }).png().toFile(path.join(tmp, 'ds/HR/a.png'));
    const ev = await lightsr(['eval', '--model', 'imdn', '--scale', '2,3', '--data', path.join(tmp, 'ds')], { LIGHTSR_TORCH_ADDON: noAddon });
    expect(ev.code).toBe(0);
    expect(ev.stdout).toMatch(/imdn\s+×2[\s\S]*imdn\s+×3/);
    expect(ev.stderr.match(FALLBACK)).toHaveLength(1);
  });
});
