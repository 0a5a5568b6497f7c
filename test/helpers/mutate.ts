// Seeded generator of damaged image files for the robustness suite (issue 14). Case `index` of `seed` is a pure
// function of (seed, index) and the base images, so any failure can be replayed from those two numbers.
import { deflateSync } from 'node:zlib';
import { Rng } from '../../src/train/rng.js';
import { EXT, FORMATS, type Base, type Format } from './bases.js';
import { fixPngCrc, layout, type Field } from './fields.js';

export const KINDS = [
  'valid', 'bitflip', 'overwrite', 'truncate', 'insert', 'header', 'structure', 'dims', 'bomb', 'empty', 'garbage',
] as const;
export type Kind = (typeof KINDS)[number];

/** Relative frequency of each kind. */
const WEIGHTS: Record<Kind, number> = {
  valid: 6, bitflip: 14, overwrite: 10, truncate: 14, insert: 4, header: 22, structure: 6, dims: 10, bomb: 6, empty: 2, garbage: 6,
};

export interface Case {
  seed: number;
  index: number;
  format: Format;
  /** The base image it was made from. */
  base: string;
  kind: Kind;
  /** What was changed, for the report. */
  detail: string;
  bytes: Uint8Array;
  /** Input file extension (the format's, whatever the bytes are). */
  ext: string;
  /** Pass the bytes instead of a path (library only). */
  viaBytes: boolean;
  outExt: '.png' | '.jpg' | '.webp';
  tile: number;
  tilePad: number;
  /** Huge declared sizes run under the default pixel limit: they must be refused from the header alone. */
  defaultLimit: boolean;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

function pickKind(rng: Rng): Kind {
  let r = rng.int(KINDS.reduce((n, k) => n + WEIGHTS[k], 0));
  for (const k of KINDS) if ((r -= WEIGHTS[k]) < 0) return k;
  return 'valid';
}

/** A boundary value (or a random one) that fits in `bits`. */
function interesting(rng: Rng, bits: number, old: number): number {
  const m = 2 ** bits;
  const pool = [0, 1, 2, old + 1, old - 1, old * 2, m - 1, m - 2, m / 2, m / 2 - 1, 255, 256, 16383, 16384, 65535, 65536];
  const v = rng.int(4) === 0 ? rng.next() : pick(rng, pool);
  return ((v % m) + m) % m;
}

/** A position, half the time in the first 64 bytes (where the headers are). */
const position = (rng: Rng, n: number) => (rng.int(2) ? rng.int(Math.min(n, 64)) : rng.int(n));

const randomBytes = (rng: Rng, n: number) => Uint8Array.from({ length: n }, () => rng.int(256));

function splice(b: Uint8Array, at: number, remove: number, insert: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** Set one field; PNG chunk CRCs are fixed with probability `fix` (a reader must not trust a good CRC). */
function setField(rng: Rng, b: Uint8Array, f: Field, v: number, fix: number): string {
  const old = f.get(b);
  f.set(b, v);
  const fixed = f.chunk !== undefined && rng.float() < fix;
  if (fixed) fixPngCrc(b, f.chunk!);
  return `${f.name} ${old}→${v}${fixed ? ' (CRC fixed)' : ''}`;
}

function header(rng: Rng, format: Format, b: Uint8Array): string {
  const { fields } = layout(format, b);
  if (!fields.length) return bitflip(rng, b);
  const n = rng.int(5) === 0 ? 2 : 1;
  const done: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = pick(rng, fields);
    done.push(setField(rng, b, f, interesting(rng, f.bits, f.get(b)), 0.7));
  }
  return done.join(', ');
}

function bitflip(rng: Rng, b: Uint8Array): string {
  const n = 1 + rng.int(8);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = position(rng, b.length);
    b[p] ^= 1 << rng.int(8);
    at.push(p);
  }
  return `${n} bit(s) at ${at.join(',')}`;
}

function overwrite(rng: Rng, b: Uint8Array): string {
  const len = 1 + rng.int(Math.min(32, b.length));
  const at = position(rng, b.length - len + 1);
  const mode = pick(rng, ['random', 'zeros', 'ones', 'copy'] as const);
  const from = rng.int(b.length - len + 1);
  const src = b.slice(from, from + len);
  for (let i = 0; i < len; i++) b[at + i] = mode === 'random' ? rng.int(256) : mode === 'zeros' ? 0 : mode === 'ones' ? 255 : src[i];
  return `${len} bytes at ${at} (${mode})`;
}

