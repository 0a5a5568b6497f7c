// Benchmark runner: an SR function over dataset folders (HR/ + optional LR_bicubic/X<s>/<name>x<s>.<ext>),
// scored with PSNR/SSIM on Y (spec §6). Missing LR folders are generated with MATLAB bicubic from
// the mod-cropped HR.
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import { imresize, imresizePlanar, modCrop } from '../image/bicubic.js';
import { dihedral, undoDihedral } from '../image/dihedral.js';
import { readImage, toPlanarRGB } from '../image/io.js';
import type { PlanarImage } from '../image/types.js';
import { checkScale } from '../pipeline/scale.js';
import { scoreY, SSIM_WINDOW } from './metrics.js';

/**
 * An SR function (not the `Upscaler` class of upscale.ts): anything that turns an LR image (planar RGB, [0,1])
 * into an SR image `scale` times larger.
 */
export type SRFunction = (lr: PlanarImage, scale: number) => Promise<PlanarImage>;

export interface ImageScore {
  name: string;
  psnr: number;
  ssim: number;
}

export interface DatasetScore {
  dataset: string;
  dir: string;
  scale: number;
  /** 'files': LR_bicubic/X<s> was used; 'generated': LR made here with MATLAB bicubic. */
  lr: 'files' | 'generated';
  images: ImageScore[];
  psnr: number;
  ssim: number;
}

export interface Progress {
  dataset: string;
  scale: number;
  done: number;
  total: number;
  name: string;
}

const IMAGE_EXT = new Set(['.png', '.bmp', '.jpg', '.jpeg', '.webp', '.tif', '.tiff']);

/** The classic "Bicubic" row: MATLAB imresize ×s on uint8 (rounded after each 1-D pass). */
export const bicubicUpscaler: SRFunction = async (lr, scale) => imresizePlanar(lr, scale, { quantize: 255 });

/** Wrap an upscaler with the ×8 dihedral self-ensemble (spec §6.6), averaging in float64. */
export function withSelfEnsemble(up: SRFunction): SRFunction {
  return async (lr, scale) => {
    let acc: Float64Array | null = null;
    let shape: PlanarImage | null = null;
    for (let i = 0; i < 8; i++) {
      const y = undoDihedral(await up(dihedral(lr, i), scale), i);
      if (!acc) { acc = new Float64Array(y.data.length); shape = y; }
      for (let k = 0; k < acc.length; k++) acc[k] += y.data[k];
    }
    const data = new Float32Array(acc!.length);
    for (let k = 0; k < data.length; k++) data[k] = acc![k] / 8;
    return { ...shape!, data };
  };
}

async function listImages(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of (await fsp.readdir(dir)).sort()) {
    const ext = path.extname(f).toLowerCase();
    if (IMAGE_EXT.has(ext) && !f.startsWith('.')) out.set(path.basename(f, path.extname(f)), path.join(dir, f));
  }
  return out;
}

/** HR images of a dataset folder (name → file), with clear errors for a bad layout. */
export async function listHR(dir: string): Promise<Map<string, string>> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`dataset folder '${dir}' does not exist`);
  const hrDir = path.join(dir, 'HR');
  if (!existsSync(hrDir)) throw new Error(`dataset folder '${dir}' has no HR/ subfolder`);
  const hr = await listImages(hrDir);
  if (hr.size === 0) throw new Error(`no images in '${hrDir}'`);
  return hr;
}

export interface Pair {
  name: string;
  /** Mod-cropped HR, planar RGB [0,1]. */
  hr: PlanarImage;
  lr: PlanarImage;
}

/** Smallest HR side that can be scored at `scale`: after mod-crop and the `scale` px border, SSIM's window must fit. */
export function minHRSide(scale: number): number {
  return scale * (2 + Math.ceil(SSIM_WINDOW / scale));
}

