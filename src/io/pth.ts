// PyTorch checkpoints (.pth/.pt) read without executing them. The pickle is interpreted by our own VM
// (pickle.ts) with an allow-list of globals: OrderedDict, the torch tensor/parameter rebuild functions and the
// typed storage classes; anything else is refused. Both serialisations torch.save writes:
//   zip (torch ≥ 1.6): <dir>/data.pkl with persistent ids ('storage', type, key, location, numel) and the raw
//     little-endian storages in <dir>/data/<key>;
//   legacy: five pickles back to back — magic number, protocol version 1001, sys info, the object (same
//     persistent ids plus view metadata), the list of storage keys — then each storage as an int64 element
//     count and its raw bytes.
// Pure: works on bytes in memory.
import { countNonFinite, type StateDict } from '../engine/host.js';
import { halfToFloat } from '../engine/safetensors.js';
import { OptionError } from '../option-error.js';
import { isTuple, unpickle, type PickleHooks } from './pickle.js';
import { entryData, isZip, readZip } from './zip.js';

export type PthDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const FLOAT_DTYPES = new Set<PthDtype>(['float32', 'float16', 'bfloat16', 'float64']);

const STORAGE_TYPES: Record<string, [PthDtype, number]> = {
  FloatStorage: ['float32', 4],
  HalfStorage: ['float16', 2],
  BFloat16Storage: ['bfloat16', 2],
  DoubleStorage: ['float64', 8],
  LongStorage: ['int64', 8],
  IntStorage: ['int32', 4],
  ShortStorage: ['int16', 2],
  CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1],
  BoolStorage: ['bool', 1],
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

class StorageType {
  constructor(readonly name: string, readonly dtype: PthDtype, readonly itemSize: number) {}
}

/** An allow-listed callable, by its qualified name. */
class Callable {
  constructor(readonly qualname: string) {}
}

const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

interface Storage {
  key: string;
  type: StorageType;
  numel: number;
  /** Raw little-endian bytes, attached once read (legacy files store them after the pickle). */
  bytes?: Uint8Array;
  /** Legacy storage views: a slice of another storage (offset in elements). */
  base?: { storage: Storage; offset: number };
}

/** A tensor of a checkpoint: a strided view of a storage, read (and made contiguous) on demand. */
export class PthTensor {
  private cache?: Float32Array;
  constructor(
    private readonly storage: Storage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}

