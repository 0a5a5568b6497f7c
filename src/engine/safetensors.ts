// Safetensors reader/writer (https://huggingface.co/docs/safetensors): 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}, then the
// raw little-endian data. We write F32; we read F32/F16/BF16/F64, converting to float32.
// Reading refuses, with one message naming the file, anything malformed (the tensors must tile the data section
// exactly; no name twice) and any NaN/Inf value: every way weights enter lightsr (loadModel, --init, --resume,
// the web page) reads through parseSafetensors.
//
// The codec (`parseSafetensors`, `encodeSafetensors`) is pure and works in browsers; the file functions use
// Node's fs, fetched at call time so that bundlers never see a static `node:fs` import.
import { type StateDict, assertFinite, fmtShape, numel } from './host.js';

export interface SafetensorsFile {
  tensors: StateDict;
  metadata: Record<string, string>;
}

/** Headers above this size are treated as corrupt (the reference implementation uses the same limit). */
const MAX_HEADER = 100 * 1024 * 1024;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** Valid safetensors dtypes that lightsr does not convert. */
const OTHER_DTYPES = new Set(['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64', 'F8_E4M3', 'F8_E5M2']);

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decode a safetensors file held in memory. `name` (e.g. the path) is used in error messages. */
export function parseSafetensors(input: Uint8Array, name = '<buffer>'): SafetensorsFile {
  // A plain view, so that `.slice()` copies even when given a Node Buffer (whose slice is a view).
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (why: string): never => {
    throw new Error(`${name}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`file too short (${bytes.length} bytes; the 8-byte header length is missing)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen < 2 || headerLen > MAX_HEADER) fail(`header length ${headerLen} is absurd (file is ${bytes.length} bytes)`);
  if (8 + headerLen > bytes.length) fail(`header length ${headerLen} goes beyond the end of the file (${bytes.length} bytes)`);

  let header: unknown;
  let headerText = '';
  try {
    headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(headerText);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  // JSON.parse keeps the last of repeated keys silently; a file naming a tensor twice is ambiguous.
  const repeated = repeatedKey(headerText);
  if (repeated) fail(repeated.top ? `tensor "${repeated.key}" is listed twice in the header` : `the header repeats the key "${repeated.key}" inside one entry`);
  const entries = header as Record<string, unknown>;

  const metadata: Record<string, string> = {};
  const meta = entries.__metadata__;
  if (meta !== undefined) {
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail('__metadata__ is not an object');
    for (const [k, v] of Object.entries(meta as object)) {
      if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
      metadata[k] = v as string;
    }
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  // Check the whole header before decoding anything.
  const specs: { key: string; dt: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [key, raw] of Object.entries(entries)) {
    if (key === '__metadata__') continue;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`entry "${key}" is not an object`);
    const { dtype, shape, data_offsets: offs } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') fail(`tensor "${key}" has no dtype`);
    const dt = dtype as string;
    if (!(dt in DTYPE_BYTES)) {
      if (OTHER_DTYPES.has(dt)) fail(`tensor "${key}" has dtype ${dt}; lightsr reads only F32, F16, BF16 and F64`);
      fail(`tensor "${key}" has unknown dtype "${dt}"`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor "${key}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const shp = shape as number[];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      fail(`tensor "${key}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const want = numel(shp) * DTYPE_BYTES[dt];
    if (end - begin !== want) {
      fail(`tensor "${key}" (${dt} ${fmtShape(shp)}) needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLen) {
      fail(`data is truncated or offsets are out of range: tensor "${key}" needs bytes [${begin}, ${end}) but the data section has ${dataLen} bytes`);
    }
    specs.push({ key, dt, shape: shp, begin, end });
  }

  // The tensors must tile the data section exactly: no overlap, no gap, nothing after the last one.
  const spans = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    if (s.begin < at) {
      const p = spans[i - 1];
      fail(`tensors "${p.key}" [${p.begin}, ${p.end}) and "${s.key}" [${s.begin}, ${s.end}) overlap`);
    }
    if (s.begin > at) fail(`bytes [${at}, ${s.begin}) of the data section belong to no tensor (before "${s.key}")`);
    at = s.end;
  }
  if (at !== dataLen) fail(`${dataLen - at} bytes after the last tensor belong to no tensor (the data section has ${dataLen} bytes, the tensors cover ${at})`);

  const tensors: StateDict = new Map();
  for (const { key, dt, shape, begin, end } of specs) {
    const data = decode(bytes.subarray(dataStart + begin, dataStart + end), dt);
    assertFinite(name, key, data, dt === 'F64' ? ', or beyond the float32 range' : '');
    tensors.set(key, { shape: [...shape], data });
  }
  return { tensors, metadata };
}

/** The first key that one object of `text` (valid JSON) holds twice; `top`: in the outermost object. */
function repeatedKey(text: string): { key: string; top: boolean } | undefined {
  const open: (Set<string> | null)[] = []; // the keys seen in each open object (null: an array)
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const keys = open[open.length - 1];
      if (keyNext && keys) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys.has(key)) return { key, top: open.length === 1 };
        keys.add(key);
        keyNext = false;
      }
      i = j;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(null);
      keyNext = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      keyNext = false;
    } else if (c === ',') {
      keyNext = open[open.length - 1] !== null;
    }
  }
  return undefined;
}

function decode(b: Uint8Array, dtype: string): Float32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (dtype) {
    case 'F32': {
      if (littleEndianHost) return new Float32Array(b.slice().buffer);
      const out = new Float32Array(b.length / 4);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(b.length / 8);
      for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(b.length / 2);
      for (let i = 0; i < bits.length; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    default: {
      const out = new Float32Array(b.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
  }
}

/** IEEE 754 half-precision bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero / subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Encode a state dict as F32 safetensors bytes (tensors in map order, header padded to 8 bytes). */
export function encodeSafetensors(sd: StateDict, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata "${k}" must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [key, t] of sd) {
    if (key === '__metadata__' || key === '') throw new Error(`cannot save a tensor named "${key}" in safetensors`);
    if (!(t.data instanceof Float32Array)) throw new Error(`tensor "${key}" is not float32 data`);
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`tensor "${key}" has ${t.data.length} values but its shape ${fmtShape(t.shape)} needs ${numel(t.shape)}`);
    }
    header[key] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * t.data.length] };
    offset += 4 * t.data.length;
  }
  const text = JSON.stringify(header);
  const raw = new TextEncoder().encode(text);
  const json = new TextEncoder().encode(text + ' '.repeat((8 - (raw.length % 8)) % 8));
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const t of sd.values()) {
    if (littleEndianHost) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(p + 4 * i, t.data[i], true);
    p += t.data.byteLength;
  }
  return out;
}

// ---- files (Node only) ----

type Fs = typeof import('node:fs');
type Path = typeof import('node:path');

function node(): { fs: Fs; path: Path } {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new Error('safetensors file access needs Node.js ≥ 20.16; in a browser use parseSafetensors(bytes)');
  }
  return { fs: proc.getBuiltinModule('node:fs'), path: proc.getBuiltinModule('node:path') };
}

function readBytesSync(file: string): Uint8Array {
  const { fs } = node();
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file}: weights file not found`);
    if (code === 'EISDIR') throw new Error(`${file}: is a directory, not a safetensors file`);
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
}

export function readSafetensorsSync(file: string): SafetensorsFile {
  return parseSafetensors(readBytesSync(file), file);
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readSafetensorsBytes(file), file);
}

/** The raw bytes of a safetensors file (parse them with parseSafetensors). */
export async function readSafetensorsBytes(file: string): Promise<Uint8Array> {
  const { fs } = node();
  try {
    return await fs.promises.readFile(file);
  } catch {
    return readBytesSync(file); // re-raise with the same clear message
  }
}

let tmpCounter = 0;
function tempPath(path: Path, file: string): string {
  const tag = `${process.pid}.${Date.now().toString(36)}.${tmpCounter++}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${tag}.tmp`);
}

/** Write atomically: a temp file in the same directory, then rename over `file`. */
export function writeSafetensorsSync(file: string, sd: StateDict, metadata?: Record<string, string>): void {
  const { fs, path } = node();
  const bytes = encodeSafetensors(sd, metadata);
  const tmp = tempPath(path, file);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write safetensors (${(e as Error).message})`);
  }
}

export async function writeSafetensors(file: string, sd: StateDict, metadata?: Record<string, string>): Promise<void> {
  const { fs, path } = node();
  const bytes = encodeSafetensors(sd, metadata);
  const tmp = tempPath(path, file);
  try {
    await fs.promises.writeFile(tmp, bytes);
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw new Error(`${file}: cannot write safetensors (${(e as Error).message})`);
  }
}

