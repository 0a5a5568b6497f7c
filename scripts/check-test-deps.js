#!/usr/bin/env node
// `npm test` runs this after the build and before vitest: the tests need a few things outside node_modules.
// If any is missing it fails (exit 1) with one message naming each and the command that installs them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the tests look for each prerequisite (the same paths the tests use). */
export const defaults = {
  python: '/usr/bin/python3', // test/torch-ops.test.ts compares random streams with PyTorch
  chromium: '/usr/bin/chromium', // test/web.test.ts runs the web page in headless Chromium
  addon: process.env.LIGHTSR_TORCH_ADDON || path.join(root, 'build/Release/lightsr_torch.node'), // torch tests
  addonFromEnv: Boolean(process.env.LIGHTSR_TORCH_ADDON),
  torchHeader: '/usr/include/torch/csrc/api/include/torch/torch.h', // what scripts/build-addon.js builds against
  shared: path.resolve(root, '../shared'), // fixtures: benchmark images, official weights and outputs
};

/** @typedef {{ what: string, why: string, apt?: string[], cmd?: string, note?: string }} Missing */

/** Checks every prerequisite; returns the missing ones (empty when all are there). */
export function findMissing(p = defaults) {
  /** @type {Missing[]} */
  const out = [];
  const py = spawnSync(p.python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (py.status !== 0) {
    const why = py.error ? `${p.python} not found` : py.stderr.trim().split('\n').pop() || `exit ${py.status}`;
    out.push({ what: 'python3 with torch (test/torch-ops.test.ts)', why, apt: ['python3-torch'] });
  }
  const onnx = py.error ? null : spawnSync(p.python, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (onnx && onnx.status !== 0) {
    const why = onnx.stderr.trim().split('\n').pop() || `exit ${onnx.status}`;
    out.push({ what: 'python3 with onnx (test/onnx-export.test.ts: onnx.checker)', why, apt: ['python3-onnx'] });
  }
  if (!existsSync(p.chromium)) {
    out.push({ what: 'Chromium (test/web.test.ts)', why: `${p.chromium} not found`, apt: ['chromium'] });
  }
  const addon = loadAddon(p.addon);
  if (addon) {
    const what = 'the libtorch addon (torch tests)';
    if (p.addonFromEnv) out.push({ what, why: addon, cmd: 'unset LIGHTSR_TORCH_ADDON' });
    else if (!existsSync(p.torchHeader)) out.push({ what, why: `${addon}; libtorch-dev is not installed`, apt: ['libtorch-dev', 'libopenblas0-pthread'] });
    else out.push({ what, why: addon, cmd: 'rm -rf build && npm run build:addon' });
  }
  for (const sub of ['data/bench/Set5/HR', 'data/train', 'reference/weights', 'reference/outputs']) {
    const dir = path.join(p.shared, sub);
    if (!existsSync(dir)) {
      out.push({ what: 'the shared test fixtures', why: `${dir} not found`, note: `put the project's shared/ folder (test fixtures) at ${p.shared}` });
      break;
    }
  }
  return out;
}

/** null when the addon loads, else why not. */
function loadAddon(file) {
  if (!existsSync(file)) return `${file} not found`;
  try {
    const native = createRequire(import.meta.url)(file);
    native.version();
    return null;
  } catch (err) {
    return `cannot load ${file}: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`;
  }
}

/** The failure message: each missing item, then the one command that installs them. */
export function formatMissing(missing, asRoot = process.getuid?.() === 0) {
  const apt = [...new Set(missing.flatMap((m) => m.apt ?? []))];
  const cmds = [...(apt.length ? [`${asRoot ? '' : 'sudo '}apt-get install -y ${apt.join(' ')}`] : []), ...missing.flatMap((m) => m.cmd ?? [])];
  return [
    `npm test: ${missing.length} test prerequisite${missing.length === 1 ? ' is' : 's are'} missing:`,
    ...missing.map((m) => `  - ${m.what}: ${m.why}`),
    ...(cmds.length ? [`To install: ${cmds.join(' && ')}   (or \`bash scripts/test.sh\`: installs what is missing, then runs the tests)`] : []),
    ...missing.flatMap((m) => (m.note ? [`Also: ${m.note}`] : [])),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const missing = findMissing();
  if (missing.length) {
    process.stderr.write(`${formatMissing(missing)}\n`);
    process.exit(1);
  }
}