function structure(rng: Rng, format: Format, b: Uint8Array): { bytes: Uint8Array; detail: string } {
  const segs = layout(format, b).segments;
  if (!segs.length) return { bytes: b, detail: header(rng, format, b) };
  const s = pick(rng, segs);
  const op = pick(rng, ['remove', 'duplicate', 'swap', 'cut'] as const);
  if (op === 'remove') return { bytes: splice(b, s.start, s.end - s.start), detail: `removed ${s.name}` };
  if (op === 'duplicate') return { bytes: splice(b, s.end, 0, b.slice(s.start, s.end)), detail: `duplicated ${s.name}` };
  if (op === 'cut') {
    const at = s.start + rng.int(s.end - s.start);
    return { bytes: splice(b, at, s.end - at), detail: `cut ${s.name} short at ${at}` };
  }
  const i = segs.indexOf(s);
  const t = segs[i + 1] ?? segs[i - 1];
  if (!t || t === s) return { bytes: splice(b, s.start, s.end - s.start), detail: `removed ${s.name}` };
  const [a, c] = s.start < t.start ? [s, t] : [t, s];
  const out = new Uint8Array(b.length);
  const parts = [b.subarray(0, a.start), b.subarray(c.start, c.end), b.subarray(a.end, c.start), b.subarray(a.start, a.end), b.subarray(c.end)];
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return { bytes: out, detail: `swapped ${a.name} and ${c.name}` };
}

/** Declare another size (tiny, zero, one-pixel lines or merely wrong), keeping the pixel data as it is. */
function dims(rng: Rng, format: Format, b: Uint8Array, base: Base): string {
  const pairs = layout(format, b).dims;
  if (!pairs.length) return header(rng, format, b);
  const { width: w, height: h } = base;
  const N = pick(rng, [3, 16, 17, 64, 255, 1000, 4096]);
  const [W, H] = pick(rng, [[1, 1], [1, 2], [2, 1], [1, N], [N, 1], [N, N], [0, h], [w, 0], [0, 0], [w * 2, h], [w, h + 1], [w + 1, h], [h, w]]);
  const all = rng.int(3) === 0;
  const out: string[] = [];
  for (const [fw, fh] of all ? pairs : [pick(rng, pairs)]) {
    const fix = format === 'png' ? 0.8 : 0;
    out.push(setField(rng, b, fw, Math.min(W, 2 ** fw.bits - 1), fix), setField(rng, b, fh, Math.min(H, 2 ** fh.bits - 1), fix));
  }
  return out.join(', ');
}

let bombPng: Uint8Array | undefined;

/** A PNG whose (valid, CRC-checked) header says 20000×20000 and whose IDAT inflates to 4 MB of zeros. */
function deflateBomb(): Uint8Array {
  if (bombPng) return bombPng.slice();
  const chunk = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    new DataView(c.buffer).setUint32(0, data.length);
    c.set(new TextEncoder().encode(type), 4);
    c.set(data, 8);
    fixPngCrc(c, 0);
    return c;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, 20000);
  new DataView(ihdr.buffer).setUint32(4, 20000);
  ihdr[8] = 8; // 8-bit gray
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(new Uint8Array(1 << 22))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  bombPng = out;
  return out.slice();
}

/** Declare a size whose ×2 output is over the default pixel limit (16383²), with the small data kept. */
function bomb(rng: Rng, format: Format, b: Uint8Array): { bytes: Uint8Array; detail: string } {
  if (format === 'png' && rng.int(4) === 0) return { bytes: deflateBomb(), detail: '20000×20000 PNG, 4 MB of zeros deflated' };
  const pairs = layout(format, b).dims;
  if (!pairs.length) return { bytes: b, detail: header(rng, format, b) };
  const [W, H] = pick(rng, [[65535, 65535], [20000, 20000], [16384, 16384], [40000, 2000], [2000, 40000], [2 ** 31 - 1, 2 ** 31 - 1]]);
  const out: string[] = [];
  for (const [fw, fh] of pairs) {
    out.push(setField(rng, b, fw, Math.min(W, 2 ** fw.bits - 1), 1), setField(rng, b, fh, Math.min(H, 2 ** fh.bits - 1), 1));
  }
  return { bytes: b, detail: out.join(', ') };
}

