import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBmp } from '../src/image/bmp.js';
import { decodeImage, encodeImage, fromPlanar, readImage, readImageRGB, toPlanarRGB, writeImage } from '../src/image/io.js';
import type { RawImage } from '../src/image/types.js';

const shared = path.resolve(import.meta.dirname, '../../shared');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lightsr-io-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic test image with distinct values per pixel and channel. */
function pattern(width: number, height: number, channels: RawImage['channels'], bitDepth: 8 | 16 = 8): RawImage {
  const n = width * height * channels;
  const data = bitDepth === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const max = bitDepth === 16 ? 65536 : 256;
  for (let i = 0; i < n; i++) data[i] = (i * 7919 + 13) % max;
  return { width, height, channels, bitDepth, data };
}

const same = (a: RawImage, b: RawImage) => {
  expect([b.width, b.height, b.channels, b.bitDepth]).toEqual([a.width, a.height, a.channels, a.bitDepth]);
  expect(Array.from(b.data)).toEqual(Array.from(a.data));
};

describe('PNG / WebP / TIFF / JPEG', () => {
  for (const ch of [1, 2, 3, 4] as const) {
    for (const depth of [8, 16] as const) {
      it(`PNG round trip is exact: ${ch} channel(s), ${depth}-bit`, async () => {
        const img = pattern(7, 5, ch, depth);
        const file = path.join(tmp, `p${ch}_${depth}.png`);
        await writeImage(file, img);
        const back = await readImage(file);
        expect(back.format).toBe('png');
        same(img, back.image);
      });
    }
  }

  it('lossless WebP round trip is exact (RGB and RGBA)', async () => {
    for (const ch of [3, 4] as const) {
      const img = pattern(9, 6, ch);
      const buf = await encodeImage(img, 'webp', { lossless: true });
      const back = await decodeImage(buf, 'x.webp');
      expect(back.format).toBe('webp');
      same(img, back.image);
    }
  });

  it('JPEG honours quality and decodes close to the input', async () => {
    const smooth: RawImage = { width: 32, height: 32, channels: 3, bitDepth: 8, data: new Uint8Array(32 * 32 * 3) };
    for (let i = 0; i < 32 * 32; i++) {
      smooth.data[i * 3] = (i % 32) * 8; smooth.data[i * 3 + 1] = Math.floor(i / 32) * 8; smooth.data[i * 3 + 2] = 128;
    }
    const hi = await encodeImage(smooth, 'jpeg', { quality: 98 });
    const lo = await encodeImage(smooth, 'jpeg', { quality: 10 });
    expect(lo.length).toBeLessThan(hi.length);
    const back = (await decodeImage(hi, 'x.jpg')).image;
    expect(back.channels).toBe(3);
    let err = 0;
    for (let i = 0; i < back.data.length; i++) err += Math.abs(back.data[i] - smooth.data[i]);
    expect(err / back.data.length).toBeLessThan(2);
  });

  it('16-bit images are written as 8-bit JPEG', async () => {
    const img = pattern(8, 8, 3, 16);
    const back = (await decodeImage(await encodeImage(img, 'jpeg', { quality: 100 }), 'x.jpg')).image;
    expect(back.bitDepth).toBe(8);
  });

  it('reads TIFF (8 and 16 bit)', async () => {
    for (const depth of [8, 16] as const) {
      const img = pattern(6, 4, 3, depth);
      const raw = depth === 16 ? img.data : Buffer.from(img.data.buffer); // Uint16Array = 16-bit samples
      const tif = await sharp(raw, { raw: { width: 6, height: 4, channels: 3 } })
        .toColourspace(depth === 16 ? 'rgb16' : 'srgb').tiff({ compression: 'lzw' }).toBuffer();
      const back = await decodeImage(tif, 'x.tif');
      expect(back.format).toBe('tiff');
      same(img, back.image);
    }
  });

  it('keeps grayscale as one channel (Set14 bridge) and expands it to RGB for planar use', async () => {
    const { image } = await readImage(path.join(shared, 'data/bench/Set14/HR/bridge.png'));
    expect([image.width, image.height, image.channels, image.bitDepth]).toEqual([512, 512, 1, 8]);
    const rgb = await readImageRGB(path.join(shared, 'data/bench/Set14/HR/bridge.png'));
    expect(rgb.channels).toBe(3);
    const n = 512 * 512;
    for (const i of [0, 1000, n - 1]) {
      expect(rgb.data[i]).toBeCloseTo(image.data[i] / 255, 7);
      expect(rgb.data[n + i]).toBe(rgb.data[i]);
      expect(rgb.data[2 * n + i]).toBe(rgb.data[i]);
    }
  });

  it('applies EXIF orientation', async () => {
    // 3×2: R G B / Y C M, tagged "rotate 90° clockwise" (orientation 6)
    const px = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 0, 0, 255, 255, 255, 0, 255];
    const buf = await sharp(Buffer.from(px), { raw: { width: 3, height: 2, channels: 3 } })
      .withMetadata({ orientation: 6 }).png().toBuffer();
    expect((await sharp(buf).metadata()).orientation).toBe(6);
    const { image } = await decodeImage(buf, 'o.png');
    expect([image.width, image.height]).toEqual([2, 3]);
    // Y R / C G / M B
    expect(Array.from(image.data)).toEqual([255, 255, 0, 255, 0, 0, 0, 255, 255, 0, 255, 0, 255, 0, 255, 0, 0, 255]);
  });

  it('returns the ICC profile without colour-converting, and re-attaches it unchanged', async () => {
    const tagged = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } })
      .withIccProfile('p3').png().toBuffer();
    const icc = (await sharp(tagged).metadata()).icc!;
    expect(icc.length).toBeGreaterThan(100);
    const img = pattern(5, 4, 3);
    for (const fmt of ['png', 'webp'] as const) {
      const buf = await encodeImage(img, fmt, { icc, lossless: true });
      const back = await decodeImage(buf, `x.${fmt}`);
      expect(Buffer.from(back.icc!).equals(icc)).toBe(true);
      same(img, back.image); // the pixel values are the stored ones, not converted to sRGB
    }
    const jpg = await decodeImage(await encodeImage(img, 'jpeg', { icc, quality: 90 }), 'x.jpg');
    expect(Buffer.from(jpg.icc!).equals(icc)).toBe(true);
    const plain = await decodeImage(await encodeImage(img, 'png'), 'y.png');
    expect(plain.icc).toBeUndefined();
  });
});

