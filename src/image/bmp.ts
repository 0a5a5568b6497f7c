// Minimal BMP decoder (sharp/libvips cannot read BMP): uncompressed 1/4/8-bit paletted,
// 16/24/32-bit (BI_RGB or BI_BITFIELDS), bottom-up or top-down rows.
import type { RawImage } from './types.js';

export function isBmp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x42 && buf[1] === 0x4d; // 'BM'
}

/** Width and height from a BMP header (no pixel data read); throws on a bad header. */
export function bmpSize(buf: Uint8Array): { width: number; height: number; topDown: boolean } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!isBmp(buf) || buf.length < 26) throw new Error('truncated BMP header');
  const hdrSize = dv.getUint32(14, true);
  if (buf.length < 14 + Math.min(hdrSize, 40)) throw new Error('truncated BMP header');
  if (hdrSize !== 12 && hdrSize < 40) throw new Error(`unsupported BMP header size ${hdrSize}`);
  const width = hdrSize === 12 ? dv.getUint16(18, true) : dv.getInt32(18, true);
  const h = hdrSize === 12 ? dv.getInt16(20, true) : dv.getInt32(22, true);
  const height = Math.abs(h);
  if (width <= 0 || height <= 0 || width > 1 << 16 || height > 1 << 16) throw new Error(`invalid BMP size ${width}x${h}`);
  return { width, height, topDown: h < 0 };
}

/** Decode a BMP file. Throws an Error with a short reason (no file name) on bad data. */
export function decodeBmp(buf: Uint8Array): RawImage {
  const { width, height, topDown } = bmpSize(buf); // validates the header
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataOffset = dv.getUint32(10, true);
  const hdrSize = dv.getUint32(14, true);
  const core = hdrSize === 12; // OS/2 BITMAPCOREHEADER
  const bpp = dv.getUint16(core ? 24 : 28, true);
  const compression = core ? 0 : dv.getUint32(30, true);
  const colorsUsed = core ? 0 : dv.getUint32(46, true);

  // Channel masks for BI_BITFIELDS (3) / BI_ALPHABITFIELDS (6); defaults for BI_RGB.
  let masks: [number, number, number, number] | null = null;
  if (compression === 3 || compression === 6) {
    if (bpp !== 16 && bpp !== 32) throw new Error('BMP bitfields need 16 or 32 bits per pixel');
    const at = hdrSize >= 52 ? 14 + 40 : 14 + hdrSize; // masks follow a 40-byte header
    if (buf.length < at + 12) throw new Error('truncated BMP header');
    const alphaMask = (hdrSize >= 56 || compression === 6) && buf.length >= at + 16 ? dv.getUint32(at + 12, true) : 0;
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true), alphaMask];
  } else if (compression !== 0) {
    throw new Error(`unsupported BMP compression ${compression} (only uncompressed BMPs are read)`);
  } else if (bpp === 16) {
    masks = [0x7c00, 0x03e0, 0x001f, 0];
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new Error(`unsupported BMP bit depth ${bpp}`);

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + stride * height > buf.length) throw new Error('truncated BMP pixel data');
  const rowStart = (y: number) => dataOffset + (topDown ? y : height - 1 - y) * stride;
  const n = width * height;

  if (bpp <= 8) {
    const entry = hdrSize === 12 ? 3 : 4;
    const count = colorsUsed > 0 ? colorsUsed : 1 << bpp;
    const palAt = 14 + hdrSize + (compression === 3 ? 12 : 0);
    if (palAt + count * entry > buf.length) throw new Error('truncated BMP palette');
    const pal = new Uint8Array(count * 3); // RGB
    let gray = true;
    for (let i = 0; i < count; i++) {
      const b = buf[palAt + i * entry], g = buf[palAt + i * entry + 1], r = buf[palAt + i * entry + 2];
      pal[i * 3] = r; pal[i * 3 + 1] = g; pal[i * 3 + 2] = b;
      if (r !== g || g !== b) gray = false;
    }
    const ch = gray ? 1 : 3;
    const out = new Uint8Array(n * ch);
    const perByte = 8 / bpp;
    const mask = (1 << bpp) - 1;
    for (let y = 0; y < height; y++) {
      const r0 = rowStart(y);
      for (let x = 0; x < width; x++) {
        const byte = buf[r0 + Math.floor(x / perByte)];
        const shift = 8 - bpp * ((x % perByte) + 1);
        const idx = (byte >> shift) & mask;
        if (idx >= count) throw new Error(`BMP palette index ${idx} out of range`);
        const o = (y * width + x) * ch;
        if (gray) out[o] = pal[idx * 3];
        else { out[o] = pal[idx * 3]; out[o + 1] = pal[idx * 3 + 1]; out[o + 2] = pal[idx * 3 + 2]; }
      }
    }
    return { width, height, channels: ch, bitDepth: 8, data: out };
  }

  if (bpp === 24 || (bpp === 32 && !masks)) {
    const bytes = bpp / 8;
    // 32-bit BI_RGB: the 4th byte is usually padding; treat it as alpha only if some pixel sets it.
    let hasAlpha = false;
    if (bpp === 32) {
      for (let y = 0; y < height && !hasAlpha; y++) {
        const r0 = rowStart(y);
        for (let x = 0; x < width; x++) if (buf[r0 + x * 4 + 3] !== 0) { hasAlpha = true; break; }
      }
    }
    const ch = hasAlpha ? 4 : 3;
    const out = new Uint8Array(n * ch);
    for (let y = 0; y < height; y++) {
      const r0 = rowStart(y);
      for (let x = 0; x < width; x++) {
        const i = r0 + x * bytes, o = (y * width + x) * ch;
        out[o] = buf[i + 2]; out[o + 1] = buf[i + 1]; out[o + 2] = buf[i];
        if (hasAlpha) out[o + 3] = buf[i + 3];
      }
    }
    return { width, height, channels: ch, bitDepth: 8, data: out };
  }

  // 16/32-bit with channel masks.
  const m = masks!;
  const fields = m.map((mk) => {
    if (mk === 0) return null;
    let shift = 0;
    while (((mk >>> shift) & 1) === 0) shift++;
    const max = mk >>> shift;
    return { mask: mk >>> 0, shift, max };
  });
  const ch = fields[3] ? 4 : 3;
  const out = new Uint8Array(n * ch);
  for (let y = 0; y < height; y++) {
    const r0 = rowStart(y);
    for (let x = 0; x < width; x++) {
      const v = bpp === 16 ? dv.getUint16(r0 + x * 2, true) : dv.getUint32(r0 + x * 4, true);
      const o = (y * width + x) * ch;
      for (let c = 0; c < ch; c++) {
        const f = fields[c];
        out[o + c] = f ? Math.round((((v & f.mask) >>> 0) >>> f.shift) * 255 / f.max) : 0;
      }
    }
  }
  return { width, height, channels: ch, bitDepth: 8, data: out };
}
