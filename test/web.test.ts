// End-to-end: build the web page, serve it on localhost, upscale a Set5 image ×4 in headless Chromium, and compare
// the downloaded PNG with the library's (CLI's) result for the same weights.
//
// The other tests drive the page's features on tiny images ×2 (weights/imdn_x2.safetensors, served from the
// build): isolation off, paste and drop, cancel, file switch, errors on pick, models offered, output formats,
// batches, the live preview of tiles, zoom 1:1.
//
// Weights: env LIGHTSR_WEB_WEIGHTS, default weights/imdn_x4.safetensors (lightsr's trained file; the test fails
// if it is missing). The default file is served from the build (copied there by web:build); any other file is
// served in its place at weights/imdn_x4.safetensors by the preview server, never copied into the build.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
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
/** IMDN ×2 (lightsr's trained file, copied into the build): the small runs of the feature tests. */
const WEIGHTS_X2 = path.join(root, 'weights/imdn_x2.safetensors');
/** Tiny windows of birdx4 for the ×2 runs (made in beforeAll). */
const TINY = { left: 30, top: 30, width: 24, height: 16 };
const TINY2 = { left: 4, top: 50, width: 20, height: 20 };
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
/** The same build served without COOP/COEP. */
let plainServer: PreviewServer | undefined;
let plainOrigin: string;
let context: BrowserContext | undefined;
let origin: string;
let outDir: string;
let small: string;
let smallRgba: string;
/** Another window of birdx4 (32×24), for the file-switch test. */
let other: string;
let tiny: string;
let tiny2: string;
/** TINY with its right half fully transparent (format tests). */
let tinyHalf: string;

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
  tiny = path.join(tmp, 'tiny.png');
  await sharp(BIRD).extract(TINY).png().toFile(tiny);
  tiny2 = path.join(tmp, 'tiny2.png');
  await sharp(BIRD).extract(TINY2).png().toFile(tiny2);
  tinyHalf = path.join(tmp, 'tiny-half.png');
  const half = Buffer.alloc(TINY.width * TINY.height);
  for (let i = 0; i < half.length; i++) half[i] = i % TINY.width < TINY.width / 2 ? 255 : 0;
  const halfAlpha = await sharp(half, { raw: { width: TINY.width, height: TINY.height, channels: 1 } }).png().toBuffer();
  await sharp(tiny).joinChannel(halfAlpha).png().toFile(tinyHalf);
  if (!existsSync(WEIGHTS_X2)) throw new Error(`weights file ${WEIGHTS_X2} does not exist: the feature tests run IMDN ×2`);
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
  // The same files without the isolation headers (no config file: none of the page's plugins).
  const plainPort = await freePort();
  plainServer = await preview({
    configFile: false, logLevel: 'warn', root: path.join(root, 'web'),
    build: { outDir },
    preview: { host: '127.0.0.1', port: plainPort, strictPort: true, open: false },
  });
  plainOrigin = `http://127.0.0.1:${plainPort}`;

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
  await plainServer?.close();
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
async function openPage(at = origin, before?: (page: Page) => Promise<void>): Promise<{ page: Page; logs: string[] }> {
  const page = await context!.newPage();
  await before?.(page);
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
  page.on('worker', (w) => w.on('console', (m) => logs.push(`[worker ${m.type()}] ${m.text()}`)));
  await page.goto(`${at}/`);
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

/** The library's (`lightsr upscale`'s) result for the same image, weights and tiling options (×4, or ×2 with imdn_x2). */
async function expected({ input = BIRD, scale = 4, ...opts }: Omit<PageOptions, 'backend'> & { scale?: 2 | 4 } = {}): Promise<RawImage> {
  return (await upscale(input, { model: 'imdn', scale, weights: scale === 4 ? weights : WEIGHTS_X2, ...opts })).image!;
}

/** On an open page: pick `files`, IMDN ×2 on wasm (tile options if given), Upscale, wait for the end. */
async function runX2(page: Page, files: string | string[], opts: { tile?: number; tilePad?: number; wait?: boolean } = {}): Promise<void> {
  await page.setInputFiles('#file', files);
  await page.selectOption('#model', 'imdn');
  await page.selectOption('#scale', '2');
  await page.selectOption('#backend', 'wasm');
  if (opts.tile !== undefined || opts.tilePad !== undefined) {
    if (!(await page.isVisible('#tile'))) await page.click('details > summary');
    if (opts.tile !== undefined) await page.fill('#tile', String(opts.tile));
    if (opts.tilePad !== undefined) await page.fill('#tile-pad', String(opts.tilePad));
  }
  await page.click('#run');
  if (opts.wait === false) return;
  await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
  if ((await page.getAttribute('body', 'data-state')) === 'error') throw new Error(`the page failed: ${await page.textContent('#error')}`);
}

/** Click `selector`, save the download; its suggested name and decoded pixels. */
async function download(page: Page, selector: string): Promise<{ name: string; file: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = path.join(tmp, `dl-${Date.now()}-${dl.suggestedFilename()}`);
  await dl.saveAs(file);
  return { name: dl.suggestedFilename(), file, bytes: readFileSync(file) };
}

/** A PageRun of downloaded bytes, for `compare`. */
async function asRun(bytes: Buffer, label: string): Promise<PageRun> {
  const png = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  return { kind: 'wasm', tried: ['wasm'], seconds: 0, label, png, requests: [] };
}

/** The entries of a zip archive (stored or deflated), by reading its central directory. */
function unzip(buf: Buffer): { name: string; data: Buffer }[] {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThanOrEqual(0);
  const n = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out: { name: string; data: Buffer }[] = [];
  for (let k = 0; k < n; k++) {
    expect(buf.readUInt32LE(p)).toBe(0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extra = buf.readUInt16LE(p + 30);
    const comment = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    expect(method).toBe(0); // stored
    out.push({ name, data: buf.subarray(start, start + size) });
    p += 46 + nameLen + extra + comment;
  }
  return out;
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
  it('says when the page is not cross-origin isolated (served without COOP/COEP) and still upscales, single-threaded', async () => {
    const { page } = await openPage(plainOrigin);
    try {
      const res = await page.request.get(`${plainOrigin}/`);
      expect(res.headers()['cross-origin-embedder-policy']).toBeUndefined();
      expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
      expect(await page.getAttribute('#isolation', 'data-isolated')).toBe('false');
      expect(await page.textContent('#isolation')).toContain('not cross-origin isolated: wasm runs on one thread');
      await runX2(page, tiny);
      expect(await page.textContent('#backend-info')).toMatch(/single-threaded: not cross-origin isolated/);
    } finally {
      await page.close();
    }
  });

  it('takes a pasted image and images dropped anywhere on the page (synthetic events)', async () => {
    const { page } = await openPage();
    const b64 = (f: string) => readFileSync(f).toString('base64');
    try {
      await page.selectOption('#scale', '2');
      // Paste: a ClipboardEvent whose clipboardData holds a PNG file (and some text, ignored).
      await page.evaluate(async (data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add('some text', 'text/plain');
        dt.items.add(new File([bytes], 'pasted.png', { type: 'image/png' }));
        document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
      }, b64(tiny));
      await page.waitForFunction(() => document.getElementById('size')!.textContent === '24×16 → 48×32');
      expect(await page.textContent('#drop-text')).toContain('pasted.png');
      expect(await page.isEnabled('#run')).toBe(true);

      // Drop two files on the header (not the drop zone): a batch of two.
      await page.evaluate(async ([a, b]) => {
        const file = (d: string, name: string) => new File([Uint8Array.from(atob(d), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
        const dt = new DataTransfer();
        dt.items.add(file(a, 'one.png'));
        dt.items.add(file(b, 'two.png'));
        const target = document.querySelector('header')!;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        if (!document.getElementById('drop')!.classList.contains('over')) throw new Error('no drop highlight on dragover');
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, [b64(tiny), b64(tiny2)]);
      await page.waitForFunction(() => document.querySelectorAll('#batch li').length === 2 && document.getElementById('size')!.textContent === '24×16 → 48×32');
      expect(await page.textContent('#drop-text')).toMatch(/^2 files/);
      expect(await page.$$eval('#batch li .name', (els) => els.map((e) => e.textContent))).toEqual(['one.png', 'two.png']);
      expect(await page.$$eval('#batch li .state', (els) => els.map((e) => e.textContent))).toEqual(['24×16', '20×20']);
      expect(await page.evaluate(() => document.getElementById('drop')!.classList.contains('over'))).toBe(false);
      expect(await page.isEnabled('#run')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('downloads WebP (alpha kept) and JPEG (alpha flattened on white) that decode, named after the input', async () => {
    const { page } = await openPage();
    try {
      await runX2(page, tinyHalf);
      const png = await download(page, '#download');
      expect(png.name).toBe('tiny-half_imdn_x2.png');
      const ref = await sharp(png.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([ref.info.width, ref.info.height, ref.info.channels]).toEqual([48, 32, 4]);
      // Pixels well inside each half: opaque on the left, transparent on the right.
      const at = (x: number, y: number) => (y * 48 + x) * 4;
      const left: number[] = [];
      const right: number[] = [];
      for (let y = 2; y < 30; y++) {
        for (let x = 2; x < 18; x++) left.push(at(x, y));
        for (let x = 30; x < 46; x++) right.push(at(x, y));
      }
      expect(left.every((i) => ref.data[i + 3] === 255) && right.every((i) => ref.data[i + 3] === 0)).toBe(true);

      await page.selectOption('#format', 'webp');
      expect(await page.isEnabled('#quality')).toBe(true);
      expect(await page.isHidden('#format-note')).toBe(true);
      await page.waitForFunction(() => /WebP/.test(document.getElementById('download')!.textContent!) && !document.getElementById('download')!.hidden);
      const webp = await download(page, '#download');
      expect(webp.name).toBe('tiny-half_imdn_x2.webp');
      expect((await sharp(webp.bytes).metadata()).format).toBe('webp');
      const w = await sharp(webp.bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([w.info.width, w.info.height]).toEqual([48, 32]);
      expect(left.every((i) => w.data[i + 3] >= 250) && right.every((i) => w.data[i + 3] <= 5)).toBe(true);
      const err = left.reduce((n, i) => n + Math.abs(w.data[i] - ref.data[i]) + Math.abs(w.data[i + 1] - ref.data[i + 1]) + Math.abs(w.data[i + 2] - ref.data[i + 2]), 0) / (3 * left.length);
      expect(err).toBeLessThan(12); // lossy at quality 90, but the same picture

      await page.selectOption('#format', 'jpeg');
      expect(await page.textContent('#format-note')).toContain('flattened on white (this result has some)');
      await page.waitForFunction(() => /JPEG/.test(document.getElementById('download')!.textContent!) && !document.getElementById('download')!.hidden);
      const jpg = await download(page, '#download');
      expect(jpg.name).toBe('tiny-half_imdn_x2.jpg');
      expect((await sharp(jpg.bytes).metadata()).format).toBe('jpeg');
      const j = await sharp(jpg.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([j.info.width, j.info.height, j.info.channels]).toEqual([48, 32, 3]);
      const at3 = (i: number) => (i / 4) * 3;
      const white = right.reduce((n, i) => n + j.data[at3(i)] + j.data[at3(i) + 1] + j.data[at3(i) + 2], 0) / (3 * right.length);
      expect(white).toBeGreaterThan(245);

      // A lower quality makes a smaller file.
      await page.fill('#quality', '10');
      await page.dispatchEvent('#quality', 'change');
      await page.waitForFunction(() => /JPEG/.test(document.getElementById('download')!.textContent!) && !document.getElementById('download')!.hidden);
      const low = await download(page, '#download');
      expect((await sharp(low.bytes).metadata()).format).toBe('jpeg');
      expect(low.bytes.length).toBeLessThan(jpg.bytes.length);
    } finally {
      await page.close();
    }
  });

  it('runs a batch of 2 files one after another: 2 results like the CLI, one by one and in a zip', async () => {
    const { page } = await openPage();
    try {
      await runX2(page, [tiny, tiny2]);
      expect(await page.$$eval('#batch li', (els) => els.map((e) => (e as HTMLElement).dataset.status))).toEqual(['done', 'done']);
      expect(await page.textContent('#stage')).toMatch(/^done: 2 of 2 files/);
      const got: Awaited<ReturnType<typeof download>>[] = [];
      for (const k of [1, 2]) got.push(await download(page, `#batch li:nth-child(${k}) button.get`));
      expect(got.map((g) => g.name)).toEqual(['tiny_imdn_x2.png', 'tiny2_imdn_x2.png']);
      expect((await compare(await asRun(got[0].bytes, 'batch 1/2'), await expected({ input: tiny, scale: 2 }), [48, 32])).share).toBeGreaterThanOrEqual(0.99);
      expect((await compare(await asRun(got[1].bytes, 'batch 2/2'), await expected({ input: tiny2, scale: 2 }), [40, 40])).share).toBeGreaterThanOrEqual(0.99);

      expect(await page.isVisible('#download-all')).toBe(true);
      const all = await download(page, '#download-all');
      expect(all.name).toBe('lightsr_imdn_x2_2_images.zip');
      const entries = unzip(all.bytes);
      expect(entries.map((e) => e.name)).toEqual(['tiny_imdn_x2.png', 'tiny2_imdn_x2.png']);
      expect(entries.map((e) => Buffer.compare(e.data, got[entries.indexOf(e)].bytes))).toEqual([0, 0]);
    } finally {
      await page.close();
    }
  });

  it('paints finished tiles while a job runs (live preview), where the result puts them; cancel stops the batch', async () => {
    const { page } = await openPage();
    try {
      // 40×32 ×2 with tile 8 pad 2: 20 tiles. A second file waits behind it.
      await runX2(page, [small, tiny], { tile: 8, tilePad: 2, wait: false });
      await page.waitForFunction(() => (document.getElementById('progress') as HTMLProgressElement).value >= (6 / 20) * 1000, undefined, { timeout: 60_000 });
      const snap = await page.evaluate(() => {
        const c = document.getElementById('preview') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        return { visible: !c.hidden && !document.getElementById('compare')!.hidden, width: c.width, height: c.height, data: Array.from(d) };
      });
      expect(snap.visible).toBe(true);
      expect([snap.width, snap.height]).toEqual([80, 64]);
      const painted = (x: number, y: number) => snap.data[(y * 80 + x) * 4 + 3] === 255;
      expect(painted(0, 0)).toBe(true); // the first tile
      expect(painted(79, 63)).toBe(false); // the last one is not done yet
      // Cancel as soon as the second file starts (in the page, so it cannot finish first): the batch stops.
      await page.evaluate(() => {
        const stage = document.getElementById('stage')!;
        const obs = new MutationObserver(() => {
          if (!stage.textContent!.startsWith('file 2 / 2')) return;
          obs.disconnect();
          (document.getElementById('cancel') as HTMLButtonElement).click();
        });
        obs.observe(stage, { childList: true, characterData: true, subtree: true });
      });
      await page.waitForFunction(() => document.getElementById('stage')!.textContent === 'cancelled', undefined, { timeout: 120_000 });
      expect(await page.$$eval('#batch li', (els) => els.map((e) => (e as HTMLElement).dataset.status))).toEqual(['done', 'cancelled']);
      expect(await page.getAttribute('body', 'data-state')).toBe('idle');
      expect(await page.isEnabled('#run')).toBe(true);

      // The painted pixels are the result's (up to the blending of the overlaps).
      const got = await download(page, '#batch li:nth-child(1) button.get');
      const res = await sharp(got.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([res.info.width, res.info.height]).toEqual([80, 64]);
      let n = 0, close = 0;
      for (let i = 0; i < 80 * 64; i++) {
        if (snap.data[i * 4 + 3] !== 255) continue;
        n++;
        let d = 0;
        for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(snap.data[i * 4 + c] - res.data[i * 3 + c]));
        if (d <= 2) close++;
      }
      console.log(`live preview: ${n} of ${80 * 64} px painted when snapped, ${(100 * close / n).toFixed(1)} % within 2 LSB of the result`);
      expect(n).toBeGreaterThan(80 * 64 * 0.1);
      expect(close / n).toBeGreaterThanOrEqual(0.95);
    } finally {
      await page.close();
    }
  });

  it('zooms to 1:1 with one image pixel per device pixel (devicePixelRatio 2), by buttons and keys; pans; split still works', async () => {
    let cdp: CDPSession | undefined;
    const { page } = await openPage(origin, async (p) => {
      cdp = await p.context().newCDPSession(p);
      await cdp.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 2, mobile: false });
    });
    try {
      expect(await page.evaluate(() => devicePixelRatio)).toBe(2);
      await runX2(page, tiny);
      const result = await sharp((await download(page, '#download')).bytes).raw().toBuffer({ resolveWithObject: true });
      // The result's box on screen, in device pixels (Chromium's own capture: Playwright's does not know the emulated ratio).
      const shot = async () => {
        const r = (await page.$eval('#after', (e) => e.getBoundingClientRect().toJSON())) as { x: number; y: number; width: number; height: number };
        const { data } = await cdp!.send('Page.captureScreenshot', { format: 'png', clip: { x: r.x, y: r.y, width: r.width, height: r.height, scale: 1 } });
        return sharp(Buffer.from(data, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      };
      /** Share of pixels within 1 LSB of the result's, max difference, mean difference; `dx`: compare with the result shifted by dx px. */
      const match = (got: Buffer, dx = 0) => {
        let close = 0, max = 0, sum = 0, n = 0;
        for (let y = 0; y < 32; y++) {
          for (let x = Math.max(0, -dx); x < Math.min(48, 48 - dx); x++, n++) {
            let d = 0;
            for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(got[(y * 48 + x + dx) * 3 + c] - result.data[(y * 48 + x) * 3 + c]));
            if (d <= 1) close++;
            max = Math.max(max, d);
            sum += d;
          }
        }
        return { share: close / n, max, mean: sum / n };
      };

      await page.click('#zoom-1');
      expect(await page.textContent('#zoom-level')).toBe('100 %');
      // The whole result on the right of the split: split at 0.
      await page.focus('#split');
      await page.keyboard.press('Home');
      const one = await shot();
      expect([one.info.width, one.info.height]).toEqual([48, 32]); // 24×16 CSS px at devicePixelRatio 2
      // Pixel for pixel (the screen capture rounds a few dark tones by 1–3 levels); one pixel off is far worse.
      const m = match(one.data);
      const shifted = match(one.data, 1);
      console.log(`1:1 at devicePixelRatio 2: ${(100 * m.share).toFixed(1)} % of pixels within 1 LSB of the result, max ${m.max}; shifted by 1 px: mean ${shifted.mean.toFixed(1)} vs ${m.mean.toFixed(2)}`);
      expect(m.share).toBeGreaterThanOrEqual(0.97);
      expect(m.max).toBeLessThanOrEqual(4);
      expect(shifted.mean).toBeGreaterThan(5 * m.mean + 1);
      // At 100 % split the view shows the input instead.
      await page.keyboard.press('End');
      expect(match((await shot()).data).share).toBeLessThan(0.5);

      // Keys on the focused view: + zooms in a level, 0 fits, 1 is 1:1 again.
      await page.focus('#viewport');
      await page.keyboard.press('+');
      expect(await page.textContent('#zoom-level')).toBe('200 %');
      expect((await page.$eval('#after', (e) => e.getBoundingClientRect().width))).toBe(48);
      await page.keyboard.press('0');
      const fit = Number(await page.getAttribute('#viewport', 'data-zoom'));
      const vp = (await page.$eval('#viewport', (e) => ({ w: e.clientWidth, h: e.clientHeight })));
      expect(fit).toBeCloseTo(2 * Math.min(vp.w / 48, vp.h / 32), 5);
      await page.keyboard.press('1');
      expect(await page.textContent('#zoom-level')).toBe('100 %');
      // Zoom in far enough to pan (6400 %: 1536 CSS px wide), then drag 100 px to the right.
      for (let k = 0; k < 6; k++) await page.click('#zoom-in');
      expect(await page.textContent('#zoom-level')).toBe('6400 %');
      expect(await page.isDisabled('#zoom-in')).toBe(true);
      const x0 = await page.$eval('#after', (e) => e.getBoundingClientRect().x);
      const box = (await page.$('#viewport'))!.boundingBox();
      const b = (await box)!;
      await page.mouse.move(b.x + b.width / 4, b.y + b.height / 2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width / 4 + 100, b.y + b.height / 2, { steps: 4 });
      await page.mouse.up();
      expect(await page.$eval('#after', (e) => e.getBoundingClientRect().x)).toBeCloseTo(x0 + 100, 0);
      // The divider stays where the split says, in the view.
      await page.focus('#split');
      await page.keyboard.press('Home');
      for (let k = 0; k < 5; k++) await page.keyboard.press('PageUp');
      const split = Number(await page.inputValue('#split'));
      const divider = await page.$eval('#divider', (e) => (e as HTMLElement).offsetLeft + (e as HTMLElement).offsetWidth / 2);
      expect(divider).toBeCloseTo((split / 100) * b.width, 0);
    } finally {
      await page.close();
    }
  });
});