describe('planar conversions', () => {
  it('toPlanarRGB splits alpha and scales 8-bit by 1/255, 16-bit by 1/65535', () => {
    const img: RawImage = { width: 2, height: 1, channels: 4, bitDepth: 8, data: new Uint8Array([255, 0, 51, 102, 0, 255, 0, 255]) };
    const { rgb, alpha } = toPlanarRGB(img);
    expect([rgb.channels, rgb.height, rgb.width]).toEqual([3, 1, 2]);
    expect(Array.from(rgb.data)).toEqual([1, 0, 0, 1, 51 / 255, 0].map(Math.fround));
    expect(Array.from(alpha!.data)).toEqual([102 / 255, 1].map(Math.fround));
    const g16: RawImage = { width: 1, height: 1, channels: 2, bitDepth: 16, data: new Uint16Array([65535, 32768]) };
    const p16 = toPlanarRGB(g16);
    expect(Array.from(p16.rgb.data)).toEqual([1, 1, 1]);
    expect(p16.alpha!.data[0]).toBeCloseTo(32768 / 65535, 7);
  });

  it('fromPlanar clamps, scales, rounds and re-attaches alpha', () => {
    const rgb = { channels: 3, height: 1, width: 2, data: new Float32Array([-0.2, 0.5, 1.7, 0.2, 0.999, Number.NaN]) };
    const alpha = { channels: 1, height: 1, width: 2, data: new Float32Array([1, 0.25]) };
    const out = fromPlanar(rgb, alpha);
    expect(out.channels).toBe(4);
    expect(Array.from(out.data)).toEqual([0, 255, 255, 255, 128, 51, 0, 64]);
    const back = toPlanarRGB(pattern(4, 3, 3));
    same(pattern(4, 3, 3), fromPlanar(back.rgb));
    expect(fromPlanar(toPlanarRGB(pattern(4, 3, 3, 16)).rgb, undefined, 16).data).toEqual(pattern(4, 3, 3, 16).data);
    expect(() => fromPlanar(rgb, { channels: 1, height: 2, width: 2, data: new Float32Array(4) })).toThrow(/alpha plane/);
  });
});

// ---- BMP ----

interface BmpSpec {
  width: number;
  height: number;
  bpp: number;
  /** Unpadded bytes of row y (top row first). */
  row: (y: number) => number[];
  palette?: number[][]; // [b, g, r] entries
  topDown?: boolean;
  compression?: number;
  masks?: number[]; // r, g, b, a for BI_BITFIELDS with a 108-byte header
}

