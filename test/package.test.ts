// The npm package as a user gets it: `npm pack` of a clean copy of the checkout (prepack builds dist/), its file
// list, an install into a temporary project (LIGHTSR_SKIP_ADDON: no addon compile, so the tfjs fallback), then
// `import { upscale, backendInfo } from 'lightsr'` and `npx lightsr --help` there. The install script's failure
// paths run in the installed copy against missing and broken (fake) libtorch headers: one line, exit 0.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-pack-'));
const copy = path.join(tmp, 'checkout');
const proj = path.join(tmp, 'proj');
const installed = path.join(proj, 'node_modules/lightsr');

/** The environment without npm's script variables and lightsr's settings, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|LIGHTSR_|INIT_CWD$)/i.test(k)) e[k] = v;
  return { ...e, LIGHTSR_THREADS: '1', ...extra };
}

function run(cmd: string, args: string[], cwd: string, extra: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, env: env(extra), encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

let entries: string[] = [];
let installLog = '';

beforeAll(async () => {
  // A clean clone's files (tracked + untracked, not ignored), plus a stale dist file and a training run to leave out.
  const list = run('git', ['ls-files', '-z', '-c', '-o', '--exclude-standard'], repoRoot).stdout.split('\0');
  for (const f of list) if (f && existsSync(path.join(repoRoot, f))) cpSync(path.join(repoRoot, f), path.join(copy, f));
  mkdirSync(path.join(copy, 'dist'), { recursive: true });
  writeFileSync(path.join(copy, 'dist/stale.js'), '');
  mkdirSync(path.join(copy, 'runs/r1'), { recursive: true });
  writeFileSync(path.join(copy, 'runs/r1/log.txt'), '');
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));

  const pack = run('npm', ['pack', '--pack-destination', tmp], copy);
  expect(pack.code, pack.out).toBe(0);
  const tgz = path.join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz'))!);
  entries = run('tar', ['-tzf', tgz], tmp).stdout.trim().split('\n').map((e) => e.replace(/^package\//, ''));

  mkdirSync(proj);
  expect(run('npm', ['init', '-y'], proj).code).toBe(0);
  const inst = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tgz], proj, { LIGHTSR_SKIP_ADDON: '1' });
  expect(inst.code, inst.out).toBe(0);
  installLog = inst.out;

  const px = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
  await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(proj, 'tiny.png'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm package', () => {
  it('ships the runtime, addon sources, weights and docs, and nothing else', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const addon = readdirSync(path.join(repoRoot, 'src/backends/torch/addon')).map((f) => `src/backends/torch/addon/${f}`);
    const weights = readdirSync(path.join(repoRoot, 'weights')).filter((f) => f.endsWith('.safetensors')).map((f) => `weights/${f}`);
    const targets = Object.values(pkg.exports as Record<string, string | Record<string, string>>)
      .flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t))).map((t) => t.replace(/^\.\//, ''));
    expect(targets).toContain('dist/index.js');
    expect(weights).toContain('weights/imdn_x2.safetensors');
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/lightsr.js', 'binding.gyp', 'scripts/build-addon.js', ...addon, ...weights, ...targets]) {
      expect(entries, f).toContain(f);
    }
    const unwanted = entries.filter((e) =>
      /^(test|bench|\.ci|runs|web|docs)\//.test(e) || e === 'dist/stale.js' || e.endsWith('.map')
      || (e.endsWith('.ts') && !e.endsWith('.d.ts'))
      || (e.startsWith('src/') && !e.startsWith('src/backends/torch/addon/')));
    expect(unwanted).toEqual([]);
  });

  it('installs without compiling (LIGHTSR_SKIP_ADDON), imports, and upscales on the tfjs fallback', () => {
    expect(installLog).toContain('lightsr: libtorch addon not built (LIGHTSR_SKIP_ADDON is set); lightsr will use the TF.js backend');
    const script = `
      import { upscale, backendInfo } from 'lightsr';
      const info = await backendInfo();
      const r = await upscale('tiny.png', { scale: 2, output: 'out.png' });
      const resolved = ['lightsr/browser', 'lightsr/package.json'].map((s) => import.meta.resolve(s));
      console.log(JSON.stringify({ info, r: [r.model, r.scale, r.outWidth, r.outHeight, r.output], resolved }));`;
    const r = run(process.execPath, ['--input-type=module', '-e', script], proj);
    expect(r.code, r.out).toBe(0);
    expect(r.stderr).toBe(''); // the library prints nothing, not even the fallback
    const { info, r: res, resolved } = JSON.parse(r.stdout);
    expect(res).toEqual(['imdn', 2, 16, 16, 'out.png']);
    expect(resolved.map((u: string) => existsSync(new URL(u)))).toEqual([true, true]);
    expect(info).toMatchObject({
      requested: 'auto', active: 'tfjs',
      addon: { path: path.join(installed, 'build/Release/lightsr_torch.node'), found: false, loaded: false },
    });
    expect(info.fallback).toContain('not found');
    expect(info.fix).toContain('sudo apt-get install libtorch-dev');
    expect(info.fix).toContain('npm rebuild lightsr');
  });

  it('npx lightsr --help runs the installed CLI', () => {
    // --offline: never fetch a registry package of that name instead of the installed bin.
    const r = run('npx', ['--offline', 'lightsr', '--help'], proj);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('Usage: lightsr');
    expect(r.stdout).toContain('Lightweight single-image super-resolution');
  });

  it('install script: no libtorch or a failed compile is one line and exit 0; --strict fails', () => {
    const script = ['scripts/build-addon.js'];
    const absent = run(process.execPath, script, installed, { LIGHTSR_LIBTORCH_INCLUDE: path.join(tmp, 'nowhere') });
    expect(absent.code).toBe(0);
    expect(absent.out).toMatch(/^lightsr: libtorch-dev not found \(no .*torch\.h\); lightsr will use the TF\.js backend \(to fix: sudo apt-get install libtorch-dev, then npm rebuild lightsr\)\n$/);

    // Headers that exist but do not compile.
    const fake = path.join(tmp, 'fake');
    for (const h of ['include/torch/csrc/api/include/torch/torch.h', 'include/ATen/ATen.h', 'lib/libtorch.so']) {
      mkdirSync(path.dirname(path.join(fake, h)), { recursive: true });
      writeFileSync(path.join(fake, h), '#error fake libtorch\n');
    }
    const broken = { LIGHTSR_LIBTORCH_INCLUDE: path.join(fake, 'include'), LIGHTSR_LIBTORCH_LIB: path.join(fake, 'lib') };
    const failed = run(process.execPath, script, installed, broken);
    expect(failed.code).toBe(0);
    const log = path.join(installed, 'build/addon-build.log');
    expect(failed.out).toBe(`lightsr: libtorch addon build failed (node-gyp build exit 1, log: ${log}); `
      + 'lightsr will use the TF.js backend (to fix: sudo apt-get install libtorch-dev, then npm rebuild lightsr)\n');
    expect(readFileSync(log, 'utf8')).toContain('fake libtorch');
    expect(existsSync(path.join(installed, 'build/Release/lightsr_torch.node'))).toBe(false);

    const info = run(process.execPath, ['--input-type=module', '-e', "import('lightsr').then(async (m) => console.log(JSON.stringify(await m.backendInfo())))"], proj);
    expect(JSON.parse(info.stdout).addon.error).toContain(`the install-time build failed, its log: ${log}`);

    const strict = run(process.execPath, [...script, '--strict'], installed, broken);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain('lightsr: libtorch addon build failed (node-gyp build exit 1); lightsr will use the TF.js backend (to fix: sudo apt-get install libtorch-dev, then npm run build:addon)');
  });
});
