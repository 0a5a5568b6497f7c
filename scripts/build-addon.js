#!/usr/bin/env node
// Builds build/Release/lightsr_torch.node (the libtorch backend) with node-gyp.
// Without libtorch headers it prints one line and exits 0: lightsr then runs on tfjs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build/Release/lightsr_torch.node');
const addonDir = path.join(root, 'src/backends/torch/addon');

if (!existsSync('/usr/include/torch/csrc/api/include/torch/torch.h') || !existsSync('/usr/include/ATen/ATen.h')) {
  console.log('libtorch-dev not found: lightsr will use the tfjs backend');
  process.exit(0);
}

const sources = [path.join(root, 'binding.gyp'), ...readdirSync(addonDir).map((f) => path.join(addonDir, f))];
const mtime = (p) => statSync(p).mtimeMs;
if (existsSync(out) && sources.every((s) => mtime(s) <= mtime(out))) {
  console.log('lightsr_torch.node is up to date');
  process.exit(0);
}

const gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
// The machine is offline: use the installed node headers instead of downloading them.
const extra = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
const run = (args) => {
  const r = spawnSync(process.execPath, [gyp, ...args, ...extra], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`node-gyp ${args[0]} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
};
const makefile = path.join(root, 'build/Makefile');
if (!existsSync(makefile) || mtime(path.join(root, 'binding.gyp')) > mtime(makefile)) run(['configure']);
run(['build', '-j', String(Math.max(1, Math.min(2, (await import('node:os')).availableParallelism())))]);