function makeBmp(s: BmpSpec): Buffer {
  const hdr = s.masks ? 108 : 40;
  const pal = (s.palette ?? []).flatMap(([b, g, r]) => [b, g, r, 0]);
  const stride = Math.ceil((s.width * s.bpp) / 32) * 4;
  const off = 14 + hdr + pal.length;
  const buf = Buffer.alloc(off + stride * s.height);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(off, 10);
  buf.writeUInt32LE(hdr, 14);
  buf.writeInt32LE(s.width, 18);
  buf.writeInt32LE(s.topDown ? -s.height : s.height, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(s.bpp, 28);
  buf.writeUInt32LE(s.compression ?? (s.masks ? 3 : 0), 30);
  buf.writeUInt32LE(s.palette?.length ?? 0, 46);
  s.masks?.forEach((m, i) => buf.writeUInt32LE(m >>> 0, 54 + 4 * i));
  Buffer.from(pal).copy(buf, 14 + hdr);
  for (let y = 0; y < s.height; y++) {
    const fileRow = s.topDown ? y : s.height - 1 - y;
    Buffer.from(s.row(y)).copy(buf, off + fileRow * stride);
  }
  return buf;
}

describe('BMP decoder', () => {
  // 3×2 RGB: rows [R, G, B], [(10,20,30), (40,50,60), (70,80,90)]
  const rgb = [[255, 0, 0, 0, 255, 0, 0, 0, 255], [10, 20, 30, 40, 50, 60, 70, 80, 90]];
  const bgrRow = (y: number) => [0, 1, 2].flatMap((x) => [rgb[y][x * 3 + 2], rgb[y][x * 3 + 1], rgb[y][x * 3]]);

  it('24-bit, bottom-up and top-down, with row padding', () => {
    for (const topDown of [false, true]) {
      const img = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 24, row: bgrRow, topDown }));
      expect([img.width, img.height, img.channels]).toEqual([3, 2, 3]);
      expect(Array.from(img.data)).toEqual(rgb.flat());
    }
  });

  it('32-bit BI_RGB: unused 4th byte → RGB, set 4th byte → RGBA', () => {
    const x0 = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 32, row: (y) => [0, 1, 2].flatMap((x) => [...bgrRow(y).slice(x * 3, x * 3 + 3), 0]) }));
    expect(x0.channels).toBe(3);
    expect(Array.from(x0.data)).toEqual(rgb.flat());
    const a = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 32, row: (y) => [0, 1, 2].flatMap((x) => [...bgrRow(y).slice(x * 3, x * 3 + 3), 100 + x]) }));
    expect(a.channels).toBe(4);
    expect(Array.from(a.data.subarray(0, 8))).toEqual([255, 0, 0, 100, 0, 255, 0, 101]);
  });

  it('32-bit BI_BITFIELDS with an alpha mask (V4 header)', () => {
    const img = decodeBmp(makeBmp({
      width: 2, height: 1, bpp: 32, masks: [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000],
      row: () => [3, 2, 1, 200, 30, 20, 10, 40], // little-endian ARGB words
    }));
    expect(img.channels).toBe(4);
    expect(Array.from(img.data)).toEqual([1, 2, 3, 200, 10, 20, 30, 40]);
  });

  it('16-bit 5-5-5', () => {
    const v = (31 << 10) | (16 << 5) | 0; // r = 31, g = 16, b = 0
    const img = decodeBmp(makeBmp({ width: 1, height: 1, bpp: 16, row: () => [v & 255, v >> 8] }));
    expect(Array.from(img.data)).toEqual([255, Math.round((16 * 255) / 31), 0]);
  });

  it('8-bit gray palette → 1 channel; colour palette → RGB; 4-bit and 1-bit', () => {
    const grayPal = Array.from({ length: 256 }, (_, i) => [i, i, i]);
    const g = decodeBmp(makeBmp({ width: 3, height: 2, bpp: 8, palette: grayPal, row: (y) => [y * 100, 7, 255] }));
    expect(g.channels).toBe(1);
    expect(Array.from(g.data)).toEqual([0, 7, 255, 100, 7, 255]);
    const colPal = [[0, 0, 255], [0, 255, 0], [255, 0, 0]]; // BGR: red, green, blue
    const c = decodeBmp(makeBmp({ width: 3, height: 1, bpp: 8, palette: colPal, row: () => [0, 1, 2] }));
    expect(Array.from(c.data)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255]);
    const n4 = decodeBmp(makeBmp({ width: 3, height: 1, bpp: 4, palette: colPal, row: () => [0x21, 0x00] }));
    expect(Array.from(n4.data)).toEqual([0, 0, 255, 0, 255, 0, 255, 0, 0]);
    const bw = decodeBmp(makeBmp({ width: 10, height: 1, bpp: 1, palette: [[0, 0, 0], [255, 255, 255]], row: () => [0b10110000, 0b01000000] }));
    expect(Array.from(bw.data)).toEqual([255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  });

  it('rejects RLE compression and truncated data with a clear reason', () => {
    const grayPal = Array.from({ length: 256 }, (_, i) => [i, i, i]);
    expect(() => decodeBmp(makeBmp({ width: 2, height: 1, bpp: 8, palette: grayPal, row: () => [1, 2], compression: 1 })))
      .toThrow(/unsupported BMP compression/);
    const full = makeBmp({ width: 3, height: 2, bpp: 24, row: bgrRow });
    expect(() => decodeBmp(full.subarray(0, full.length - 5))).toThrow(/truncated/);
  });

  it('Set5 BMPs (MATLAB files, one with a V4/V5 header) decode to the same pixels as the Set5 PNGs', async () => {
    for (const name of ['baby', 'bird', 'butterfly', 'head', 'woman']) {
      const bmp = await readImage(path.join(shared, `data/bench/Set5_matlab_lr/HR/${name}.bmp`));
      const png = await readImage(path.join(shared, `data/bench/Set5/HR/${name}.png`));
      expect(bmp.format).toBe('bmp');
      same(png.image, bmp.image);
    }
  });

  it('reads every T91 training BMP', async () => {
    const dir = path.join(shared, 'data/train/T91');
    const files = readdirSync(dir).filter((f) => f.endsWith('.bmp'));
    expect(files.length).toBe(91);
    for (const f of files) {
      const { image } = await readImage(path.join(dir, f));
      expect(image.channels).toBe(3);
      const buf = readFileSync(path.join(dir, f));
      expect([image.width, image.height]).toEqual([buf.readInt32LE(18), Math.abs(buf.readInt32LE(22))]);
    }
  });
});

