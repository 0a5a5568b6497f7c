// Vite config for the lightsr web page (root: web/). The page imports ../src directly.
//
// Weights: lightsr's own trained files `weights/<model>_x<s>.safetensors` (+ `.json` card) from the repository
// are served at `weights/` by the dev and preview servers and copied into the build's `weights/`. Nothing else
// is copied (never the reference fixtures in ../shared). The tfjs wasm binaries are bundled as assets by the
// worker's `?url` imports, so the page loads nothing from the internet.
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

function lightsrWeights(): Plugin {
  const serve = weightsMiddleware((name) => path.join(weightsDir, name));
  let outDir = '';
  return {
    name: 'lightsr-weights',
    configResolved(cfg) {
      outDir = path.resolve(cfg.root, cfg.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(serve);
    },
    async writeBundle() {
      if (!existsSync(weightsDir)) return;
      const files = (await fsp.readdir(weightsDir)).filter((f) => WEIGHTS_NAME.test(f));
      if (files.length === 0) return;
      await fsp.mkdir(path.join(outDir, 'weights'), { recursive: true });
      for (const f of files) await fsp.copyFile(path.join(weightsDir, f), path.join(outDir, 'weights', f));
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
  server: { fs: { allow: [repoRoot] } },
});