function garbage(rng: Rng, format: Format, bases: Base[]): { bytes: Uint8Array; detail: string } {
  const te = new TextEncoder();
  switch (rng.int(6)) {
    case 0: return { bytes: randomBytes(rng, 1 + rng.int(1024)), detail: 'random bytes' };
    case 1: return { bytes: te.encode(pick(rng, ['not an image\n', '<!doctype html><title>404</title>', '{"width": 16, "height": 16}', 'GIF8', 'BM'])), detail: 'text' };
    case 2: return { bytes: new Uint8Array(1 + rng.int(4096)), detail: 'zeros' };
    case 3: {
      const magic = bases.find((b) => b.format === format)!.bytes.subarray(0, 4 + rng.int(12));
      const b = new Uint8Array(magic.length + 1 + rng.int(512));
      b.set(magic);
      b.set(randomBytes(rng, b.length - magic.length), magic.length);
      return { bytes: b, detail: `the ${format} magic + random bytes` };
    }
    case 4: {
      const b = randomBytes(rng, 2 + rng.int(256));
      b[0] = 0x42; b[1] = 0x4d; // 'BM': taken for a BMP
      return { bytes: b, detail: "'BM' + random bytes" };
    }
    default: {
      const other = pick(rng, bases.filter((b) => b.format !== format));
      return { bytes: other.bytes.slice(), detail: `a valid ${other.format} (${other.name}) named ${EXT[format]}` };
    }
  }
}

/** Case `index` of `seed`; `force` pins the format and/or the kind (stratified samples). */
export function makeCase(bases: Base[], seed: number, index: number, force: { format?: Format; kind?: Kind } = {}): Case {
  const rng = new Rng(seed, index);
  const format = force.format ?? pick(rng, FORMATS);
  const base = pick(rng, bases.filter((b) => b.format === format));
  const kind = force.kind ?? pickKind(rng);
  let bytes: Uint8Array = base.bytes.slice();
  let detail = '';
  switch (kind) {
    case 'valid': detail = 'unchanged'; break;
    case 'bitflip': detail = bitflip(rng, bytes); break;
    case 'overwrite': detail = overwrite(rng, bytes); break;
    case 'truncate': {
      const n = rng.int(2) ? rng.int(Math.min(bytes.length, 80)) : rng.int(bytes.length);
      bytes = bytes.slice(0, n);
      detail = `${n} of ${base.bytes.length} bytes`;
      break;
    }
    case 'insert': {
      const at = rng.int(bytes.length + 1);
      const n = 1 + rng.int(16);
      bytes = splice(bytes, at, 0, randomBytes(rng, n));
      detail = `${n} bytes inserted at ${at}`;
      break;
    }
    case 'header': detail = header(rng, format, bytes); break;
    case 'structure': ({ bytes, detail } = structure(rng, format, bytes)); break;
    case 'dims': detail = dims(rng, format, bytes, base); break;
    case 'bomb': ({ bytes, detail } = bomb(rng, format, bytes)); break;
    case 'empty': bytes = new Uint8Array(0); detail = '0 bytes'; break;
    case 'garbage': ({ bytes, detail } = garbage(rng, format, bases)); break;
  }
  const tileMode = rng.int(5);
  return {
    seed, index, format, base: base.name, kind, detail, bytes, ext: EXT[format],
    viaBytes: rng.int(4) === 0,
    outExt: pick(rng, ['.png', '.png', '.png', '.png', '.jpg', '.webp'] as const),
    tile: tileMode === 0 ? 0 : tileMode === 1 ? 4 + rng.int(5) : 128,
    tilePad: tileMode === 1 ? 2 + rng.int(3) : 32,
    defaultLimit: kind === 'bomb',
  };
}

/** One line naming a case, for failure reports: enough to replay it. */
export const caseName = (c: Case) => `seed ${c.seed} case ${c.index} (${c.format}/${c.base}, ${c.kind}: ${c.detail})`;
