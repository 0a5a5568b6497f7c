// Small valid image files of every input format lightsr reads, the starting points of the robustness suite:
// PNG/JPEG/WebP/TIFF/GIF made with sharp (several colour types, depths and options), BMP written here by hand
// in the variants src/image/bmp.ts reads. Every image is at most 16×16 so one upscale takes milliseconds.
import sharp from 'sharp';
import { Rng } from '../../src/train/rng.js';

export const FORMATS = ['png', 'jpeg', 'webp', 'tiff', 'gif', 'bmp'] as const;
export type Format = (typeof FORMATS)[number];
export const EXT: Record<Format, string> = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif', gif: '.gif', bmp: '.bmp' };

export interface Base {
  format: Format;
  name: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** Pseudo-random pixels (a gradient plus noise, so the encoders have something to code). */
function pixels(w: number, h: number, ch: number, seed: number, depth: 8 | 16 = 8): Uint8Array | Uint16Array {
  const rng = new Rng(seed, w, h, ch);
  const max = depth === 16 ? 65535 : 255;
  const out = depth === 16 ? new Uint16Array(w * h * ch) : new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < ch; c++) {
        const v = ((x + y + c * 3) / (w + h + 9)) * 0.7 + rng.float() * 0.3;
        out[(y * w + x) * ch + c] = Math.round(v * max);
      }
    }
  }
  return out;
}

const raw = (w: number, h: number, ch: 1 | 2 | 3 | 4, seed: number, depth: 8 | 16 = 8) =>
  sharp(pixels(w, h, ch, seed, depth), { raw: { width: w, height: h, channels: ch } });

async function sharpBases(): Promise<Base[]> {
  const make: [Format, string, number, number, () => sharp.Sharp][] = [
    ['png', 'rgb', 12, 10, () => raw(12, 10, 3, 1).png()],
    ['png', 'rgba', 9, 7, () => raw(9, 7, 4, 2).png()],
    ['png', 'gray16', 8, 8, () => raw(8, 8, 1, 3, 16).toColourspace('grey16').png()],
    ['png', 'palette', 10, 10, () => raw(10, 10, 3, 4).png({ palette: true, colours: 16 })],
    ['png', 'gray-alpha', 6, 5, () => raw(6, 5, 2, 5).png()],
    ['png', 'interlaced', 7, 9, () => raw(7, 9, 3, 6).png({ progressive: true })],
    ['png', '1x1', 1, 1, () => raw(1, 1, 3, 7).png()],
    ['png', '1x16', 1, 16, () => raw(1, 16, 3, 8).png()],
    ['png', '16x1', 16, 1, () => raw(16, 1, 3, 9).png()],
    ['jpeg', 'baseline', 12, 10, () => raw(12, 10, 3, 10).jpeg({ quality: 90 })],
    ['jpeg', 'progressive', 11, 9, () => raw(11, 9, 3, 11).jpeg({ progressive: true })],
    ['jpeg', 'gray', 8, 8, () => raw(8, 8, 1, 12).jpeg()],
    ['jpeg', 'exif-rot6', 5, 8, () => raw(8, 5, 3, 13).jpeg().withMetadata({ orientation: 6 })], // shown 5×8
    ['jpeg', '420', 16, 16, () => raw(16, 16, 3, 14).jpeg({ chromaSubsampling: '4:2:0', quality: 70 })],
    ['jpeg', 'cmyk', 6, 6, () => raw(6, 6, 3, 15).toColourspace('cmyk').jpeg()],
    ['jpeg', '1x1', 1, 1, () => raw(1, 1, 3, 16).jpeg()],
    ['webp', 'lossy', 12, 10, () => raw(12, 10, 3, 17).webp({ quality: 80 })],
    ['webp', 'lossless-rgba', 9, 7, () => raw(9, 7, 4, 18).webp({ lossless: true })],
    ['webp', 'lossy-alpha', 8, 8, () => raw(8, 8, 4, 19).webp({ quality: 70 })],
    ['webp', '1x16', 1, 16, () => raw(1, 16, 3, 20).webp({ lossless: true })],
    ['tiff', 'none', 10, 8, () => raw(10, 8, 3, 21).tiff({ compression: 'none' })],
    ['tiff', 'lzw-rgba', 12, 12, () => raw(12, 12, 4, 22).tiff({ compression: 'lzw' })],
    ['tiff', 'deflate-gray', 8, 8, () => raw(8, 8, 1, 23).toColourspace('b-w').tiff({ compression: 'deflate' })],
    ['tiff', 'rgb16', 6, 6, () => raw(6, 6, 3, 24, 16).toColourspace('rgb16').tiff({ compression: 'none' })],
    ['tiff', 'tiled', 16, 16, () => raw(16, 16, 3, 25).tiff({ tile: true, tileWidth: 16, tileHeight: 16 })],
    ['tiff', 'jpeg', 16, 16, () => raw(16, 16, 3, 26).tiff({ compression: 'jpeg' })],
    ['gif', 'rgb', 12, 10, () => raw(12, 10, 3, 27).gif()],
    ['gif', 'alpha', 8, 8, () => raw(8, 8, 4, 28).gif()],
    ['gif', '1x1', 1, 1, () => raw(1, 1, 3, 29).gif()],
  ];
  return Promise.all(make.map(async ([format, name, width, height, f]) => ({
    format, name, width, height, bytes: new Uint8Array(await f().toBuffer()),
  })));
}

