// Training data: a folder of HR images → an on-disk cache of uint8 HR/LR pairs per scale → random aligned crops.
//
// Cache layout (CACHE_ROOT/<folder>-x<s>-<key>/): hr.bin and lr.bin hold every image as raw RGB uint8 (HWC),
// back to back; index.json lists names, sizes and byte offsets. HR is mod-cropped (after the optional
// scale-down); LR = MATLAB bicubic(HR, 1/s) rounded to uint8, exactly like the benchmark LR sets. The key hashes
// the file list (path, size, mtime), the scale and the scale-down rules, so a changed folder gets a new cache.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OptionError } from '../option-error.js';
import { Rng } from './rng.js';
import { decodeRgb8, downscaleRgb8 } from './imageops.js';

export const IMAGE_EXTS = ['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff'];
const CACHE_VERSION = 1;

/** All image files under `dir` (recursive, hidden entries skipped), sorted by relative path. */
export function listImages(dir: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new Error(`training folder not found: ${dir}`);
  }
  if (!st.isDirectory()) throw new Error(`training data must be a folder of images: ${dir}`);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXTS.includes(path.extname(e.name).toLowerCase())) {
        if (!e.isFile()) checkRegularFile(p); // links are followed; a FIFO or device would block the reader
        out.push(p);
      }
    }
  };
  walk(dir);
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!out.length) throw new Error(`no images (${IMAGE_EXTS.join(', ')}) found under ${dir}`);
  return out;
}

/** Throws unless `p` (a symlink, FIFO, socket or device entry) is, or links to, a regular file. */
function checkRegularFile(p: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new Error(`cannot read training image '${p}': broken symbolic link`);
  }
  if (!st.isFile()) throw new Error(`cannot read training image '${p}': not a regular file`);
}

/** Scale-down rule: factor applied to HR images before everything else; `ext` null = every image. */
export interface ScaleDownRule {
  ext: string | null;
  factor: number;
}

/** "0.5" (all images) or "jpg=0.5,jpeg=0.5" (by extension). */
export function parseScaleDown(spec: string | undefined): ScaleDownRule[] {
  if (spec === undefined || spec === '') return [];
  return spec.split(',').map((part) => {
    const m = /^\s*(?:\.?([a-z0-9]+)\s*=\s*)?([0-9.]+)\s*$/i.exec(part);
    const f = m ? Number(m[2]) : NaN;
    if (!m || !(f > 0 && f <= 1)) {
      throw new OptionError('trainScaleDown', `training scale-down: "${part}" is not a factor in (0, 1] (examples: 0.5, jpg=0.5,jpeg=0.5)`);
    }
    return { ext: m[1] ? `.${m[1].toLowerCase()}` : null, factor: f };
  });
}

export function scaleDownFor(file: string, rules: ScaleDownRule[]): number {
  const ext = path.extname(file).toLowerCase();
  for (const r of rules) if (r.ext === ext) return r.factor;
  for (const r of rules) if (r.ext === null) return r.factor;
  return 1;
}

export interface CachedImage {
  /** Path relative to the training folder. */
  name: string;
  /** HR size after scale-down and mod-crop; LR is width/scale × height/scale. */
  width: number;
  height: number;
  /** Byte offsets into hr.bin / lr.bin. */
  hrOffset: number;
  lrOffset: number;
}

export interface DataCache {
  dir: string;
  scale: number;
  hrFile: string;
  lrFile: string;
  images: CachedImage[];
  /** True when this call built the cache (false: reused from disk). */
  built: boolean;
}

export interface CacheOptions {
  trainDir: string;
  scale: number;
  cacheRoot: string;
  scaleDown?: ScaleDownRule[];
  log?: (msg: string) => void;
}

function cacheKey(trainDir: string, files: string[], scale: number, rules: ScaleDownRule[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: CACHE_VERSION, scale, rules }));
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`\n${path.relative(trainDir, f)}\t${st.size}\t${Math.round(st.mtimeMs)}`);
  }
  return h.digest('hex').slice(0, 12);
}

function readIndex(dir: string, scale: number): DataCache | null {
  const idx = path.join(dir, 'index.json');
  if (!fs.existsSync(idx)) return null;
  const j = JSON.parse(fs.readFileSync(idx, 'utf8')) as { version: number; scale: number; images: CachedImage[] };
  if (j.version !== CACHE_VERSION || j.scale !== scale) return null;
  return { dir, scale, hrFile: path.join(dir, 'hr.bin'), lrFile: path.join(dir, 'lr.bin'), images: j.images, built: false };
}

