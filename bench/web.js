#!/usr/bin/env node
// The web page's time against the CLI's (torch) for one image, in one run: Set14 flowers.png (500×362, the HR
// image, used as the input) ×4 by default, the case of issue 17. Builds the page, serves it with vite preview (cross-origin isolated), upscales the image in headless
// Debian Chromium on the wasm backend, then runs `lightsr upscale` on the torch backend. Not a test.
// Needs `npm run build` (for bin/lightsr.js) and /usr/bin/chromium.
//   node bench/web.js [--image FILE]
// The page's figure is its own 'Time' (decode → PNG, after the weights are loaded); the CLI's is the wall time
// of the whole `lightsr upscale` process (start-up included, about 1.5 s here), so the ratio favours the CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { strArg } from './lib.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const image = path.resolve(strArg('image', path.join(root, '../shared/data/bench/Set14/HR/flowers.png')));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-web-bench-'));
const configFile = path.join(root, 'web/vite.config.ts');
const outDir = path.join(tmp, 'dist');

async function pageSeconds() {
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const port = 4100 + Math.floor(Math.random() * 800);
  const server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port, strictPort: true, open: false } });
  const ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await ctx.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('body[data-ready]');
    await page.setInputFiles('#file', image);
    await page.selectOption('#backend', 'wasm');
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 900_000 });
    if ((await page.getAttribute('body', 'data-state')) === 'error') throw new Error(await page.textContent('#error'));
    return {
      seconds: Number(await page.getAttribute('#time', 'data-seconds')),
      backend: await page.textContent('#backend-info'),
      isolation: await page.textContent('#isolation'),
    };
  } finally {
    await ctx.close();
    await server.close();
  }
}

function cliSeconds() {
  const bin = path.join(root, 'bin/lightsr.js');
  const wall = (args) => {
    const t0 = performance.now();
    execFileSync(process.execPath, [bin, ...args], { stdio: 'pipe' });
    return (performance.now() - t0) / 1000;
  };
  return { seconds: wall(['upscale', image, '-o', path.join(tmp, 'cli.png'), '-s', '4', '--backend', 'torch']) };
}

try {
  const web = await pageSeconds();
  const cli = cliSeconds();
  console.log(`image: ${path.basename(image)} ×4 (IMDN, tile 128, pad 32)`);
  console.log(`page: ${web.seconds.toFixed(1)} s — ${web.backend}; ${web.isolation}`);
  console.log(`CLI (torch): ${cli.seconds.toFixed(1)} s (the whole process)`);
  console.log(`page / CLI: ${(web.seconds / cli.seconds).toFixed(2)}× (machine load: ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