/** Why an HR image of w×h cannot be scored at `scale` (border = scale), or null when it can. */
export function hrTooSmall(w: number, h: number, scale: number): string | null {
  const min = minHRSide(scale);
  if (w >= min && h >= min) return null;
  const need = `; ×${scale} needs HR images of at least ${min}x${min} (remove it, or use a smaller scale)`;
  if (w < scale || h < scale) return `is ${w}x${h}, smaller than the scale ×${scale}${need}`;
  const mw = w - (w % scale), mh = h - (h % scale);
  const cw = mw - 2 * scale, ch = mh - 2 * scale;
  if (cw <= 0 || ch <= 0) {
    return `is ${w}x${h}: cropping the ${scale} px border from its ${mw}x${mh} mod-crop leaves nothing to score${need}`;
  }
  return `is ${w}x${h}: after the ${scale} px border crop, ${cw}x${ch} is smaller than SSIM's ${SSIM_WINDOW}x${SSIM_WINDOW} window${need}`;
}

/** HR/LR pairs of one dataset at one scale, loaded one at a time. */
export async function* loadPairs(dir: string, scale: number): AsyncGenerator<Pair & { lrSource: 'files' | 'generated'; total: number }> {
  const hrFiles = await listHR(dir);
  const lrDir = path.join(dir, 'LR_bicubic', `X${scale}`);
  const lrFiles = existsSync(lrDir) ? await listImages(lrDir) : null;
  for (const [name, file] of hrFiles) {
    const full = (await readImage(file)).image;
    const small = hrTooSmall(full.width, full.height, scale);
    if (small) throw new Error(`HR image ${file} ${small}`);
    const hrRaw = modCrop(full, scale);
    let lrRaw;
    if (lrFiles) {
      const lrFile = lrFiles.get(`${name}x${scale}`);
      if (!lrFile) throw new Error(`'${lrDir}' has no LR image for ${path.basename(file)} (expected ${name}x${scale}.<ext>)`);
      lrRaw = (await readImage(lrFile)).image;
      if (lrRaw.width * scale !== hrRaw.width || lrRaw.height * scale !== hrRaw.height) {
        throw new Error(`${lrFile} is ${lrRaw.width}x${lrRaw.height}, but the mod-cropped HR ${file} is ` +
          `${hrRaw.width}x${hrRaw.height} (expected ${hrRaw.width / scale}x${hrRaw.height / scale})`);
      }
    } else {
      lrRaw = imresize(hrRaw, 1 / scale);
    }
    yield { name, hr: toPlanarRGB(hrRaw).rgb, lr: toPlanarRGB(lrRaw).rgb, lrSource: lrFiles ? 'files' : 'generated', total: hrFiles.size };
  }
}

/** Score `up` on one dataset folder at one scale (per image and mean PSNR/SSIM on Y, border = scale). */
export async function evaluateDataset(
  dir: string, scale: number, up: SRFunction, onProgress?: (p: Progress) => void,
): Promise<DatasetScore> {
  if (checkScale(scale) < 2) throw new Error('scale 1 cannot be evaluated (SR scores need a scale of at least 2)');
  const dataset = path.basename(path.resolve(dir));
  const images: ImageScore[] = [];
  let lr: DatasetScore['lr'] = 'files';
  for await (const p of loadPairs(dir, scale)) {
    lr = p.lrSource;
    const sr = await up(p.lr, scale);
    if (sr.channels !== 3) throw new Error(`the upscaler returned ${sr.channels} channels for ${p.name}, expected 3`);
    images.push({ name: p.name, ...scoreY(sr, p.hr, scale) });
    onProgress?.({ dataset, scale, done: images.length, total: p.total, name: p.name });
  }
  const mean = (k: 'psnr' | 'ssim') => images.reduce((s, r) => s + r[k], 0) / images.length;
  return { dataset, dir, scale, lr, images, psnr: mean('psnr'), ssim: mean('ssim') };
}

/** Progress reporter for a terminal: one self-overwriting line on stderr (a plain line per dataset otherwise). */
export function stderrProgress(): (p: Progress) => void {
  const tty = process.stderr.isTTY;
  return (p) => {
    const msg = `[${p.dataset} x${p.scale}] ${p.done}/${p.total} ${p.name}`;
    if (tty) process.stderr.write(`\r\x1b[K${msg}${p.done === p.total ? '\n' : ''}`);
    else if (p.done === p.total) process.stderr.write(`[${p.dataset} x${p.scale}] ${p.total} images done\n`);
  };
}