/** Build (or reuse) the uint8 HR/LR cache of a training folder for one scale. */
export async function prepareCache(o: CacheOptions): Promise<DataCache> {
  const trainDir = path.resolve(o.trainDir);
  const rules = o.scaleDown ?? [];
  const files = listImages(trainDir);
  const key = cacheKey(trainDir, files, o.scale, rules);
  const dir = path.join(path.resolve(o.cacheRoot), `${path.basename(trainDir)}-x${o.scale}-${key}`);
  const found = readIndex(dir, o.scale);
  if (found) return found;

  fs.mkdirSync(o.cacheRoot, { recursive: true });
  const tmp = `${dir}.${process.pid}.${Date.now().toString(36)}.tmp`;
  fs.mkdirSync(tmp, { recursive: true });
  const s = o.scale;
  const images: CachedImage[] = [];
  let hrOffset = 0;
  let lrOffset = 0;
  const fdH = fs.openSync(path.join(tmp, 'hr.bin'), 'w');
  const fdL = fs.openSync(path.join(tmp, 'lr.bin'), 'w');
  const t0 = Date.now();
  let lastLog = t0;
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files[i];
      let img = await decodeRgb8(file);
      const f = scaleDownFor(file, rules);
      if (f !== 1) img = downscaleRgb8(img, f);
      const w = img.width - (img.width % s);
      const h = img.height - (img.height % s);
      if (w < s || h < s) continue;
      const hr = modCrop(img.data, img.width, w, h);
      const lr = downscaleRgb8({ width: w, height: h, data: hr }, 1 / s);
      if (lr.width !== w / s || lr.height !== h / s) throw new Error(`internal: LR of ${file} is ${lr.width}×${lr.height}`);
      fs.writeSync(fdH, hr);
      fs.writeSync(fdL, lr.data);
      images.push({ name: path.relative(trainDir, file), width: w, height: h, hrOffset, lrOffset });
      hrOffset += hr.length;
      lrOffset += lr.data.length;
      if (o.log && (Date.now() - lastLog > 5000 || i === files.length - 1)) {
        lastLog = Date.now();
        o.log(`cache x${s}: ${i + 1}/${files.length} images (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
  } catch (e) {
    fs.closeSync(fdH);
    fs.closeSync(fdL);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fs.closeSync(fdH);
  fs.closeSync(fdL);
  fs.writeFileSync(path.join(tmp, 'index.json'), JSON.stringify({ version: CACHE_VERSION, scale: s, source: trainDir, rules, images }, null, 1));
  try {
    fs.renameSync(tmp, dir);
  } catch {
    // Another process finished the same cache first: use theirs.
    fs.rmSync(tmp, { recursive: true, force: true });
    const other = readIndex(dir, s);
    if (!other) throw new Error(`cannot create the data cache ${dir}`);
    return other;
  }
  return { dir, scale: s, hrFile: path.join(dir, 'hr.bin'), lrFile: path.join(dir, 'lr.bin'), images, built: true };
}

function modCrop(data: Uint8Array, srcW: number, w: number, h: number): Uint8Array {
  if (srcW === w && data.length === w * h * 3) return data;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(data.subarray(y * srcW * 3, (y * srcW + w) * 3), y * w * 3);
  return out;
}

/** One training sample: LR crop at (x, y) of side patch/scale, and one of the 8 dihedral transforms. */
export interface CropSpec {
  img: number;
  x: number;
  y: number;
  aug: number;
}

/**
 * Which crops make up each batch. An epoch visits every usable image once per HR patch it holds
 * (floor(W/P)·floor(H/P) times), in an order shuffled per epoch; crop positions and augmentations are random.
 * Everything is derived from (seed, epoch, iteration), so any batch can be recomputed after a restart.
 */
export class PatchSampler {
  readonly usable: number[];
  readonly skipped: number;
  /** Number of HR patches in one pass over the images: the default epoch size is this / batch. */
  readonly patchesPerPass: number;
  private orderEpoch = -1;
  private order = new Int32Array(0);

  constructor(readonly cache: DataCache, readonly patch: number, readonly batch: number, readonly seed: number, readonly augment = true) {
    if (patch % cache.scale) throw new OptionError('patchSize', `patchSize ${patch} must be a multiple of the scale ${cache.scale}`);
    this.usable = [];
    let n = 0;
    cache.images.forEach((im, i) => {
      if (im.width >= patch && im.height >= patch) {
        this.usable.push(i);
        n += Math.floor(im.width / patch) * Math.floor(im.height / patch);
      }
    });
    this.skipped = cache.images.length - this.usable.length;
    if (!this.usable.length) {
      throw new OptionError('patchSize', `no training image is at least ${patch}×${patch} px (HR patch size); use a smaller patch size`);
    }
    this.patchesPerPass = n;
  }

  get defaultItersPerEpoch(): number {
    return Math.max(1, Math.ceil(this.patchesPerPass / this.batch));
  }

  private epochOrder(epoch: number): Int32Array {
    if (epoch !== this.orderEpoch) {
      const p = this.patch;
      const list: number[] = [];
      for (const i of this.usable) {
        const im = this.cache.images[i];
        const k = Math.floor(im.width / p) * Math.floor(im.height / p);
        for (let j = 0; j < k; j++) list.push(i);
      }
      this.order = new Rng(this.seed, 0x0dd, epoch).shuffle(Int32Array.from(list));
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  batchSpecs(epoch: number, iter: number): CropSpec[] {
    const order = this.epochOrder(epoch);
    const rng = new Rng(this.seed, 0xba7c4, epoch, iter);
    const lp = this.patch / this.cache.scale;
    const out: CropSpec[] = [];
    for (let k = 0; k < this.batch; k++) {
      const img = order[(iter * this.batch + k) % order.length];
      const im = this.cache.images[img];
      const lw = im.width / this.cache.scale;
      const lh = im.height / this.cache.scale;
      out.push({ img, x: rng.int(lw - lp + 1), y: rng.int(lh - lp + 1), aug: this.augment ? rng.int(8) : 0 });
    }
    return out;
  }
}
