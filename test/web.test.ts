// End-to-end: build the web page, serve it on localhost, upscale a Set5 image ×4 in headless Chromium, and compare
// the downloaded PNG with the library's (CLI's) result for the same weights.
//
// Weights: env LIGHTSR_WEB_WEIGHTS, default weights/imdn_x4.safetensors (lightsr's trained file; the test fails
// if it is missing). The default file is served from the build (copied there by web:build); any other file is
// served in its place at weights/imdn_x4.safetensors by the preview server, never copied into the build.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { build, preview, type Plugin, type PreviewServer } from 'vite';
import type { RawImage } from '../src/image/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TILE, DEFAULT_TILE_PAD, upscale } from '../src/upscale.js';
import { planTiles } from '../src/image/tiling.js';
import { listEntries } from '../src/models/index.js';
import { weightsStem } from '../src/pipeline/stem.js';
import { weightsMiddleware } from '../web/vite.config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shared = path.resolve(root, '../shared');
const BIRD = path.join(shared, 'data/bench/Set5/LR_bicubic/X4/birdx4.png');
/** A 40×32 window of birdx4 (made in beforeAll), for the runs where the image size is not the point. */
const SMALL = { left: 16, top: 20, width: 40, height: 32 };
const DEFAULT_WEIGHTS = path.join(root, 'weights/imdn_x4.safetensors');
const weights = path.resolve(root, process.env.LIGHTSR_WEB_WEIGHTS || DEFAULT_WEIGHTS);
const servedName = 'imdn_x4.safetensors';
const CHROMIUM = '/usr/bin/chromium';

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

let tmp: string;
let server: PreviewServer | undefined;
let context: BrowserContext | undefined;
let origin: string;
let outDir: string;
let small: string;
let smallRgba: string;
/** Another window of birdx4 (32×24), for the file-switch test. */
let other: string;

beforeAll(async () => {
  if (!existsSync(weights)) {
    throw new Error(
      `weights file ${weights} does not exist: train IMDN ×4 into weights/imdn_x4.safetensors, or point ` +
        'LIGHTSR_WEB_WEIGHTS at another IMDN ×4 safetensors file',
    );
  }
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-web-'));
  small = path.join(tmp, 'bird-small.png');
  await sharp(BIRD).extract(SMALL).png().toFile(small);
  // The same window with a transparency ramp: many low alpha values, where premultiplied decoding loses colour.
  smallRgba = path.join(tmp, 'bird-small-rgba.png');
  const alpha = Buffer.alloc(SMALL.width * SMALL.height);
  for (let i = 0; i < alpha.length; i++) alpha[i] = (i * 37) % 256;
  const ramp = await sharp(alpha, { raw: { width: SMALL.width, height: SMALL.height, channels: 1 } }).png().toBuffer();
  await sharp(small).joinChannel(ramp).png().toFile(smallRgba);
  other = path.join(tmp, 'other.png');
  await sharp(BIRD).extract({ left: 2, top: 40, width: 32, height: 24 }).png().toFile(other);
  outDir = path.join(tmp, 'dist');
  const configFile = path.join(root, 'web/vite.config.ts');
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });

  const overridden = weights !== DEFAULT_WEIGHTS;
  const plugins: Plugin[] = [];
  if (overridden) {
    // Serve the chosen file (and its card, if any) at the default URL, ahead of the static build.
    const serve = weightsMiddleware((name) => (name === servedName ? weights : name === `${servedName}.json` ? `${weights}.json` : undefined));
    plugins.push({ name: 'test-weights', configurePreviewServer: (s) => void s.middlewares.use(serve) });
  } else {
    expect(existsSync(path.join(outDir, 'weights', servedName)), 'web:build copies weights/ into the build').toBe(true);
  }
  const port = await freePort();
  server = await preview({
    configFile, logLevel: 'warn', plugins,
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  origin = `http://127.0.0.1:${port}`;

  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface PageRun {
  kind: string;
  tried: string[];
  seconds: number;
  label: string;
  /** The downloaded PNG, decoded. */
  png: { data: Buffer; info: sharp.OutputInfo };
  /** Every URL the browser requested. */
  requests: string[];
}

interface PageOptions {
  backend: string;
  /** The LR image (default birdx4). */
  input?: string;
  tile?: number;
  tilePad?: number;
  exact?: boolean;
}

/** A new tab on the page, ready for input; `logs` collects its console and errors. */
async function openPage(): Promise<{ page: Page; logs: string[] }> {
  const page = await context!.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => logs.push(`[worker ${m.type()}] ${m.text()}`)));
  await page.goto(`${origin}/`);
  await page.waitForSelector('body[data-ready]', { timeout: 30_000 }).catch(() => {
    throw new Error(`the page did not start:\n${logs.join('\n')}`);
  });
  return { page, logs };
}

