// Image file I/O: decode (sharp + our BMP reader) to RawImage, encode PNG/JPEG/WebP atomically.
// The RawImage ↔ PlanarImage conversions live in planar.ts (browser-safe) and are re-exported here.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { bmpSize, decodeBmp, isBmp } from './bmp.js';
import { checkRaw, toPlanarRGB } from './planar.js';
import { pngWithIcc } from './png-icc.js';
import type { PlanarImage, RawImage } from './types.js';

export { fromPlanar, toPlanarRGB } from './planar.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff' | 'bmp';

export interface LoadedImage {
  image: RawImage;
  format: ImageFormat | string;
  /** Embedded ICC profile (pixels are NOT colour-converted; pass it back to writeImage to re-attach). */
  icc?: Uint8Array;
}

export interface WriteOptions {
  /** Defaults to the file extension (.png, .jpg/.jpeg, .webp). */
  format?: 'png' | 'jpeg' | 'webp';
  /** JPEG/WebP quality 1–100 (default 95). */
  quality?: number;
  /** WebP lossless. */
  lossless?: boolean;
  /** ICC profile to embed as is (from LoadedImage.icc). */
  icc?: Uint8Array;
  /** Checked just before the file is put in place: once aborted, nothing is written. */
  signal?: AbortSignal;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default: sharp's limit, 16383²; Infinity: no limit). */
  maxPixels?: number;
}

/** sharp's default `limitInputPixels`. */
const SHARP_MAX_PIXELS = 16383 * 16383;

/** What the header says, before anything is decoded. */
export interface ImageHeader {
  /** Size after EXIF orientation. */
  width: number;
  height: number;
  format: ImageFormat | string;
}

const fail = (file: string, why: string) => new Error(`cannot read image '${file}': ${why}`);

/** Container type from the first bytes (to tell a damaged image from a non-image). */
function sniff(b: Uint8Array): ImageFormat | null {
  const at = (i: number, ...v: number[]) => v.every((x, k) => b[i + k] === x);
  if (at(0, 0x89, 0x50, 0x4e, 0x47)) return 'png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'webp';
  if (at(0, 0x49, 0x49, 0x2a, 0x00) || at(0, 0x4d, 0x4d, 0x00, 0x2a)) return 'tiff';
  if (isBmp(b)) return 'bmp';
  return null;
}

/** Decode an image file. Keeps gray / gray+alpha / RGB / RGBA and 16-bit depth; applies EXIF orientation. */
export async function readImage(file: string, opts: DecodeOptions = {}): Promise<LoadedImage> {
  return decodeImage(await readFileBytes(file), file, opts);
}

/** The bytes of an image file, with the usual failures worded for the user. */
export async function readFileBytes(file: string): Promise<Buffer> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(file, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message);
  }
}

/** Size and format from the header alone (nothing is decoded): limits can be checked before any work. */
export async function probeImage(buf: Uint8Array, name = '<buffer>'): Promise<ImageHeader> {
  if (buf.length === 0) throw fail(name, 'the file is empty (0 bytes)');
  if (isBmp(buf)) {
    try {
      const { width, height } = bmpSize(buf);
      return { width, height, format: 'bmp' };
    } catch (err) {
      throw fail(name, `corrupt or unsupported BMP (${(err as Error).message})`);
    }
  }
  const meta = await metadata(buf, name);
  if (!(meta.width! > 0 && meta.height! > 0)) throw fail(name, 'the header has no image size');
  const swap = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 transpose
  return { width: swap ? meta.height! : meta.width!, height: swap ? meta.width! : meta.height!, format: formatName(meta) };
}

async function metadata(buf: Uint8Array, name: string): Promise<sharp.Metadata> {
  try {
    // The header only: callers apply their own pixel limit with a message that names it.
    return await sharp(asBuffer(buf), { limitInputPixels: false }).metadata();
  } catch (err) {
    const kind = sniff(buf);
    if (kind) throw fail(name, `corrupt or truncated ${kind.toUpperCase()} data (${(err as Error).message.split('\n')[0]})`);
    throw fail(name, 'not a supported image (PNG, JPEG, WebP, TIFF or BMP expected)');
  }
}

const asBuffer = (buf: Uint8Array) => Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
const formatName = (meta: sharp.Metadata) => (meta.format === 'jpg' ? 'jpeg' : meta.format ?? 'unknown');

