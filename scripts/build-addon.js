#!/usr/bin/env node
// Builds build/Release/lightsr_torch.node (the libtorch backend) with node-gyp.
//
// Two modes:
// - install (the package's "install" script, run by `npm install` / `npm rebuild lightsr`): never fails the
//   install. When libtorch-dev is absent or the compile fails it prints one line (what failed, that lightsr
//   will use the TF.js backend, how to fix) and exits 0; node-gyp's output goes to build/addon-build.log.
// - --strict (`npm run build:addon`, `npm run build` in a checkout): node-gyp's output is shown and a failed
//   compile exits non-zero so developers notice. Absent libtorch-dev is still one line and exit 0 there
//   (developing on tfjs only is fine).
// Environment: LIGHTSR_SKIP_ADDON=1 skips the build (one line, exit 0); LIGHTSR_LIBTORCH_INCLUDE and
// LIGHTSR_LIBTORCH_LIB say where libtorch's headers and libtorch.so are (default: /usr/include and the
// platform's multiarch lib dir, e.g. /usr/lib/aarch64-linux-gnu). They reach binding.gyp as gyp variables.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build/Release/lightsr_torch.node');
const log = path.join(root, 'build/addon-build.log');
const addonDir = path.join(root, 'src/backends/torch/addon');
const strict = process.argv.includes('--strict');
const fix = `sudo apt-get install libtorch-dev, then ${strict ? 'npm run build:addon' : 'npm rebuild lightsr'}`;

/** The one line for every way of not building; exits (non-zero only for a strict build failure). */
function fallback(what, code = 0, howto = `to fix: ${fix}`) {
  console.error(`lightsr: ${what}; lightsr will use the TF.js backend (${howto})`);
  process.exit(code);
}

if (process.env.LIGHTSR_SKIP_ADDON) {
  fallback('libtorch addon not built (LIGHTSR_SKIP_ADDON is set)', 0, `to build it: unset LIGHTSR_SKIP_ADDON, then ${strict ? 'npm run build:addon' : 'npm rebuild lightsr'}`);
}

// Debian multiarch names for node's process.arch, when neither dpkg-architecture nor gcc can say.
const MULTIARCH = {
  x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', ia32: 'i386-linux-gnu',
  ppc64: 'powerpc64le-linux-gnu', s390x: 's390x-linux-gnu', riscv64: 'riscv64-linux-gnu', loong64: 'loongarch64-linux-gnu',
};

function multiarch() {
  for (const [cmd, args] of [['dpkg-architecture', ['-qDEB_HOST_MULTIARCH']], ['gcc', ['-print-multiarch']]]) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const v = r.status === 0 ? r.stdout.trim() : '';
    if (v) return v;
  }
  return MULTIARCH[process.arch] ?? '';
}

const include = process.env.LIGHTSR_LIBTORCH_INCLUDE || '/usr/include';
const libDirs = process.env.LIGHTSR_LIBTORCH_LIB ? [process.env.LIGHTSR_LIBTORCH_LIB] : [path.join('/usr/lib', multiarch()), '/usr/lib64', '/usr/lib'];
const lib = libDirs.find((d) => existsSync(path.join(d, 'libtorch.so')));
const headers = [path.join(include, 'torch/csrc/api/include/torch/torch.h'), path.join(include, 'ATen/ATen.h')];
const missing = headers.find((f) => !existsSync(f)) ?? (lib ? null : path.join(libDirs[0], 'libtorch.so'));
if (missing) fallback(`libtorch-dev not found (no ${missing})`);

const sources = [path.join(root, 'binding.gyp'), ...readdirSync(addonDir).map((f) => path.join(addonDir, f))];
const mtime = (p) => statSync(p).mtimeMs;
if (existsSync(out) && sources.every((s) => mtime(s) <= mtime(out))) {
  console.log('lightsr_torch.node is up to date');
  process.exit(0);
}

const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
// Offline machines: use the installed node headers instead of downloading them.
const nodedir = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
// gyp variables for binding.gyp; only `configure` takes them.
const vars = ['--', `-Dtorch_include=${include}`, `-Dtorch_lib=${lib}`];
mkdirSync(path.dirname(log), { recursive: true });
rmSync(log, { force: true });

function run(args) {
  const fd = strict ? null : openSync(log, 'a');
  const stdio = strict ? 'inherit' : ['ignore', fd, fd];
  const r = spawnSync(process.execPath, [gyp, ...args, ...nodedir, ...(args[0] === 'configure' ? vars : [])], { cwd: root, stdio });
  if (fd !== null) closeSync(fd);
  if (r.status === 0) return;
  const where = strict ? '' : `, log: ${log}`;
  fallback(`libtorch addon build failed (node-gyp ${args[0]} exit ${r.status ?? r.signal}${where})`, strict ? r.status || 1 : 0);
}

const makefile = path.join(root, 'build/Makefile');
if (!existsSync(makefile) || mtime(path.join(root, 'binding.gyp')) > mtime(makefile)) run(['configure']);
run(['build', '-j', String(Math.max(1, Math.min(2, os.availableParallelism())))]);
// make may have found nothing to redo (e.g. only binding.gyp's text changed): mark the addon current.
const now = new Date();
utimesSync(out, now, now);
rmSync(log, { force: true });