/** Open the page, upscale the input ×4 with IMDN, download the PNG. */
async function runPage(opts: PageOptions): Promise<PageRun> {
  const { backend } = opts;
  const ctx = context!;
  const requests: string[] = [];
  const onRequest = (r: { url(): string }) => requests.push(r.url());
  ctx.on('request', onRequest);
  const { page, logs } = await openPage();
  try {
    // The page's tiling defaults are the CLI's.
    expect(Number(await page.inputValue('#tile'))).toBe(DEFAULT_TILE);
    expect(Number(await page.inputValue('#tile-pad'))).toBe(DEFAULT_TILE_PAD);
    await page.setInputFiles('#file', opts.input ?? BIRD);
    await page.selectOption('#model', 'imdn');
    await page.selectOption('#scale', '4');
    await page.selectOption('#backend', backend);
    if (opts.tile !== undefined || opts.tilePad !== undefined || opts.exact) await page.click('details > summary');
    if (opts.tile !== undefined) await page.fill('#tile', String(opts.tile));
    if (opts.tilePad !== undefined) await page.fill('#tile-pad', String(opts.tilePad));
    if (opts.exact) await page.check('#exact');
    await page.click('#run');
    await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 240_000 });
    if ((await page.getAttribute('body', 'data-state')) === 'error') {
      throw new Error(`the page failed on backend '${backend}': ${await page.textContent('#error')}\n${logs.join('\n')}`);
    }
    const kind = (await page.getAttribute('#backend-info', 'data-kind'))!;
    const tried = (await page.getAttribute('#backend-info', 'data-tried'))!.split(',');
    const seconds = Number(await page.getAttribute('#time', 'data-seconds'));
    const label = `${await page.textContent('#backend-info')}: ${await page.textContent('#time')}, ${await page.textContent('#stage')}`;
    const bar = await page.$eval('#progress', (p) => [(p as HTMLProgressElement).value, (p as HTMLProgressElement).max]);
    expect(bar[0]).toBe(bar[1]);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = path.join(tmp, `web-${Date.now()}.png`);
    await dl.saveAs(file);
    const png = await sharp(readFileSync(file)).raw().toBuffer({ resolveWithObject: true });
    return { kind, tried, seconds, label, png, requests };
  } finally {
    ctx.off('request', onRequest);
    await page.close();
  }
}

/** The library's (`lightsr upscale`'s) result for the same image, weights and tiling options. */
async function expected({ input = BIRD, ...opts }: Omit<PageOptions, 'backend'> = {}): Promise<RawImage> {
  return (await upscale(input, { model: 'imdn', scale: 4, weights, ...opts })).image!;
}

/** Share of pixels whose channels are all within 1 LSB of the library's, and the largest difference. */
async function compare(run: PageRun, want: RawImage, size: [number, number]): Promise<{ share: number; maxDiff: number }> {
  const got = run.png;
  expect([got.info.width, got.info.height, got.info.channels]).toEqual([want.width, want.height, want.channels]);
  expect([want.width, want.height]).toEqual(size);
  const c = want.channels;
  let close = 0, maxDiff = 0;
  for (let i = 0; i < want.width * want.height; i++) {
    let d = 0;
    for (let k = 0; k < c; k++) d = Math.max(d, Math.abs(got.data[i * c + k] - want.data[i * c + k]));
    if (d <= 1) close++;
    maxDiff = Math.max(maxDiff, d);
  }
  const share = close / (want.width * want.height);
  console.log(`web (${run.label}; tried ${run.tried.join(' → ')}) vs library: ${(100 * share).toFixed(2)} % of pixels within 1 LSB, max diff ${maxDiff}`);
  return { share, maxDiff };
}

