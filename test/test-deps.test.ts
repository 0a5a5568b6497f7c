// README's test command: scripts/test.sh installs what the tests need (stubbed apt/dpkg/npm here), .ci/run runs
// exactly it, and `npm test` checks its prerequisites first (scripts/check-test-deps.js), failing with one message.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JS script without type declarations
import { defaults, findMissing, formatMissing } from '../scripts/check-test-deps.js';
import { repoRoot } from './helpers/fixtures.js';

type Missing = { what: string; why: string; apt?: string[]; cmd?: string; note?: string };
const find = findMissing as (p: typeof defaults) => Missing[];
const format = formatMissing as (m: Missing[], asRoot: boolean) => string;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-testdeps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm test prerequisites (scripts/check-test-deps.js)', () => {
  it('npm test runs the check after the build and before vitest', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toBe('npm run build && node scripts/check-test-deps.js && vitest run');
  });

  it('everything missing: each item named, one apt-get command with every package', () => {
    const none = path.join(tmp, 'none');
    const m = find({ ...defaults, python: none, chromium: none, addon: none, addonFromEnv: false, torchHeader: none, shared: none });
    expect(m.map((x) => x.what)).toEqual([
      'python3 with torch (test/torch-ops.test.ts)', 'Chromium (test/web.test.ts)', 'the libtorch addon (torch tests)', 'the shared test fixtures',
    ]);
    const msg = format(m, false);
    expect(msg).toContain('npm test: 4 test prerequisites are missing:');
    expect(msg).toContain(`  - Chromium (test/web.test.ts): ${none} not found`);
    expect(msg).toContain('To install: sudo apt-get install -y python3-torch chromium libtorch-dev libopenblas0-pthread   (or `bash scripts/test.sh`');
    expect(msg).toContain(`Also: put the project's shared/ folder (test fixtures) at ${none}`);
    expect(format(m.slice(1, 2), true)).toMatch(/^npm test: 1 test prerequisite is missing:\n.*\nTo install: apt-get install -y chromium /);
  });

  it('a python without torch, and an addon that does not load with libtorch-dev present, are caught', () => {
    const bad = path.join(tmp, 'bad.node');
    writeFileSync(bad, 'not an ELF file');
    const m = find({ ...defaults, python: '/bin/false', addon: bad, addonFromEnv: false, torchHeader: path.join(repoRoot, 'package.json') });
    const py = m.find((x) => x.what.startsWith('python3'));
    expect(py?.why).toBe('exit 1');
    const addon = m.find((x) => x.what.startsWith('the libtorch addon'));
    expect(addon?.why).toMatch(new RegExp(`^cannot load ${bad}: `));
    expect(addon?.cmd).toBe('rm -rf build && npm run build:addon');
    // The real addon and fixtures (this suite's own prerequisites) pass.
    expect(find({ ...defaults, python: '/bin/true', chromium: '/bin/true' })).toEqual([]);
  });

  it('as npm test runs it: exit 1 and one message when something is missing', () => {
    const r = spawnSync(process.execPath, ['scripts/check-test-deps.js'], {
      cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LIGHTSR_TORCH_ADDON: path.join(tmp, 'gone.node') },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^npm test: \d test prerequisites? (is|are) missing:\n/);
    expect(r.stderr).toContain(`  - the libtorch addon (torch tests): ${path.join(tmp, 'gone.node')} not found\n`);
    expect(r.stderr).toMatch(/\nTo install: .*unset LIGHTSR_TORCH_ADDON {3}\(or `bash scripts\/test\.sh`/);
  });
});

