// The browser entry (`lightsr/browser`, dist/browser/index.js): free of Node-only imports, bundles with Vite from
// a consumer project, and upscales in Chromium (wasm) like the Node library (torch) — opaque and RGBA.
import { existsSync, mkdirSync, mkdtempSync, promises as fsp, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upscale } from '../src/upscale.js';
import { referenceWeights, repoRoot, shared } from './helpers/fixtures.js';

const ENTRY = path.join(repoRoot, 'dist/browser/index.js');
const W2 = referenceWeights('imdn_x2.safetensors');
const BIRD = path.join(shared, 'data/bench/Set5/LR_bicubic/X4/birdx4.png');

/** Relative and bare specifiers imported (statically or dynamically) by an ES module's source. */
function specifiers(src: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;
  for (let m = re.exec(src); m; m = re.exec(src)) out.push(m[2]);
  return out;
}

describe('browser entry', () => {
  it('imports nothing Node-only, sharp or the libtorch addon (whole import graph)', async () => {
    expect(existsSync(ENTRY), 'npm run build:ts makes dist/browser/index.js').toBe(true);
    const { builtinModules } = await import('node:module');
    const seen = new Set<string>();
    const bare = new Set<string>();
    const bad: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const s of specifiers(readFileSync(file, 'utf8'))) {
        if (s.startsWith('.')) {
          const next = path.resolve(path.dirname(file), s);
          if (next.includes(`${path.sep}backends${path.sep}torch${path.sep}`)) bad.push(`${file} → ${s} (libtorch addon)`);
          walk(next);
        } else {
          bare.add(s);
          if (s.startsWith('node:') || builtinModules.includes(s) || s === 'sharp' || s.endsWith('.node')) bad.push(`${file} → ${s}`);
        }
      }
    };
    walk(ENTRY);
    expect(bad).toEqual([]);
    expect(seen.size).toBeGreaterThan(20); // the walk followed the graph (pipeline, models, tfjs backend)
    expect([...bare].every((s) => s.startsWith('@tensorflow/'))).toBe(true);
  });
});

describe('lightsr/browser bundled with Vite, in Chromium', () => {
  let tmp: string;
  let server: http.Server;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-browser-'));
    // A consumer project: lightsr installed (linked), the page imports 'lightsr/browser'.
    const app = path.join(tmp, 'app');
    mkdirSync(path.join(app, 'node_modules'), { recursive: true });
    symlinkSync(repoRoot, path.join(app, 'node_modules/lightsr'));
    symlinkSync(path.join(repoRoot, 'node_modules/@tensorflow'), path.join(app, 'node_modules/@tensorflow'));
    writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(path.join(app, 'main.js'), `
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { upscale } from 'lightsr/browser';
const wasmPaths = { 'tfjs-backend-wasm.wasm': wasm, 'tfjs-backend-wasm-simd.wasm': simd, 'tfjs-backend-wasm-threaded-simd.wasm': threaded };
window.run = async (image, weights) => {
  const blob = await (await fetch(image)).blob();
  const r = await upscale(blob, { model: 'imdn', scale: 2, weights, backend: 'wasm', wasmPaths, tile: 16, tilePad: 8 });
  return { width: r.image.width, height: r.image.height, channels: r.image.channels, data: Array.from(r.image.data), backend: r.backend };
};
document.body.dataset.ready = 'true';
`);
    const outDir = path.join(tmp, 'dist');
    await build({ root: app, logLevel: 'warn', configFile: false, base: './', build: { outDir, emptyOutDir: true, target: 'es2022', assetsInlineLimit: 0 } });

    // Test images: an opaque crop of birdx4 and the same crop with a transparency ramp (many low alpha values).
    const crop = sharp(BIRD).extract({ left: 10, top: 12, width: 24, height: 20 });
    await fsp.writeFile(path.join(outDir, 'opaque.png'), await crop.clone().png().toBuffer());
    const alpha = Buffer.alloc(24 * 20);
    for (let i = 0; i < alpha.length; i++) alpha[i] = (i * 37) % 256;
    const ramp = await sharp(alpha, { raw: { width: 24, height: 20, channels: 1 } }).png().toBuffer();
    await fsp.writeFile(path.join(outDir, 'rgba.png'), await crop.clone().joinChannel(ramp).png().toBuffer());

    const files: Record<string, string> = { '/weights.safetensors': W2 };
    server = http.createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      const file = files[p] ?? path.join(outDir, p === '/' ? 'index.html' : p);
      if (!file.startsWith(outDir) && !files[p]) return void res.writeHead(403).end();
      if (!existsSync(file)) return void res.writeHead(404).end();
      const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type });
      res.end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  for (const name of ['opaque', 'rgba'] as const) {
    it(`upscales ${name === 'rgba' ? 'an RGBA' : 'an opaque'} PNG within 1 LSB of the Node library`, async () => {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('pageerror', (e) => logs.push(e.message));
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('requestfailed', (r) => logs.push(`[failed] ${r.url()}`));
      page.on('response', (r) => r.status() >= 400 && logs.push(`[${r.status()}] ${r.url()}`));
      try {
        await page.goto(`${origin}/`);
        await page.waitForSelector('body[data-ready]', { timeout: 30_000, state: 'attached' }).catch(() => {
          throw new Error(`the bundle did not start: ${logs.join('\n')}`);
        });
        const got = await page.evaluate(([img, w]) => (window as unknown as { run(a: string, b: string): Promise<{ width: number; height: number; channels: number; data: number[]; backend: string }> }).run(img, w), [`${origin}/${name}.png`, `${origin}/weights.safetensors`]);
        const want = (await upscale(readFileSync(path.join(tmp, 'dist', `${name}.png`)), { model: 'imdn', scale: 2, weights: W2, tile: 16, tilePad: 8 })).image!;
        expect(got.backend).toBe('wasm');
        expect([got.width, got.height, got.channels]).toEqual([48, 40, name === 'rgba' ? 4 : 3]);
        expect([want.width, want.height, want.channels]).toEqual([48, 40, got.channels]);
        let maxDiff = 0;
        for (let i = 0; i < want.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i] - want.data[i]));
        expect(maxDiff).toBeLessThanOrEqual(1);
      } finally {
        await page.close();
      }
    });
  }
});
