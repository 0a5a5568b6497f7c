// A minimal zip reader for PyTorch checkpoints: the central directory (with zip64 records, which torch always
// writes), stored entries only (torch never compresses), CRC-32 checked. Pure: works on bytes in memory.
import { crc32 } from './crc32.js';

export interface ZipEntry {
  name: string;
  /** Offset of the entry's data in the archive. */
  start: number;
  size: number;
  crc: number;
  method: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** The archive's entries by name. Throws a sentence (without the file name) when the archive is damaged. */
export function readZip(bytes: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (p: number) => view.getUint16(p, true);
  const u32 = (p: number) => view.getUint32(p, true);
  const u64 = (p: number) => {
    const v = view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('zip archive has an absurd 64-bit size or offset');
    return Number(v);
  };

  // End of central directory: the last 22 bytes unless there is a comment (up to 64 KiB).
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 0xffff); p--) {
    if (u32(p) === SIG_EOCD && p + 22 + u16(p + 20) === bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new Error('zip archive is incomplete: its end-of-central-directory record is missing (truncated file?)');
  let count = u16(eocd + 10);
  let cdSize = u32(eocd + 12);
  let cdStart = u32(eocd + 16);
  const loc = eocd - 20;
  if (loc >= 0 && u32(loc) === SIG_EOCD64_LOCATOR) {
    const rec = u64(loc + 8);
    if (rec + 56 > bytes.length || u32(rec) !== SIG_EOCD64) throw new Error('zip archive is corrupt: bad zip64 end-of-central-directory record');
    count = u64(rec + 32);
    cdSize = u64(rec + 40);
    cdStart = u64(rec + 48);
  }
  if (cdStart + cdSize > bytes.length) throw new Error('zip archive is corrupt: its central directory lies beyond the end of the file');

  const entries = new Map<string, ZipEntry>();
  let p = cdStart;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdStart + cdSize || u32(p) !== SIG_CENTRAL) throw new Error(`zip archive is corrupt: central directory entry ${i} is damaged`);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let size = u32(p + 24);
    let usize = u32(p + 20);
    const nameLen = u16(p + 28);
    const extraLen = u16(p + 30);
    const commentLen = u16(p + 32);
    let local = u32(p + 42);
    if (p + 46 + nameLen + extraLen + commentLen > cdStart + cdSize) throw new Error(`zip archive is corrupt: central directory entry ${i} is damaged`);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field (id 1): the 0xFFFFFFFF fields, in the order uncompressed size, compressed size, offset.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = u16(e);
      const len = u16(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (usize === 0xffffffff) (usize = u64(q)), (q += 8);
        if (size === 0xffffffff) (size = u64(q)), (q += 8);
        if (local === 0xffffffff) local = u64(q);
      }
      e += 4 + len;
    }
    if (local + 30 > bytes.length || u32(local) !== SIG_LOCAL) throw new Error(`zip archive is corrupt: the local header of ${name} is missing`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + size > bytes.length) throw new Error(`zip archive is truncated: ${name} needs bytes up to ${start + size} but the file has ${bytes.length}`);
    if (method === 0 && usize !== size) throw new Error(`zip archive is corrupt: stored entry ${name} has two different sizes`);
    entries.set(name, { name, start, size, crc, method });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The bytes of a stored entry (a view into `bytes`), after checking its CRC-32. */
export function entryData(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  if (entry.method !== 0) {
    throw new Error(`zip entry ${entry.name} is compressed (method ${entry.method}); PyTorch writes uncompressed archives, so this file was repacked by another tool`);
  }
  const data = bytes.subarray(entry.start, entry.start + entry.size);
  if (crc32(data) !== entry.crc) throw new Error(`zip entry ${entry.name} is corrupt (CRC-32 mismatch)`);
  return data;
}

