// Where the header fields of each image format are, so the robustness suite can change them: PNG chunks (IHDR,
// lengths, types, CRCs), JPEG segments (SOF size/precision/components, SOS, DQT, DHT, EXIF orientation), WebP
// chunks (RIFF/chunk sizes, VP8/VP8L/VP8X sizes), TIFF IFD entries, GIF screen/image descriptors, BMP headers.
import { crc32 } from '../../src/io/crc32.js';
import type { Format } from './bases.js';

/** One editable header field. `set` takes the field's meaning (e.g. a width, not width − 1). */
export interface Field {
  name: string;
  /** Width in bits of what the field can hold. */
  bits: number;
  get(b: Uint8Array): number;
  set(b: Uint8Array, v: number): void;
  /** PNG: start of the chunk holding the field (its CRC can be fixed after an edit). */
  chunk?: number;
}

/** A byte range of the file that can be removed or duplicated as a whole (chunk, segment, block). */
export interface Segment {
  name: string;
  start: number;
  end: number;
}

export interface Layout {
  fields: Field[];
  /** Width and height fields, one pair per place the file states its size. */
  dims: [Field, Field][];
  segments: Segment[];
}

function uint(name: string, at: number, size: 1 | 2 | 3 | 4, le: boolean, chunk?: number): Field {
  return {
    name, bits: size * 8, chunk,
    get: (b) => {
      let v = 0;
      for (let i = 0; i < size; i++) v += b[at + (le ? i : size - 1 - i)] * 2 ** (8 * i);
      return v;
    },
    set: (b, v) => {
      for (let i = 0; i < size; i++) {
        const j = at + (le ? i : size - 1 - i);
        if (j < b.length) b[j] = Math.floor(v / 2 ** (8 * i)) & 0xff;
      }
    },
  };
}

/** Bits [shift, shift + bits) of a little-endian word of `size` bytes at `at`, storing v − offset. */
function bitsLE(name: string, at: number, size: number, shift: number, bits: number, offset = 0): Field {
  const word = uint(name, at, size as 1 | 2 | 3 | 4, true);
  const mask = 2 ** bits - 1;
  return {
    name, bits,
    get: (b) => (Math.floor(word.get(b) / 2 ** shift) & mask) + offset,
    set: (b, v) => {
      const w = word.get(b);
      const old = Math.floor(w / 2 ** shift) & mask;
      word.set(b, w + (((v - offset) & mask) - old) * 2 ** shift);
    },
  };
}

const be16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const be32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const le32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const tag = (b: Uint8Array, i: number) => String.fromCharCode(...b.subarray(i, i + 4));

/** Recompute the CRC of the PNG chunk starting at `at` (after its data was edited). */
export function fixPngCrc(b: Uint8Array, at: number): void {
  const len = be32(b, at);
  const end = at + 8 + len;
  if (end + 4 > b.length) return;
  const crc = crc32(b.subarray(at + 4, end));
  b[end] = crc >>> 24; b[end + 1] = (crc >>> 16) & 0xff; b[end + 2] = (crc >>> 8) & 0xff; b[end + 3] = crc & 0xff;
}

function png(b: Uint8Array): Layout {
  const L: Layout = { fields: [], dims: [], segments: [] };
  for (let at = 8; at + 12 <= b.length;) {
    const len = be32(b, at);
    const type = tag(b, at + 4);
    const end = Math.min(b.length, at + 12 + len);
    L.segments.push({ name: type, start: at, end });
    L.fields.push(uint(`${type}.length`, at, 4, false), uint(`${type}.type`, at + 4, 4, false, at), uint(`${type}.crc`, end - 4, 4, false));
    if (type === 'IHDR') {
      const w = uint('IHDR.width', at + 8, 4, false, at);
      const h = uint('IHDR.height', at + 12, 4, false, at);
      L.dims.push([w, h]);
      L.fields.push(w, h);
      ['bitDepth', 'colourType', 'compression', 'filter', 'interlace'].forEach((n, i) => L.fields.push(uint(`IHDR.${n}`, at + 16 + i, 1, false, at)));
    }
    if (type === 'PLTE' || type === 'tRNS' || type === 'IDAT') L.fields.push(uint(`${type}.byte0`, at + 8, 1, false, at));
    at = at + 12 + len;
  }
  return L;
}

const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