interface BmpSpec {
  width: number;
  height: number;
  bpp: 1 | 4 | 8 | 16 | 24 | 32;
  /** Info header size: 12 (OS/2 core), 40, 56 or 108 (default 40). */
  header?: 12 | 40 | 56 | 108;
  topDown?: boolean;
  /** BI_BITFIELDS channel masks R, G, B, A (16/32-bit). */
  masks?: [number, number, number, number];
  /** 32-bit BI_RGB: set the 4th byte (read as alpha). */
  alpha?: boolean;
}

/** A valid uncompressed BMP with pseudo-random pixels. */
export function writeBmp(s: BmpSpec, seed = 0): Uint8Array {
  const rng = new Rng(seed, s.width, s.height, s.bpp);
  const header = s.header ?? 40;
  const core = header === 12;
  // the core header has no colour count: its palette must hold all 2^bpp entries
  const colours = s.bpp <= 8 ? (core ? 1 << s.bpp : Math.min(1 << s.bpp, 16)) : 0;
  const entry = core ? 3 : 4;
  const maskBytes = s.masks && header === 40 ? 16 : 0; // after a 40-byte header; inside a longer one
  const stride = Math.ceil((s.width * s.bpp) / 32) * 4;
  const dataOffset = 14 + header + maskBytes + colours * entry;
  const size = dataOffset + stride * s.height;
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  b[0] = 0x42; b[1] = 0x4d;
  dv.setUint32(2, size, true);
  dv.setUint32(10, dataOffset, true);
  dv.setUint32(14, header, true);
  if (core) {
    dv.setUint16(18, s.width, true);
    dv.setInt16(20, s.topDown ? -s.height : s.height, true);
    dv.setUint16(22, 1, true);
    dv.setUint16(24, s.bpp, true);
  } else {
    dv.setInt32(18, s.width, true);
    dv.setInt32(22, s.topDown ? -s.height : s.height, true);
    dv.setUint16(26, 1, true);
    dv.setUint16(28, s.bpp, true);
    dv.setUint32(30, s.masks ? 3 : 0, true);
    dv.setUint32(34, stride * s.height, true);
    dv.setUint32(46, colours, true);
    if (s.masks) s.masks.forEach((m, i) => dv.setUint32(54 + 4 * i, m, true));
  }
  const palAt = 14 + header + maskBytes;
  for (let i = 0; i < colours; i++) {
    for (let c = 0; c < 3; c++) b[palAt + i * entry + c] = rng.int(256);
  }
  for (let y = 0; y < s.height; y++) {
    const row = dataOffset + y * stride;
    if (s.bpp <= 8) {
      const bits = s.width * s.bpp;
      for (let k = 0; k < Math.ceil(bits / 8); k++) b[row + k] = rng.int(256);
      // keep palette indices in range for 8-bit (1/4-bit indices are always < 16)
      if (s.bpp === 8) for (let x = 0; x < s.width; x++) b[row + x] %= colours;
    } else {
      const n = (s.width * s.bpp) / 8;
      for (let k = 0; k < n; k++) b[row + k] = rng.int(256);
      if (s.bpp === 32 && !s.masks && !s.alpha) for (let x = 0; x < s.width; x++) b[row + 4 * x + 3] = 0;
    }
  }
  return b;
}

const BMPS: [string, BmpSpec][] = [
  ['24-bit', { width: 7, height: 5, bpp: 24 }],
  ['24-bit-topdown', { width: 5, height: 3, bpp: 24, topDown: true }],
  ['32-bit', { width: 6, height: 4, bpp: 32 }],
  ['32-bit-alpha', { width: 4, height: 4, bpp: 32, alpha: true, topDown: true }],
  ['8-bit', { width: 9, height: 3, bpp: 8 }],
  ['4-bit', { width: 5, height: 5, bpp: 4 }],
  ['1-bit', { width: 10, height: 2, bpp: 1 }],
  ['16-bit-555', { width: 5, height: 4, bpp: 16 }],
  ['16-bit-565', { width: 3, height: 3, bpp: 16, masks: [0xf800, 0x07e0, 0x001f, 0] }],
  ['32-bit-bitfields-v3', { width: 4, height: 4, bpp: 32, header: 56, masks: [0xff0000, 0xff00, 0xff, 0xff000000] }],
  ['32-bit-bitfields-v4', { width: 3, height: 2, bpp: 32, header: 108, masks: [0xff0000, 0xff00, 0xff, 0] }],
  ['core-24-bit', { width: 3, height: 3, bpp: 24, header: 12 }],
  ['core-8-bit', { width: 4, height: 2, bpp: 8, header: 12 }],
  ['1x1', { width: 1, height: 1, bpp: 24 }],
  ['1x16', { width: 1, height: 16, bpp: 24 }],
];

let cached: Promise<Base[]> | undefined;

/** Every base image (made once per process; deterministic for a given sharp version). */
export function makeBases(): Promise<Base[]> {
  cached ??= sharpBases().then((list) => [
    ...list,
    ...BMPS.map(([name, spec], i) => ({ format: 'bmp' as const, name, width: spec.width, height: spec.height, bytes: writeBmp(spec, 100 + i) })),
  ]);
  return cached;
}