describe('web page', () => {
  it('upscales birdx4 ×4 in Chromium (auto backend) like the CLI, with local files only', async () => {
    const run = await runPage({ backend: 'auto' });
    // 'auto' tries WebGPU, then WebGL, then wasm, and stops at the first usable one.
    const order = ['webgpu', 'webgl', 'wasm'];
    expect(order).toContain(run.kind);
    expect(run.tried).toEqual(order.slice(0, order.indexOf(run.kind) + 1));
    expect((await compare(run, await expected(), [288, 288])).share).toBeGreaterThanOrEqual(0.99);

    // Nothing but the local server (and in-page blob/data URLs) was contacted.
    const foreign = run.requests.filter((u) => !u.startsWith(`${origin}/`) && !/^(blob|data):/.test(u));
    expect(foreign).toEqual([]);
    expect(run.requests.some((u) => u === `${origin}/weights/${servedName}`)).toBe(true);
    if (run.kind === 'wasm') expect(run.requests.some((u) => u.startsWith(`${origin}/`) && u.endsWith('.wasm'))).toBe(true);
  });

  // A 40×32 window keeps the software WebGL run short (its time grows with the pixels).
  it('gives the same result on the WebGL backend when chosen explicitly (40×32 window)', async () => {
    const run = await runPage({ backend: 'webgl', input: small });
    expect(run.kind).toBe('webgl');
    expect((await compare(run, await expected({ input: small }), [160, 128])).share).toBeGreaterThanOrEqual(0.99);
  });

  it('keeps transparency like the CLI: RGBA with an alpha ramp on wasm (40×32 window)', async () => {
    const run = await runPage({ backend: 'wasm', input: smallRgba });
    const want = await expected({ input: smallRgba });
    expect(want.channels).toBe(4);
    const { share, maxDiff } = await compare(run, want, [160, 128]);
    expect(share).toBeGreaterThanOrEqual(0.99);
    expect(maxDiff).toBeLessThanOrEqual(2); // a canvas round trip (premultiplied alpha) was off by up to 6
  });

  it('tiles like the CLI (4 tiles, exact statistics) on wasm (40×32 window)', async () => {
    const opts = { input: small, tile: 12, tilePad: 8, exact: true };
    const run = await runPage({ backend: 'wasm', ...opts });
    expect(run.kind).toBe('wasm');
    expect(run.label).toContain('4 tiles');
    expect((await compare(run, await expected(opts), [160, 128])).share).toBeGreaterThanOrEqual(0.99);
  });
  it('is cross-origin isolated (COOP/COEP from the server) and runs the threaded wasm binary (40×32 window)', async () => {
    const { page } = await openPage();
    try {
      const res = await page.request.get(`${origin}/`);
      expect(res.headers()['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.headers()['cross-origin-embedder-policy']).toBe('require-corp');
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
      expect(await page.getAttribute('#isolation', 'data-isolated')).toBe('true');
    } finally {
      await page.close();
    }
    // Static hosts get the two headers from the build's _headers file.
    const headers = readFileSync(path.join(outDir, '_headers'), 'utf8');
    expect(headers).toContain('Cross-Origin-Opener-Policy: same-origin');
    expect(headers).toContain('Cross-Origin-Embedder-Policy: require-corp');

    const run = await runPage({ backend: 'wasm', input: small });
    expect(run.label).toMatch(/tfjs wasm \(browser, SIMD, threaded, \d+ threads?\)/);
    expect(run.requests.some((u) => u.endsWith('.wasm') && u.includes('threaded-simd'))).toBe(true);
    expect((await compare(run, await expected({ input: small }), [160, 128])).share).toBeGreaterThanOrEqual(0.99);
  });

  it('cancels a tiled run within 2× one tile\'s time (wasm, tile 8 pad 2 on a 40×32 window: 20 tiles)', async () => {
    const { page } = await openPage();
    try {
      await page.setInputFiles('#file', small);
      await page.selectOption('#backend', 'wasm');
      await page.click('details > summary');
      await page.fill('#tile', '8');
      await page.fill('#tile-pad', '2');
      await page.click('#run');
      // In the page: time tiles 1 → 2 from the progress bar, click Cancel half a tile later, time until 'cancelled'.
      const r = await page.evaluate(() => new Promise<{ tile: number; latency: number; done: number; total: number }>((resolve, reject) => {
        setTimeout(() => reject(new Error(`no cancel seen in 60 s; stage '${document.getElementById('stage')!.textContent}'`)), 60_000);
        const bar = document.getElementById('progress') as HTMLProgressElement;
        const stage = document.getElementById('stage')!;
        const at: number[] = [];
        let cancelAt = 0;
        let done = 0;
        new MutationObserver(() => {
          const now = performance.now();
          if (at.length < 2 && bar.hasAttribute('value') && bar.max > 1 && bar.value > at.length) {
            at.push(now);
            if (at.length === 2) {
              // Click in the middle of tile 3, where the worker is busy computing.
              done = bar.value;
              setTimeout(() => {
                cancelAt = performance.now();
                (document.getElementById('cancel') as HTMLButtonElement).click();
              }, (at[1] - at[0]) / 2);
            }
          }
          if (cancelAt && stage.textContent === 'cancelled') resolve({ tile: at[1] - at[0], latency: now - cancelAt, done, total: bar.max });
        }).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
      }));
      console.log(`cancel: one tile ${r.tile.toFixed(0)} ms, cancelled ${r.latency.toFixed(0)} ms after the click (at tile ${r.done} / ${r.total})`);
      expect(r.total).toBe(planTiles(SMALL.height, SMALL.width, 8, 2).count);
      expect(r.total).toBe(20);
      expect(r.done).toBe(2);
      expect(r.latency).toBeGreaterThan(0);
      expect(r.latency).toBeLessThanOrEqual(2 * r.tile);
      expect(await page.getAttribute('body', 'data-state')).toBe('idle');
      expect(await page.isHidden('#download')).toBe(true);
      expect(await page.isHidden('#compare')).toBe(true);
      expect(await page.isEnabled('#run')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('binds a run to its input: picking another file mid-run drops the first job; the result is the new file\'s', async () => {
    const { page } = await openPage();
    try {
      await page.setInputFiles('#file', small);
      await page.selectOption('#backend', 'wasm');
      await page.click('details > summary');
      await page.fill('#tile', '8');
      await page.fill('#tile-pad', '2');
      await page.click('#run');
      await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= 1 && (document.getElementById('progress') as HTMLProgressElement).max === 20);
      await page.setInputFiles('#file', other);
      await page.waitForSelector('body[data-state="idle"]');
      expect(await page.textContent('#stage')).toBe('cancelled (new input)');
      expect(await page.textContent('#size')).toBe('32×24 → 128×96');
      // The first job's tiles would have finished by now: still nothing of it is shown.
      await page.waitForTimeout(1500);
      expect(await page.isHidden('#compare')).toBe(true);
      expect(await page.isHidden('#download')).toBe(true);
      expect(await page.getAttribute('body', 'data-state')).toBe('idle');

      await page.fill('#tile', '128');
      await page.click('#run');
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
      expect(await page.textContent('#error')).toBe('');
      const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      expect(dl.suggestedFilename()).toBe('other_imdn_x4.png');
      const file = path.join(tmp, 'switch.png');
      await dl.saveAs(file);
      const png = await sharp(readFileSync(file)).raw().toBuffer({ resolveWithObject: true });
      const run = { kind: 'wasm', tried: ['wasm'], seconds: 0, label: 'file switch', png, requests: [] };
      expect((await compare(run, await expected({ input: other }), [128, 96])).share).toBeGreaterThanOrEqual(0.99);
    } finally {
      await page.close();
    }
  });

  it('says on pick that a file is not an image or too large, and resets on the next good pick', async () => {
    const { page } = await openPage();
    try {
      await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
      await page.waitForSelector('body[data-state="error"]');
      expect(await page.textContent('#error')).toContain("cannot decode 'notes.txt' as an image");
      expect(await page.isDisabled('#run')).toBe(true);

      // 2100×2000 ×4 = 67.2 MP, over the page's 64 MP output limit; ×2 fits.
      const big = await sharp({ create: { width: 2100, height: 2000, channels: 3, background: '#808080' } }).png().toBuffer();
      await page.setInputFiles('#file', { name: 'big.png', mimeType: 'image/png', buffer: big });
      await page.waitForFunction(() => document.getElementById('error')!.textContent!.includes('big.png'));
      expect(await page.textContent('#error')).toMatch(/'big\.png' is 2100×2000: ×4 makes 8400×8000 .* over the limit/);
      expect(await page.getAttribute('body', 'data-state')).toBe('error');
      expect(await page.isDisabled('#run')).toBe(true);
      await page.selectOption('#scale', '2');
      expect(await page.isHidden('#error')).toBe(true);
      expect(await page.textContent('#size')).toBe('2100×2000 → 4200×4000');
      expect(await page.isEnabled('#run')).toBe(true);

      await page.selectOption('#scale', '4');
      expect(await page.isDisabled('#run')).toBe(true);
      await page.setInputFiles('#file', small);
      await page.waitForFunction(() => document.getElementById('size')!.textContent === '40×32 → 160×128');
      expect(await page.isHidden('#error')).toBe(true);
      expect(await page.isEnabled('#run')).toBe(true);
      expect(await page.isHidden('#compare')).toBe(true); // no result yet: no comparison widget
    } finally {
      await page.close();
    }
  });

  it('offers only the models and scales whose weights the server has (weights/manifest.json)', async () => {
    const has = (name: string, s: number) => existsSync(path.join(root, 'weights', `${weightsStem(name, s)}.safetensors`));
    const want = listEntries().filter((e) => e.scales.some((s) => has(e.name, s)));
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(listEntries().length); // some networks have no weights: the point of the test
    const manifest = JSON.parse(readFileSync(path.join(outDir, 'weights/manifest.json'), 'utf8')) as { weights: { stem: string; bytes: number }[] };
    const { page } = await openPage();
    try {
      expect(await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(want.map((e) => e.name));
      for (const e of want) {
        await page.selectOption('#model', e.name);
        const scales = await page.$$eval('#scale option', (os) => os.map((o) => Number((o as HTMLOptionElement).value)));
        expect(scales).toEqual(e.scales.filter((s) => has(e.name, s)));
        for (const s of scales) expect(manifest.weights.some((w) => w.stem === weightsStem(e.name, s) && w.bytes > 0)).toBe(true);
      }
    } finally {
      await page.close();
    }
  });
});
