// `lightsr upscale INPUT -o OUTPUT`: one image, or a folder tree (mirrored into OUTPUT).
// Conventions follow realesrgan-ncnn-vulkan (-s, -m, -t, -x, -f) and sharp-cli (--quality, --overwrite).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_MAX_PIXELS, DEFAULT_MODEL, DEFAULT_SCALE, DEFAULT_TILE, DEFAULT_TILE_PAD, samePath, Upscaler, type OutputFormat, type UpscaleResult,
} from '../upscale.js';
import { SizeLimitError } from '../pipeline/limits.js';
import { NoDefaultWeightsError } from '../upscale/weights.js';
import { planJobs, type CliFormat, type Job } from '../upscale/batch.js';
import { Progress } from '../upscale/progress.js';

interface Opts {
  output: string;
  scale: string;
  model: string;
  weights?: string;
  tile: string;
  tilePad: string;
  selfEnsemble?: boolean;
  exact?: boolean;
  format?: string;
  quality?: string;
  overwrite?: boolean;
  maxPixels: string;
  json?: boolean;
}

type Status = 'done' | 'skipped' | 'failed' | 'cancelled';

export function register(program: Command): void {
  program
    .command('upscale')
    .description('upscale an image, or every image in a folder (recursively; the output tree mirrors the input)')
    .argument('<input>', 'image file or folder')
    .requiredOption('-o, --output <path>', 'output file, or folder (for a folder input, or an existing folder)')
    .option('-s, --scale <n>', 'upscaling factor (2, 3 or 4)', String(DEFAULT_SCALE))
    .option('-m, --model <name>', 'network (see `lightsr models`)', DEFAULT_MODEL)
    .option('--weights <file>', 'safetensors weights (default: lightsr\'s trained weights/<model>_x<s>.safetensors, or in $LIGHTSR_WEIGHTS_DIR)')
    .option('-t, --tile <n>', 'tile size in input pixels; 0 = whole image at once', String(DEFAULT_TILE))
    .option('--tile-pad <n>', 'context pixels around each tile', String(DEFAULT_TILE_PAD))
    .option('-x, --self-ensemble', 'average the 8 flips/transposes (×8 slower, slightly better)')
    .option('--exact', 'tiles reproduce the whole-image result also for networks with global statistics (IMDN; ~4× slower)')
    .option('-f, --format <fmt>', 'output format: png | jpg | webp (default: from the output name, or the input format)')
    .option('--quality <q>', 'JPEG/WebP quality 1–100 (default 95)')
    .option('--overwrite', 'replace existing outputs (inputs are never replaced)')
    .option('--max-pixels <n>', 'refuse inputs or outputs with more pixels than this (checked before any work; 0 = no limit)', String(DEFAULT_MAX_PIXELS))
    .option('--json', 'print one JSON result per file on stdout')
    .action(async (input: string, opts: Opts) => {
      process.exitCode = await runUpscale(input, opts);
    });
}

function int(name: string, v: string | undefined, min: number, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || n < min || n > max) {
    throw new Error(`${name} must be an integer${max < Infinity ? ` from ${min} to ${max}` : ` ≥ ${min}`}, got '${v}'`);
  }
  return n;
}

function parseFormat(f: string | undefined): CliFormat | undefined {
  if (f === undefined) return undefined;
  const v = f.toLowerCase() === 'jpeg' ? 'jpg' : f.toLowerCase();
  if (v !== 'png' && v !== 'jpg' && v !== 'webp') throw new Error(`--format must be png, jpg or webp, got '${f}'`);
  return v;
}

/** The encoder format for an output path (the forced one, else from the extension). */
function formatFor(output: string, forced?: CliFormat): OutputFormat {
  const f = forced ?? path.extname(output).slice(1).toLowerCase();
  if (f === 'png' || f === 'webp') return f;
  if (f === 'jpg' || f === 'jpeg') return 'jpeg';
  throw new Error(`cannot tell the output format of '${output}' (name it .png, .jpg or .webp, or pass -f)`);
}

