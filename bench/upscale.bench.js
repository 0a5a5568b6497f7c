// `lightsr upscale` on a 1920×1080 photo, ×2: wall time and peak RSS of the whole CLI process (decode, tiled
// IMDN, stitching, PNG encode). Goal: peak RSS ≤ 1.5 GB, i.e. memory bounded by the tile, not the image.
// The input is a Debian wallpaper from ../shared, resized (cover) to 1920×1080 in a temp folder.
// Needs `npm run build`. The default weights are the official IMDN ×2 fixture (lightsr's own are not required).
//   node bench/upscale.bench.js [--threads 2] [--tile 128] [--tile-pad 32] [--scale 2] [--weights FILE] [--exact]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const shared = path.resolve(root, '../shared');
const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

if (argv[0] === '--child') {
  // Child: run the CLI in this process, then report its own peak RSS.
  const { main } = await import('../dist/cli/main.js');
  const t0 = performance.now();
  await main(['node', 'lightsr', ...argv.slice(1)]);
  const seconds = (performance.now() - t0) / 1000;
  const u = process.resourceUsage();
  const cpu = (u.userCPUTime + u.systemCPUTime) / 1e6;
  process.stderr.write(`\n@@${JSON.stringify({ seconds, cpu, maxRssKiB: u.maxRSS, exitCode: process.exitCode ?? 0 })}\n`);
  process.exit(Number(process.exitCode ?? 0));
}

const scale = Number(arg('scale', '2'));
const threads = arg('threads', '2');
const tile = arg('tile', '128');
const pad = arg('tile-pad', '32');
const weights = arg('weights', path.join(shared, `reference/weights/imdn_x${scale}.safetensors`));
const photo = path.join(shared, 'data/train/DebianPhotos/lomiri_Bridge_by_Sander_Klootwijk.jpg');

const sharp = (await import('sharp')).default;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-bench-'));
try {
  const input = path.join(tmp, 'photo_1920x1080.png');
  await sharp(photo).resize(1920, 1080, { fit: 'cover' }).png().toFile(input);
  const output = path.join(tmp, `photo_x${scale}.png`);
  const cli = ['upscale', input, '-o', output, '-s', String(scale), '--weights', weights, '-t', tile, '--tile-pad', pad, '--json'];
  if (argv.includes('--exact')) cli.push('--exact');
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', ...cli], {
    encoding: 'utf8', env: { ...process.env, LIGHTSR_THREADS: threads, LIGHTSR_BACKEND: process.env.LIGHTSR_BACKEND ?? 'torch' },
    maxBuffer: 1 << 24,
  });
  const line = (r.stderr ?? '').split('\n').find((l) => l.startsWith('@@'));
  if (r.status !== 0 || !line) throw new Error(`upscale failed (exit ${r.status}): ${r.stderr}`);
  const stats = JSON.parse(line.slice(2));
  const result = JSON.parse(r.stdout.trim().split('\n').pop());
  const gb = (stats.maxRssKiB * 1024) / 1e9;
  console.log(`lightsr upscale 1920×1080 → ${result.outWidth}×${result.outHeight} (×${scale}, IMDN, ${threads} threads, tile ${tile} + pad ${pad}, ${result.tiles} tiles${argv.includes('--exact') ? ', exact' : ''})`);
  console.log(`weights: ${weights}`);
  console.log(`wall ${stats.seconds.toFixed(1)} s (upscale ${result.seconds.toFixed(1)} s), CPU ${stats.cpu.toFixed(1)} s (user+sys; wall ≫ CPU/threads means a busy machine)`);
  console.log(`peak RSS ${gb.toFixed(2)} GB (goal ≤ 1.5 GB)  ${gb <= 1.5 ? 'OK' : 'OVER'}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