  get dtype(): PthDtype {
    return this.storage.type.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The values in row-major order, as float32 (float64 rounds to nearest; int64 beyond 2^24 is inexact). */
  get data(): Float32Array {
    this.cache ??= gather(this);
    return this.cache;
  }

  /** @internal */
  bytes(): Uint8Array {
    const s = this.storage;
    if (s.base) {
      const b = s.base.storage.bytes!;
      const size = s.type.itemSize;
      return b.subarray(s.base.offset * size, (s.base.offset + s.numel) * size);
    }
    return s.bytes!;
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function gather(t: PthTensor): Float32Array {
  const bytes = t.bytes();
  const n = t.numel;
  const out = new Float32Array(n);
  if (n === 0) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = reader(t.dtype, view);
  const rank = t.shape.length;
  // Contiguous float32: one copy.
  let contiguous = true;
  for (let d = rank - 1, expect = 1; d >= 0; expect *= t.shape[d], d--) if (t.shape[d] !== 1 && t.stride[d] !== expect) contiguous = false;
  if (contiguous && t.dtype === 'float32' && littleEndianHost) {
    return new Float32Array(bytes.slice(4 * t.offset, 4 * (t.offset + n)).buffer);
  }
  // General strided walk with an odometer over the dimensions.
  const idx = new Array<number>(rank).fill(0);
  let src = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = read(src);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += t.stride[d];
      if (idx[d] < t.shape[d]) break;
      src -= t.stride[d] * t.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

function reader(dtype: PthDtype, v: DataView): (i: number) => number {
  switch (dtype) {
    case 'float32': return (i) => v.getFloat32(4 * i, true);
    case 'float64': return (i) => v.getFloat64(8 * i, true);
    case 'float16': return (i) => halfToFloat(v.getUint16(2 * i, true));
    case 'bfloat16': return (i) => new Float32Array(new Uint32Array([v.getUint16(2 * i, true) << 16]).buffer)[0];
    case 'int64': return (i) => Number(v.getBigInt64(8 * i, true));
    case 'int32': return (i) => v.getInt32(4 * i, true);
    case 'int16': return (i) => v.getInt16(2 * i, true);
    case 'int8': return (i) => v.getInt8(i);
    case 'uint8': return (i) => v.getUint8(i);
    case 'bool': return (i) => (v.getUint8(i) ? 1 : 0);
  }
}

const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const intTuple = (v: unknown): v is readonly number[] => isTuple(v) && v.every((x) => isInt(x));

/** The hooks that turn a torch pickle into maps, lists and PthTensors; storages are collected by key. */
class TorchUnpickler implements PickleHooks {
  readonly storages = new Map<string, Storage>();

  constructor(private readonly attach?: (s: Storage) => void) {}

  global(module: string, name: string): unknown {
    const qualname = `${module}.${name}`;
    if (CALLABLES.has(qualname)) return new Callable(qualname);
    if (module === 'torch' && name in STORAGE_TYPES) return new StorageType(name, ...STORAGE_TYPES[name]);
    throw new Error(`refusing to load: ${qualname} is not a tensor/state_dict type (only plain state_dicts are read; a pickled nn.Module or other Python objects are not)`);
  }

  call(fn: unknown, args: readonly unknown[]): unknown {
    if (!(fn instanceof Callable)) {
      throw new Error(`refusing to load: the pickle calls ${fn instanceof StorageType ? `torch.${fn.name}` : 'a non-function value'}, which a state_dict never does`);
    }
    switch (fn.qualname) {
      case 'collections.OrderedDict': {
        const d = new Map<unknown, unknown>();
        if (args.length === 0) return d;
        const items = args[0];
        if (args.length === 1 && Array.isArray(items) && items.every((p) => isTuple(p) && p.length === 2)) {
          for (const [k, v] of items as [unknown, unknown][]) d.set(k, v);
          return d;
        }
        throw new Error('pickle is corrupt: OrderedDict called with unexpected arguments');
      }
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2':
        return this.tensor(args);
      default: {
        // _rebuild_parameter(data, requires_grad, hooks[, state]): the tensor is all a state_dict needs.
        if (!(args[0] instanceof PthTensor)) throw new Error(`pickle is corrupt: ${fn.qualname} without a tensor`);
        return args[0];
      }
    }
  }

  build(obj: unknown, _state: unknown): unknown {
    // OrderedDict state_dicts carry a `_metadata` attribute (per-module versions); it is not needed.
    if (obj instanceof Map) return obj;
    throw new Error('refusing to load: the pickle sets attributes on an object that is not a state_dict');
  }

  persistentLoad(pid: unknown): unknown {
    const bad = () => new Error(`pickle is corrupt: unexpected persistent id ${describe(pid)}`);
    if (!isTuple(pid) || pid.length < 5 || pid[0] !== 'storage') throw bad();
    const [, type, key, location, numel, view] = pid;
    if (!(type instanceof StorageType) || typeof key !== 'string' || typeof location !== 'string' || !isInt(numel)) throw bad();
    let s = this.storages.get(key);
    if (!s) {
      s = { key, type, numel };
      this.storages.set(key, s);
      this.attach?.(s);
    } else if (s.type.dtype !== type.dtype || s.numel !== numel) {
      throw new Error(`pickle is corrupt: storage ${key} is described twice with different types or sizes`);
    }
    if (view === undefined || view === null) return s;
    // Legacy view of a storage: (view_key, offset, numel), in elements.
    if (!isTuple(view) || view.length !== 3 || typeof view[0] !== 'string' || !isInt(view[1]) || !isInt(view[2])) throw bad();
    const [vkey, off, vn] = view as [string, number, number];
    if (off + vn > numel) throw new Error(`pickle is corrupt: storage view ${vkey} lies outside storage ${key}`);
    return { key: vkey, type, numel: vn, base: { storage: s, offset: off } } satisfies Storage;
  }

  private tensor(args: readonly unknown[]): PthTensor {
    const [storage, offset, size, stride] = args;
    if (!storage || typeof storage !== 'object' || !('type' in storage) || !((storage as Storage).type instanceof StorageType)) {
      throw new Error('pickle is corrupt: a tensor is rebuilt from something that is not a storage');
    }
    if (!isInt(offset) || !intTuple(size) || !intTuple(stride) || size.length !== stride.length) {
      throw new Error(`pickle is corrupt: tensor with offset ${describe(offset)}, size ${describe(size)}, stride ${describe(stride)}`);
    }
    const s = storage as Storage;
    const n = size.reduce((a, b) => a * b, 1);
    const last = offset + size.reduce((a, d, i) => a + (d - 1) * stride[i], 0);
    if (n > 0 && last >= s.numel) {
      throw new Error(`pickle is corrupt: a tensor of size [${size.join(', ')}] at offset ${offset} reaches element ${last} of a ${s.numel}-element storage`);
    }
    // More elements than its storage means overlapping (e.g. stride-0, expanded) views: a few bytes could
    // describe billions of values. Saved weights never need them.
    if (n > s.numel) {
      throw new Error(`refusing to load: a tensor of size [${size.join(', ')}] (${n} values) repeats the ${s.numel} values of its storage (an expanded view); save the state_dict with contiguous tensors`);
    }
    return new PthTensor(s, offset, [...size], [...stride]);
  }
}

/** Hooks for the legacy header pickles and key list: plain data only. */
const plainData: PickleHooks = {
  global: (m, n) => {
    throw new Error(`refusing to load: ${m}.${n} is not a tensor/state_dict type`);
  },
  call: () => {
    throw new Error('pickle is corrupt: a call in plain data');
  },
  build: () => {
    throw new Error('pickle is corrupt: BUILD in plain data');
  },
  persistentLoad: () => {
    throw new Error('pickle is corrupt: a persistent id in plain data');
  },
};

function describe(v: unknown, depth = 0): string {
  if (isTuple(v) || Array.isArray(v)) return depth > 2 ? '(…)' : `(${v.map((x) => describe(x, depth + 1)).join(', ')})`;
  if (v instanceof StorageType) return `torch.${v.name}`;
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

export interface PthFile {
  format: 'zip' | 'legacy';
  /** The unpickled object: Maps (dicts), arrays (lists; tuples frozen), primitives and PthTensors. */
  root: unknown;
}

/** Parse a .pth held in memory. `name` (e.g. the path) prefixes error messages. */
export function parsePth(input: Uint8Array, name = '<buffer>'): PthFile {
  // A plain view, so that `.slice()` copies even when given a Node Buffer (whose slice is a view).
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  try {
    if (isZip(bytes)) return { format: 'zip', root: parseZip(bytes) };
    if (bytes.length >= 2 && bytes[0] === 0x80) return { format: 'legacy', root: parseLegacy(bytes) };
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  if (bytes.length >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar') {
    throw new Error(`${name}: a tar-format checkpoint (PyTorch < 0.4) is not supported; re-save it with a current torch.save`);
  }
  throw new Error(`${name}: not a PyTorch checkpoint (neither a zip archive nor a pickle${bytes.length ? '' : '; the file is empty'})`);
}

function parseZip(bytes: Uint8Array): unknown {
  const entries = readZip(bytes);
  const pkl = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl.length !== 1) {
    if ([...entries.keys()].some((n) => n.endsWith('/constants.pkl'))) throw new Error('this is a TorchScript archive (torch.jit.save), not a state_dict');
    throw new Error(pkl.length ? 'zip archive holds several data.pkl files' : 'zip archive has no <name>/data.pkl: not a PyTorch checkpoint');
  }
  const dir = pkl[0].slice(0, -'data.pkl'.length);
  const order = entries.get(`${dir}byteorder`);
  if (order) {
    const text = new TextDecoder().decode(entryData(bytes, order));
    if (text !== 'little') throw new Error(`checkpoint byte order is '${text}'; only little-endian checkpoints are supported`);
  }
  const vm = new TorchUnpickler((s) => {
    const entry = entries.get(`${dir}data/${s.key}`);
    if (!entry) throw new Error(`zip archive lacks the data of storage ${s.key} (${dir}data/${s.key})`);
    const want = s.numel * s.type.itemSize;
    if (entry.size !== want) throw new Error(`storage ${s.key} has ${entry.size} bytes, but ${s.numel} × ${s.type.name} elements need ${want}`);
    s.bytes = entryData(bytes, entry);
  });
  return unpickle(entryData(bytes, entries.get(pkl[0])!), 0, vm).value;
}

function parseLegacy(bytes: Uint8Array): unknown {
  let r = unpickle(bytes, 0, plainData);
  if (r.value !== LEGACY_MAGIC) throw new Error('a pickle, but not a PyTorch checkpoint (no torch.save magic number)');
  r = unpickle(bytes, r.end, plainData);
  if (r.value !== LEGACY_PROTOCOL) throw new Error(`unsupported legacy protocol version ${describe(r.value)} (expected ${LEGACY_PROTOCOL})`);
  r = unpickle(bytes, r.end, plainData);
  const info = r.value;
  if (!(info instanceof Map)) throw new Error('legacy checkpoint header (sys info) is not a dict');
  if (info.get('little_endian') === false) throw new Error('checkpoint was written on a big-endian machine; only little-endian checkpoints are supported');
  const vm = new TorchUnpickler();
  r = unpickle(bytes, r.end, vm);
  const root = r.value;
  r = unpickle(bytes, r.end, plainData);
  const keys = r.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new Error('legacy checkpoint: the storage key list is not a list of strings');

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = r.end;
  for (const key of keys as string[]) {
    const s = vm.storages.get(key);
    if (!s) throw new Error(`legacy checkpoint lists storage ${key}, which no tensor uses`);
    if (pos + 8 > bytes.length) throw new Error(`file is truncated: it ends before the data of storage ${key}`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(s.numel)) throw new Error(`legacy checkpoint is corrupt: storage ${key} has ${count} elements, but its tensors expect ${s.numel}`);
    const len = s.numel * s.type.itemSize;
    pos += 8;
    if (pos + len > bytes.length) throw new Error(`file is truncated: storage ${key} needs ${len} bytes but only ${bytes.length - pos} remain`);
    s.bytes = bytes.subarray(pos, pos + len);
    pos += len;
  }
  for (const s of vm.storages.values()) if (!s.bytes) throw new Error(`legacy checkpoint lacks the data of storage ${s.key}`);
  return root;
}

// ---- picking the state dict ----

/** Keys under which training scripts commonly nest the weights, in the order we try them. */
const CONTAINER_KEYS = ['state_dict', 'model', 'model_state_dict', 'params', 'params_ema', 'net', 'network', 'generator', 'netG'];

const isStateDict = (v: unknown): v is Map<string, PthTensor> =>
  v instanceof Map && v.size > 0 && [...v].every(([k, t]) => typeof k === 'string' && t instanceof PthTensor);

function keysOf(v: unknown): string {
  return v instanceof Map ? [...v.keys()].map((k) => `'${String(k)}'`).join(', ') || '(none)' : `(a ${Array.isArray(v) ? 'list' : typeof v}, not a dict)`;
}

/**
 * The state dict in a checkpoint: the root itself, the value under `key` ('a/b' walks nested dicts), or the
 * first of the common container keys (`state_dict`, `model`, `params`, …) that holds one.
 */
export function findStateDict(root: unknown, key?: string): { path: string; dict: Map<string, PthTensor> } {
  if (key !== undefined) {
    let v = root;
    const walked: string[] = [];
    for (const k of key.split('/')) {
      if (!(v instanceof Map) || !v.has(k)) {
        const at = walked.length ? `'${walked.join('/')}'` : 'the checkpoint';
        throw new OptionError('key', `key '${key}': ${at} has no key '${k}' (keys: ${keysOf(v)})`);
      }
      v = v.get(k);
      walked.push(k);
    }
    if (!isStateDict(v)) throw new OptionError('key', `key '${key}': that value is not a state_dict (a dict of tensors); its keys: ${keysOf(v)}`);
    return { path: key, dict: v };
  }
  const search = (v: unknown, path: string[]): { path: string; dict: Map<string, PthTensor> } | undefined => {
    if (isStateDict(v)) return { path: path.join('/'), dict: v };
    if (!(v instanceof Map) || path.length >= 3) return undefined;
    for (const k of CONTAINER_KEYS) if (v.has(k)) {
      const found = search(v.get(k), [...path, k]);
      if (found) return found;
    }
    return undefined;
  };
  const found = search(root, []);
  if (!found) throw new OptionError('key', `no state_dict found in the checkpoint (top-level keys: ${keysOf(root)}); give the key that holds it`);
  return found;
}

export interface Converted {
  tensors: StateDict;
  /** Whether a DataParallel `module.` prefix was removed from every name. */
  stripped: boolean;
  /** Integer bookkeeping buffers left out (BatchNorm `num_batches_tracked`). */
  dropped: string[];
}

/** Float32 tensors with PyTorch names, `module.` stripped when every name has it. */
export function toStateDict(dict: Map<string, PthTensor>): Converted {
  const names = [...dict.keys()];
  const stripped = names.every((n) => n.startsWith('module.'));
  const tensors: StateDict = new Map();
  const dropped: string[] = [];
  for (const [name, t] of dict) {
    const out = stripped ? name.slice('module.'.length) : name;
    if (!FLOAT_DTYPES.has(t.dtype)) {
      if (out.endsWith('num_batches_tracked')) {
        dropped.push(out);
        continue;
      }
      throw new Error(`tensor ${name} has dtype ${t.dtype}; only floating-point weights can be converted`);
    }
    const n = countNonFinite(t.data);
    if (n) {
      throw new Error(`tensor '${name}' has ${n} non-finite value${n === 1 ? '' : 's'} (NaN/Inf${t.dtype === 'float64' ? ', or beyond the float32 range' : ''}); the file is corrupt or from a diverged training run`);
    }
    tensors.set(out, { shape: [...t.shape], data: t.data });
  }
  return { tensors, stripped, dropped };
}
