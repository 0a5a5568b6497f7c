// Vite config for the lightsr web page (root: web/). The page imports ../src directly.
//
// Weights: lightsr's own trained files `weights/<model>_x<s>.safetensors` (+ `.json` card) from the repository
// are served at `weights/` by the dev and preview servers and copied into the build's `weights/`, with
// `weights/manifest.json` listing them (the page offers only those). Nothing else is copied (never the
// reference fixtures in ../shared). The tfjs wasm binaries are bundled as assets by the worker's `?url`
// imports, so the page loads nothing from the internet.
//
// Cross-origin isolation: every response carries COOP same-origin + COEP require-corp (dev, preview, and a
// `_headers` file in the build for static hosts), so the page gets SharedArrayBuffer and threaded wasm.
import { createReadStream, existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Connect, type Plugin } from 'vite';

const webDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(webDir, '..');
const weightsDir = path.join(repoRoot, 'weights');

/** A weights file name we serve: `<stem>.safetensors` or its `.json` card, nothing with a path in it. */
const WEIGHTS_NAME = /^[A-Za-z0-9_-]+\.safetensors(\.json)?$/;

/** Serves `weights/<file>` from `dir` (GET and HEAD). Exported for the E2E test's override. */
export function weightsMiddleware(resolve: (name: string) => string | undefined): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/weights\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    const name = decodeURIComponent(m[1]);
    const file = WEIGHTS_NAME.test(name) ? resolve(name) : undefined;
    if (!file || !existsSync(file) || !statSync(file).isFile()) return next();
    res.setHeader('Content-Type', name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  };
}

/** The two headers that make the page cross-origin isolated (SharedArrayBuffer, threaded wasm). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

/** Sets the isolation headers on every response, including those of other middlewares. */
export const isolationMiddleware: Connect.NextHandleFunction = (_req, res, next) => {
  for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
  next();
};

/** One manifest row per weights file: what the page may offer. */
export interface ManifestEntry {
  stem: string;
  bytes: number;
  /** From the JSON card, when there is one. */
  architecture?: string;
  scale?: number;
  params?: number;
  iterations?: number;
  set5Psnr?: number;
}

/** `weights/manifest.json`: the safetensors files in `dir`, with a summary of each card. */
export async function weightsManifest(dir: string): Promise<{ weights: ManifestEntry[] }> {
  const files = existsSync(dir) ? (await fsp.readdir(dir)).filter((f) => WEIGHTS_NAME.test(f) && f.endsWith('.safetensors')) : [];
  const weights: ManifestEntry[] = [];
  for (const f of files.sort()) {
    const entry: ManifestEntry = { stem: f.replace(/\.safetensors$/, ''), bytes: statSync(path.join(dir, f)).size };
    const card = path.join(dir, `${f}.json`);
    if (existsSync(card)) {
      try {
        const c = JSON.parse(await fsp.readFile(card, 'utf8'));
        entry.architecture = c.architecture;
        entry.scale = c.scale;
        entry.params = c.params;
        entry.iterations = c.total_iterations ?? c.iteration;
        entry.set5Psnr = c.validation?.dataset === 'Set5' ? c.validation.psnr : undefined;
      } catch {
        // A broken card: the file is still listed; loading it reports the card's error.
      }
    }
    weights.push(entry);
  }
  return { weights };
}

/** Serves `weights/manifest.json`, built from `dir` on each request (dev server). */
function manifestMiddleware(dir: string): Connect.NextHandleFunction {
  return (req, res, next) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/weights/manifest.json' || req.method !== 'GET') return next();
    weightsManifest(dir).then((m) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-cache');
      res.end(JSON.stringify(m));
    }, next);
  };
}

/** `_headers` for static hosts that read it (Netlify, Cloudflare Pages); other hosts: see web/README.md. */
const HEADERS_FILE = `/*\n${Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`;

function lightsrWeights(): Plugin {
  const serve = weightsMiddleware((name) => path.join(weightsDir, name));
  let outDir = '';
  return {
    name: 'lightsr-weights',
    configResolved(cfg) {
      outDir = path.resolve(cfg.root, cfg.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(isolationMiddleware);
      server.middlewares.use(manifestMiddleware(weightsDir));
      server.middlewares.use(serve);
    },
    configurePreviewServer(server) {
      server.middlewares.use(isolationMiddleware);
    },
    async writeBundle() {
      await fsp.writeFile(path.join(outDir, '_headers'), HEADERS_FILE);
      const files = existsSync(weightsDir) ? (await fsp.readdir(weightsDir)).filter((f) => WEIGHTS_NAME.test(f)) : [];
      await fsp.mkdir(path.join(outDir, 'weights'), { recursive: true });
      for (const f of files) await fsp.copyFile(path.join(weightsDir, f), path.join(outDir, 'weights', f));
      await fsp.writeFile(path.join(outDir, 'weights', 'manifest.json'), JSON.stringify(await weightsManifest(weightsDir), null, 1));
    },
  };
}

export default defineConfig({
  root: webDir,
  base: './',
  publicDir: false,
  // No SPA fallback: a missing weights file or card must be a 404, not index.html.
  appType: 'mpa',
  plugins: [lightsrWeights()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // tfjs-core plus three backends make one large worker chunk; that is expected.
    chunkSizeWarningLimit: 4096,
    assetsInlineLimit: 0,
  },
  // Module worker: the backends are loaded with dynamic imports (code splitting).
  worker: { format: 'es' },
  server: { fs: { allow: [repoRoot] }, headers: { ...ISOLATION_HEADERS } },
  preview: { headers: { ...ISOLATION_HEADERS } },
});