function jpeg(b: Uint8Array): Layout {
  const L: Layout = { fields: [], dims: [], segments: [] };
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) break;
    const m = b[i + 1];
    if (m === 0xff) { i++; continue; }
    if (m === 0xd9) break;
    if ((m >= 0xd0 && m <= 0xd8) || m === 0x01) { i += 2; continue; }
    const len = be16(b, i + 2);
    const end = Math.min(b.length, i + 2 + len);
    const name = `${m.toString(16).toUpperCase()}@${i}`;
    L.segments.push({ name, start: i, end });
    L.fields.push(uint(`${name}.marker`, i + 1, 1, false), uint(`${name}.length`, i + 2, 2, false));
    if (isSof(m)) {
      const h = uint('SOF.height', i + 5, 2, false);
      const w = uint('SOF.width', i + 7, 2, false);
      L.dims.push([w, h]);
      L.fields.push(uint('SOF.precision', i + 4, 1, false), h, w, uint('SOF.components', i + 9, 1, false));
      for (let k = 0; k < Math.min(b[i + 9], 4); k++) {
        L.fields.push(uint(`SOF.c${k}.id`, i + 10 + 3 * k, 1, false), uint(`SOF.c${k}.sampling`, i + 11 + 3 * k, 1, false), uint(`SOF.c${k}.table`, i + 12 + 3 * k, 1, false));
      }
    } else if (m === 0xda) {
      const n = b[i + 4];
      L.fields.push(uint('SOS.components', i + 4, 1, false));
      for (let k = 0; k < Math.min(n, 4); k++) L.fields.push(uint(`SOS.c${k}.id`, i + 5 + 2 * k, 1, false), uint(`SOS.c${k}.tables`, i + 6 + 2 * k, 1, false));
      ['Ss', 'Se', 'AhAl'].forEach((f, k) => L.fields.push(uint(`SOS.${f}`, i + 5 + 2 * n + k, 1, false)));
    } else if (m === 0xdb) {
      L.fields.push(uint('DQT.table', i + 4, 1, false), uint('DQT.q0', i + 5, 1, false), uint('DQT.q9', i + 14, 1, false));
    } else if (m === 0xc4) {
      L.fields.push(uint('DHT.table', i + 4, 1, false), uint('DHT.count1', i + 5, 1, false), uint('DHT.count8', i + 12, 1, false), uint('DHT.count16', i + 20, 1, false));
    } else if (m === 0xdd) {
      L.fields.push(uint('DRI.interval', i + 4, 2, false));
    } else if (m === 0xe1) {
      const o = exifOrientation(b, i + 4, end);
      if (o) L.fields.push(o);
    }
    i = end;
    if (m === 0xda) {
      // entropy-coded data: skip to the next marker that is not a stuffed byte or a restart marker
      while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0 && !(b[i + 1] >= 0xd0 && b[i + 1] <= 0xd7))) i++;
    }
  }
  return L;
}

/** The EXIF orientation value in an APP1 segment (data from `from`), if there is one. */
function exifOrientation(b: Uint8Array, from: number, end: number): Field | undefined {
  for (let i = from; i + 10 <= end; i++) {
    if (b[i] === 0x01 && b[i + 1] === 0x12 && b[i + 2] === 0x00 && b[i + 3] === 0x03) return uint('EXIF.orientation', i + 8, 2, false);
    if (b[i] === 0x12 && b[i + 1] === 0x01 && b[i + 2] === 0x03 && b[i + 3] === 0x00) return uint('EXIF.orientation', i + 8, 2, true);
  }
  return undefined;
}

function webp(b: Uint8Array): Layout {
  const L: Layout = { fields: [uint('RIFF.size', 4, 4, true), uint('RIFF.form', 8, 4, false)], dims: [], segments: [] };
  for (let at = 12; at + 8 <= b.length;) {
    const cc = tag(b, at).trim();
    const size = le32(b, at + 4);
    const end = Math.min(b.length, at + 8 + size + (size & 1));
    const d = at + 8;
    L.segments.push({ name: cc, start: at, end });
    L.fields.push(uint(`${cc}.fourcc`, at, 4, false), uint(`${cc}.size`, at + 4, 4, true));
    if (cc === 'VP8') {
      const w = bitsLE('VP8.width', d + 6, 2, 0, 14);
      const h = bitsLE('VP8.height', d + 8, 2, 0, 14);
      L.dims.push([w, h]);
      L.fields.push(uint('VP8.frameTag', d, 3, true), uint('VP8.startCode', d + 3, 3, false), w, h,
        bitsLE('VP8.xscale', d + 6, 2, 14, 2), bitsLE('VP8.yscale', d + 8, 2, 14, 2));
    } else if (cc === 'VP8L') {
      const w = bitsLE('VP8L.width', d + 1, 4, 0, 14, 1);
      const h = bitsLE('VP8L.height', d + 1, 4, 14, 14, 1);
      L.dims.push([w, h]);
      L.fields.push(uint('VP8L.signature', d, 1, false), w, h, bitsLE('VP8L.version', d + 1, 4, 29, 3), uint('VP8L.byte5', d + 5, 1, false));
    } else if (cc === 'VP8X') {
      const w = bitsLE('VP8X.width', d + 4, 3, 0, 24, 1);
      const h = bitsLE('VP8X.height', d + 7, 3, 0, 24, 1);
      L.dims.push([w, h]);
      L.fields.push(uint('VP8X.flags', d, 1, false), w, h);
    } else if (cc === 'ALPH') {
      L.fields.push(uint('ALPH.header', d, 1, false));
    }
    at = at + 8 + size + (size & 1);
  }
  return L;
}