describe('scripts/test.sh and .ci/run (apt, dpkg, sudo, id and npm stubbed)', () => {
  const repo = path.join(tmp, 'repo');
  const bin = path.join(tmp, 'bin');
  const log = path.join(tmp, 'log');
  mkdirSync(path.join(repo, 'scripts'), { recursive: true });
  mkdirSync(path.join(repo, '.ci'), { recursive: true });
  mkdirSync(bin, { recursive: true });
  copyFileSync(path.join(repoRoot, 'scripts/test.sh'), path.join(repo, 'scripts/test.sh'));
  copyFileSync(path.join(repoRoot, '.ci/run'), path.join(repo, '.ci/run'));
  const stub = (name: string, body: string) => {
    writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(bin, name), 0o755);
  };
  stub('id', 'echo "$FAKE_UID"');
  stub('dpkg', 'for p in $INSTALLED; do [ "$p" = "$2" ] && { echo "Package: $p"; echo "Status: install ok installed"; exit 0; }; done; exit 1');
  stub('sudo', 'echo "sudo" >> "$LOG"; exec "$@"');
  stub('apt-get', 'echo "apt-get $* DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-}" >> "$LOG"');
  stub('npm', 'echo "npm $*" >> "$LOG"; [ "$1" = test ] && exit "${NPM_TEST_RC:-0}"; exit 0');

  const ALL = 'libtorch-dev libopenblas0-pthread python3-torch python3-onnx chromium';
  function run(script: string, env: { INSTALLED: string; FAKE_UID: string; NPM_TEST_RC?: string }): { code: number | null; log: string[] } {
    rmSync(log, { force: true });
    const r = spawnSync('bash', [path.join(repo, script)], {
      encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LOG: log, NPM_TEST_RC: '0', DEBIAN_FRONTEND: '', ...env },
    });
    let lines: string[] = [];
    try {
      lines = readFileSync(log, 'utf8').trim().split('\n');
    } catch { /* nothing ran */ }
    return { code: r.status, log: lines };
  }
  const lock = path.join(repo, 'package-lock.json');
  const stamp = path.join(repo, 'node_modules/.package-lock.json');
  const setTimes = (lockAge: number, stampAge: number | null) => {
    writeFileSync(lock, '{}');
    const now = Date.now() / 1000;
    utimesSync(lock, now - lockAge, now - lockAge);
    rmSync(path.join(repo, 'node_modules'), { recursive: true, force: true });
    if (stampAge === null) return;
    mkdirSync(path.dirname(stamp), { recursive: true });
    writeFileSync(stamp, '{}');
    utimesSync(stamp, now - stampAge, now - stampAge);
  };

  it('everything in place: only npm test', () => {
    setTimes(100, 10);
    expect(run('scripts/test.sh', { INSTALLED: ALL, FAKE_UID: '0' })).toEqual({ code: 0, log: ['npm test'] });
  });

  it('fresh machine, not root: sudo apt-get for the missing packages only, npm ci, then npm test', () => {
    setTimes(100, null);
    const r = run('scripts/test.sh', { INSTALLED: 'libtorch-dev libopenblas0-pthread', FAKE_UID: '1000' });
    expect(r).toEqual({
      code: 0,
      log: [
        'sudo', 'apt-get update -qq DEBIAN_FRONTEND=',
        'sudo', 'apt-get install -y -qq python3-torch python3-onnx chromium DEBIAN_FRONTEND=noninteractive',
        'npm ci --no-fund --no-audit --loglevel=error', 'npm test',
      ],
    });
    // .ci/run from the same state runs exactly the same commands.
    expect(run('.ci/run', { INSTALLED: 'libtorch-dev libopenblas0-pthread', FAKE_UID: '1000' })).toEqual(r);
  });

  it('root: no sudo; node_modules older than package-lock.json: npm ci; npm test failing fails the script', () => {
    setTimes(10, 100);
    const r = run('scripts/test.sh', { INSTALLED: 'libtorch-dev python3-torch python3-onnx chromium', FAKE_UID: '0', NPM_TEST_RC: '3' });
    expect(r.code).toBe(3);
    expect(r.log).toEqual([
      'apt-get update -qq DEBIAN_FRONTEND=',
      'apt-get install -y -qq libopenblas0-pthread DEBIAN_FRONTEND=noninteractive',
      'npm ci --no-fund --no-audit --loglevel=error', 'npm test',
    ]);
  });

  it("README's first two commands are quickstart.sh and test.sh", () => {
    const block = /```bash\n([\s\S]*?)```/.exec(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'))![1];
    expect(block.split('\n').slice(0, 2).map((l) => l.split('#')[0].trim())).toEqual(['bash scripts/quickstart.sh', 'bash scripts/test.sh']);
  });
});