/** Runs the command; returns the exit code (0: all done or skipped, 1: some file failed, 130: cancelled). */
export async function runUpscale(input: string, opts: Opts): Promise<number> {
  const scale = int('--scale', opts.scale, 1, 16)!;
  const tile = int('--tile', opts.tile, 0)!;
  const tilePad = int('--tile-pad', opts.tilePad, 0)!;
  const quality = int('--quality', opts.quality, 1, 100);
  const format = parseFormat(opts.format);
  const maxPixels = int('--max-pixels', opts.maxPixels, 0)!;

  const plan = await planJobs(input, opts.output, format);
  if (plan.folder && plan.jobs.length === 0) throw new Error(`no images found in '${input}'`);
  const up = await Upscaler.create({ model: opts.model, scale, weights: opts.weights }).catch((err: unknown) => {
    if (err instanceof NoDefaultWeightsError) err.message += ' (--weights FILE)';
    throw err;
  });

  // First Ctrl-C / SIGTERM: stop after the current tile, write nothing more. A second one: stop at once.
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort(new Error(`cancelled (${sig})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = new Progress(process.stderr, plan.jobs.length);
  let failed = 0;
  try {
    for (const job of plan.jobs) {
      if (ac.signal.aborted) break;
      const name = plan.folder ? path.relative(input, job.input) : job.input;
      progress.startFile(name);
      const t0 = performance.now();
      let status: Status = 'done';
      let result: UpscaleResult | undefined;
      let error: string | undefined;
      try {
        const skip = await shouldSkip(job, opts.overwrite === true);
        if (skip) status = 'skipped';
        else {
          const fmt = formatFor(job.output, format);
          await fsp.mkdir(path.dirname(job.output), { recursive: true });
          result = await up.run(job.input, {
            tile, tilePad, maxPixels, selfEnsemble: opts.selfEnsemble, exact: opts.exact, signal: ac.signal,
            output: { path: job.output, format: fmt, quality, overwrite: opts.overwrite },
            onProgress: (p) => progress.tile(p.tilesDone, p.tilesTotal, p.eta),
          });
        }
      } catch (err) {
        status = ac.signal.aborted ? 'cancelled' : 'failed';
        error = err instanceof Error ? err.message : String(err);
        if (err instanceof SizeLimitError && err.limit === 'pixels') error += ` (--max-pixels N; 0 = no limit)`;
        if (status === 'failed') failed++;
      }
      progress.endFile();
      report(progress, opts.json === true, job, status, result, error, (performance.now() - t0) / 1000);
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    progress.finish();
    up.dispose();
  }
  if (ac.signal.aborted) return 130;
  return failed > 0 ? 1 : 0;
}

/** Refuse to write onto an input; skip outputs that already exist unless overwriting. */
async function shouldSkip(job: Job, overwrite: boolean): Promise<boolean> {
  if (samePath(job.input, job.output)) {
    throw new Error(`refusing to write '${job.output}': it is the input file (choose another output path)`);
  }
  if (job.clash) throw new Error(`'${job.output}' is also the output of '${job.clash}' (pass -f to pick one format, or rename)`);
  if (overwrite) return false;
  try {
    await fsp.access(job.output);
    return true;
  } catch {
    return false;
  }
}

function report(progress: Progress, json: boolean, job: Job, status: Status, r: UpscaleResult | undefined, error: string | undefined, seconds: number): void {
  if (json) {
    const o: Record<string, unknown> = { input: job.input, output: job.output, status };
    if (error) o.error = error;
    if (r) {
      Object.assign(o, {
        width: r.width, height: r.height, outWidth: r.outWidth, outHeight: r.outHeight, channels: r.channels,
        bitDepth: r.bitDepth, model: r.model, scale: r.scale, tiles: r.tiles,
      });
    }
    o.seconds = Math.round(seconds * 1000) / 1000;
    process.stdout.write(JSON.stringify(o) + '\n');
  }
  if (status === 'failed') {
    progress.finish();
    process.stderr.write(`lightsr: ${job.input}: ${error}\n`);
  } else if (status === 'cancelled') {
    progress.finish();
    process.stderr.write(`lightsr: ${job.input}: cancelled, nothing written\n`);
  } else if (status === 'skipped') {
    progress.log(`skipped ${job.input}: '${job.output}' exists (--overwrite to redo)`);
  } else if (r) {
    progress.log(`${job.input} → ${job.output}  ${r.width}×${r.height} → ${r.outWidth}×${r.outHeight}  ${seconds.toFixed(1)} s`);
  }
}