/** Decode an in-memory file; `name` is used in error messages. */
export async function decodeImage(buf: Uint8Array, name = '<buffer>', opts: DecodeOptions = {}): Promise<LoadedImage> {
  if (buf.length === 0) throw fail(name, 'the file is empty (0 bytes)');
  if (isBmp(buf)) {
    try {
      return { image: decodeBmp(buf), format: 'bmp' };
    } catch (err) {
      throw fail(name, `corrupt or unsupported BMP (${(err as Error).message})`);
    }
  }
  const input = asBuffer(buf);
  const meta = await metadata(buf, name);
  const limit = opts.maxPixels ?? SHARP_MAX_PIXELS;
  if (meta.width! * meta.height! > limit) {
    throw fail(name, `${meta.width}×${meta.height} is over the limit of ${limit} pixels`);
  }
  try {
    const sixteen = meta.depth === 'ushort';
    const alpha = meta.hasAlpha === true;
    const colour = (meta.channels ?? 3) - (alpha ? 1 : 0) >= 3 || meta.space === 'cmyk';
    // sharp's 8-bit 'b-w' output drops alpha, so gray+alpha is decoded as RGBA and folded back below.
    const grayAlpha8 = !colour && !sixteen && alpha;
    const space = colour || grayAlpha8 ? (sixteen ? 'rgb16' : 'srgb') : sixteen ? 'grey16' : 'b-w';
    const { data, info } = await sharp(input, { autoOrient: true, ignoreIcc: meta.space !== 'cmyk', failOn: 'warning', limitInputPixels: Number.isFinite(limit) ? limit : false })
      .toColourspace(space)
      .raw({ depth: sixteen ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    let channels = info.channels as RawImage['channels'];
    let pixels: Uint8Array | Uint16Array = sixteen
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (grayAlpha8 && channels === 4) {
      const ga = new Uint8Array((pixels.length / 4) * 2);
      for (let i = 0, j = 0; j < ga.length; i += 4, j += 2) { ga[j] = pixels[i]; ga[j + 1] = pixels[i + 3]; }
      pixels = ga;
      channels = 2;
    }
    if (pixels.length !== info.width * info.height * channels) throw new Error('decoded size mismatch');
    const image: RawImage = { width: info.width, height: info.height, channels, bitDepth: sixteen ? 16 : 8, data: pixels };
    const out: LoadedImage = { image, format: formatName(meta) };
    if (meta.icc && meta.space !== 'cmyk') out.icc = new Uint8Array(meta.icc);
    return out;
  } catch (err) {
    throw fail(name, `corrupt or truncated ${sniff(buf)?.toUpperCase() ?? 'image'} data (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Encoder format from an output file's extension; throws for other extensions. */
export function formatFromPath(file: string): 'png' | 'jpeg' | 'webp' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  throw new Error(`cannot write '${file}': unknown output format '${ext || '(no extension)'}' (use .png, .jpg or .webp)`);
}

/** Encode to a buffer. 16-bit images stay 16-bit in PNG; JPEG/WebP are 8-bit. */
export async function encodeImage(img: RawImage, format: 'png' | 'jpeg' | 'webp', opts: Omit<WriteOptions, 'format'> = {}): Promise<Buffer> {
  checkRaw(img);
  const quality = opts.quality ?? 95;
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new Error(`quality must be an integer 1–100, got ${opts.quality}`);
  let src: RawImage = img;
  if (img.bitDepth === 16 && format !== 'png') src = to8bit(img);
  const gray = src.channels <= 2;
  const sixteen = src.bitDepth === 16;
  // A Uint16Array tells sharp the samples are 16-bit.
  const raw = sixteen ? src.data : Buffer.from(src.data.buffer, src.data.byteOffset, src.data.byteLength);
  // Our callers check output sizes up front; sharp's own input-pixel limit must not refuse raw pixels at the end.
  const s = sharp(raw, { raw: { width: src.width, height: src.height, channels: src.channels }, limitInputPixels: false })
    .toColourspace(sixteen ? (gray ? 'grey16' : 'rgb16') : gray ? 'b-w' : 'srgb');
  let png = await s.png({ compressionLevel: 6 }).toBuffer();
  const unlimited = { ignoreIcc: true, limitInputPixels: false } as const;
  if (opts.icc) png = pngWithIcc(png, opts.icc);
  if (format === 'png') return png;
  // Re-encode from the tagged PNG so sharp carries the profile over unchanged (no colour conversion).
  const t = sharp(png, unlimited).keepIccProfile();
  return format === 'jpeg'
    ? t.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' }).toBuffer()
    : t.webp({ quality, lossless: opts.lossless ?? false }).toBuffer();
}

/** Write atomically (temp file in the same folder, then rename). Format from the extension unless given. */
export async function writeImage(file: string, img: RawImage, opts: WriteOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(file);
  const data = await encodeImage(img, format, opts);
  await writeFileAtomic(file, data, opts.signal);
}

export async function writeFileAtomic(file: string, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, data);
    if (!signal?.aborted) await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw new Error(`cannot write '${file}': ${(err as Error).message}`);
  }
  if (signal?.aborted) {
    await fsp.rm(tmp, { force: true });
    signal.throwIfAborted();
  }
}

export function to8bit(img: RawImage): RawImage {
  if (img.bitDepth === 8) return img;
  const d = new Uint8Array(img.data.length);
  for (let i = 0; i < d.length; i++) d[i] = Math.round(img.data[i] / 257);
  return { ...img, bitDepth: 8, data: d };
}

/** Read any supported image as planar RGB in [0,1] (alpha dropped). */
export async function readImageRGB(file: string): Promise<PlanarImage> {
  const { image } = await readImage(file);
  return toPlanarRGB(image).rgb;
}
