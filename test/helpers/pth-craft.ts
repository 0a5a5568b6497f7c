// A tiny pickle writer and torch.save containers (legacy, zip), to craft PyTorch checkpoints byte by byte.
import { crc32 } from '../../src/io/crc32.js';

export const enc = new TextEncoder();
export const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
export const P = {
  proto: [0x80, 2],
  stop: [0x2e],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  reduce: [0x52],
  none: [0x4e],
  newfalse: [0x89],
  emptyDict: [0x7d],
  setitems: [0x75],
  str: (s: string) => [0x58, ...u32(enc.encode(s).length), ...enc.encode(s)],
  int: (n: number) => (n < 256 ? [0x4b, n] : [0x4d, n & 0xff, n >> 8]),
  global: (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)],
  ints: (xs: number[]) => [0x28, ...xs.flatMap(P.int), 0x74],
};

export interface FakeTensor {
  name: string;
  storage: string; // e.g. 'HalfStorage'
  key: string;
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
  parameter?: boolean;
}

/** _rebuild_tensor_v2(pid, offset, size, stride, False, OrderedDict()), optionally wrapped as a Parameter. */
export function tensorOps(t: FakeTensor, legacy: boolean): number[] {
  const pid = [...P.mark, ...P.str('storage'), ...P.global('torch', t.storage), ...P.str(t.key), ...P.str('cpu'), ...P.int(t.numel), ...(legacy ? P.none : []), ...P.tuple, 0x51];
  const hooks = [...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce];
  const rebuild = [...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark, ...pid, ...P.int(t.offset), ...P.ints(t.size), ...P.ints(t.stride), ...P.newfalse, ...hooks, ...P.tuple, ...P.reduce];
  if (!t.parameter) return rebuild;
  return [...P.global('torch._utils', '_rebuild_parameter'), ...P.mark, ...rebuild, ...P.newfalse, ...hooks, ...P.tuple, ...P.reduce];
}

/** {'epoch': 7, 'params': OrderedDict(tensors)} */
export function checkpointPickle(tensors: FakeTensor[], legacy: boolean): Uint8Array {
  const sd = [...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce, ...P.mark, ...tensors.flatMap((t) => [...P.str(t.name), ...tensorOps(t, legacy)]), ...P.setitems];
  return new Uint8Array([...P.proto, ...P.emptyDict, ...P.mark, ...P.str('epoch'), ...P.int(7), ...P.str('params'), ...sd, ...P.setitems, ...P.stop]);
}

export function legacyFile(main: Uint8Array, storages: { key: string; numel: number; bytes: Uint8Array }[]): Uint8Array {
  const magic = [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const version = [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e];
  const sysInfo = [...P.proto, ...P.emptyDict, ...P.mark, ...P.str('protocol_version'), ...P.int(1001), ...P.str('little_endian'), 0x88, ...P.setitems, ...P.stop];
  const keys = [...P.proto, 0x5d, ...P.mark, ...storages.flatMap((s) => P.str(s.key)), 0x65, ...P.stop];
  const data = storages.flatMap((s) => [...u32(s.numel), 0, 0, 0, 0, ...s.bytes]);
  return new Uint8Array([...magic, ...version, ...sysInfo, ...main, ...keys, ...data]);
}

/** A zip with stored entries, as torch writes (without its zip64 records and alignment padding). */
export function zipFile(files: [string, Uint8Array][]): Uint8Array {
  const local: number[] = [];
  const central: number[] = [];
  const u16 = (n: number) => [n & 0xff, n >> 8];
  for (const [name, data] of files) {
    const n = enc.encode(name);
    const common = [...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(crc32(data)), ...u32(data.length), ...u32(data.length), ...u16(n.length), ...u16(0)];
    central.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...common, ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(local.length), ...n);
    local.push(...u32(0x04034b50), ...u16(20), ...common, ...n);
    for (const b of data) local.push(b); // not push(...data): large entries would overflow the call stack
  }
  const eocd = [...u32(0x06054b50), 0, 0, 0, 0, ...u16(files.length), ...u16(files.length), ...u32(central.length), ...u32(local.length), 0, 0];
  return new Uint8Array([...local, ...central, ...eocd]);
}