describe('errors name the file and say what is wrong', () => {
  const bad = async (name: string, content: Uint8Array | null, re: RegExp) => {
    const file = path.join(tmp, name);
    if (content) writeFileSync(file, content);
    const err = await readImage(file).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(file);
    expect(err!.message).toMatch(re);
    expect(err!.message).not.toContain('\n');
  };

  it('missing, zero-byte, non-image, directory', async () => {
    await bad('missing.png', null, /not found/);
    await bad('empty.png', new Uint8Array(0), /empty/);
    await bad('text.png', Buffer.from('just some text, not pixels'), /not a supported image/);
    await bad('', null, /directory/);
  });

  it('truncated and corrupt files', async () => {
    const png = readFileSync(path.join(shared, 'data/bench/Set5/HR/bird.png'));
    await bad('half.png', png.subarray(0, png.length >> 1), /corrupt or truncated/);
    await bad('head.png', png.subarray(0, 40), /corrupt or truncated/);
    const flipped = Buffer.from(png);
    for (let i = 4000; i < 4400; i++) flipped[i] ^= 0x5a;
    await bad('flipped.png', flipped, /corrupt or truncated/);
    const jpg = await sharp(png).jpeg().toBuffer();
    await bad('half.jpg', jpg.subarray(0, jpg.length >> 1), /corrupt or truncated/);
    const webp = await sharp(png).webp().toBuffer();
    await bad('half.webp', webp.subarray(0, webp.length >> 1), /corrupt or truncated/);
    const bmp = readFileSync(path.join(shared, 'data/bench/Set5_matlab_lr/HR/bird.bmp'));
    await bad('half.bmp', bmp.subarray(0, bmp.length >> 1), /truncated/);
  });
});

describe('writing', () => {
  it('writes atomically, leaving no temp files, and replaces an existing file', async () => {
    const dir = mkdtempSync(path.join(tmp, 'w-'));
    const file = path.join(dir, 'out.png');
    await writeImage(file, pattern(4, 4, 3));
    await writeImage(file, pattern(5, 3, 1));
    expect(readdirSync(dir)).toEqual(['out.png']);
    same(pattern(5, 3, 1), (await readImage(file)).image);
  });

  it('refuses unknown extensions, bad data and unwritable places without leaving files', async () => {
    const dir = mkdtempSync(path.join(tmp, 'w-'));
    await expect(writeImage(path.join(dir, 'a.gif'), pattern(2, 2, 3))).rejects.toThrow(/unknown output format/);
    await expect(writeImage(path.join(dir, 'a.png'), { ...pattern(2, 2, 3), width: 3 })).rejects.toThrow(/expected 18/);
    await expect(writeImage(path.join(dir, 'a.jpg'), pattern(2, 2, 3), { quality: 0 })).rejects.toThrow(/quality/);
    await expect(writeImage(path.join(dir, 'no/such/dir/a.png'), pattern(2, 2, 3))).rejects.toThrow(/cannot write/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(path.join(dir, 'a.png'))).toBe(false);
  });
});