function tiff(b: Uint8Array): Layout {
  const L: Layout = { fields: [], dims: [], segments: [] };
  if (b.length < 8) return L;
  const le = b[0] === 0x49;
  const u16 = (i: number) => (le ? b[i] | (b[i + 1] << 8) : be16(b, i));
  const u32 = (i: number) => (le ? le32(b, i) : be32(b, i));
  const first = u32(4);
  L.fields.push(uint('TIFF.magic', 2, 2, le), uint('TIFF.ifdOffset', 4, 4, le));
  if (first + 2 > b.length) return L;
  const n = u16(first);
  L.fields.push(uint('IFD.count', first, 2, le));
  const size: Record<string, Field> = {};
  for (let k = 0; k < n && first + 2 + 12 * k + 12 <= b.length; k++) {
    const e = first + 2 + 12 * k;
    const t = u16(e);
    const name = `tag${t}`;
    L.fields.push(uint(`${name}.tag`, e, 2, le), uint(`${name}.type`, e + 2, 2, le), uint(`${name}.count`, e + 4, 4, le), uint(`${name}.value`, e + 8, 4, le));
    if (t === 256 || t === 257) {
      // a SHORT value sits in the first 2 bytes; set writes a LONG so any size fits
      const f: Field = {
        name: t === 256 ? 'TIFF.width' : 'TIFF.height', bits: 32,
        get: (bb) => (u16(e + 2) === 3 ? (le ? bb[e + 8] | (bb[e + 9] << 8) : be16(bb, e + 8)) : (le ? le32(bb, e + 8) : be32(bb, e + 8))),
        set: (bb, v) => { uint('', e + 2, 2, le).set(bb, 4); uint('', e + 8, 4, le).set(bb, v); },
      };
      size[t] = f;
    }
  }
  if (first + 2 + 12 * n + 4 <= b.length) L.fields.push(uint('IFD.next', first + 2 + 12 * n, 4, le));
  if (size[256] && size[257]) L.dims.push([size[256], size[257]]);
  return L;
}

function gif(b: Uint8Array): Layout {
  const L: Layout = { fields: [], dims: [], segments: [] };
  if (b.length < 13) return L;
  const sw = uint('screen.width', 6, 2, true);
  const sh = uint('screen.height', 8, 2, true);
  L.dims.push([sw, sh]);
  L.fields.push(sw, sh, uint('screen.packed', 10, 1, true), uint('screen.background', 11, 1, true));
  let i = 13 + (b[10] & 0x80 ? 3 * 2 ** ((b[10] & 7) + 1) : 0);
  const subBlocks = (j: number, name: string) => {
    let first = true;
    while (j < b.length && b[j] !== 0) {
      if (first) L.fields.push(uint(`${name}.blockSize`, j, 1, true));
      first = false;
      j += b[j] + 1;
    }
    return j + 1;
  };
  while (i < b.length) {
    const start = i;
    if (b[i] === 0x21) {
      L.fields.push(uint(`ext${b[i + 1]}.label`, i + 1, 1, true));
      i = subBlocks(i + 2, `ext${b[i + 1]}`);
    } else if (b[i] === 0x2c && i + 10 <= b.length) {
      const w = uint('image.width', i + 5, 2, true);
      const h = uint('image.height', i + 7, 2, true);
      L.dims.push([w, h]);
      L.fields.push(uint('image.left', i + 1, 2, true), uint('image.top', i + 3, 2, true), w, h, uint('image.packed', i + 9, 1, true));
      let j = i + 10 + (b[i + 9] & 0x80 ? 3 * 2 ** ((b[i + 9] & 7) + 1) : 0);
      L.fields.push(uint('image.lzwMinCodeSize', j, 1, true));
      j = subBlocks(j + 1, 'image');
      i = j;
    } else break;
    L.segments.push({ name: b[start] === 0x2c ? 'image' : 'extension', start, end: Math.min(i, b.length) });
  }
  return L;
}

function bmp(b: Uint8Array): Layout {
  const core = b.length >= 18 && le32(b, 14) === 12;
  const f = (name: string, at: number, size: 1 | 2 | 4) => uint(name, at, size, true);
  const fields = [f('fileSize', 2, 4), f('dataOffset', 10, 4), f('headerSize', 14, 4)];
  if (core) {
    const w = f('width', 18, 2);
    const h = f('height', 20, 2);
    fields.push(w, h, f('planes', 22, 2), f('bpp', 24, 2));
    return { fields, dims: [[w, h]], segments: [] };
  }
  const w = f('width', 18, 4);
  const h = f('height', 22, 4);
  fields.push(w, h, f('planes', 26, 2), f('bpp', 28, 2), f('compression', 30, 4), f('imageSize', 34, 4), f('coloursUsed', 46, 4));
  if (b.length >= 70) fields.push(f('redMask', 54, 4), f('greenMask', 58, 4), f('blueMask', 62, 4), f('alphaMask', 66, 4));
  return { fields, dims: [[w, h]], segments: [] };
}

/** The editable layout of a (valid) file of `format` (writes past the end of the file are dropped). */
export function layout(format: Format, b: Uint8Array): Layout {
  return { png, jpeg, webp, tiff, gif, bmp }[format](b);
}
