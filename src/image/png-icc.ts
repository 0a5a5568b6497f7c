// Attach an ICC profile to a PNG without touching its pixels (iCCP chunk after IHDR).
// sharp can only attach a profile by colour-converting to it; we want the original bytes back as they were.
import { crc32, deflateSync } from 'node:zlib';

const SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

/** Returns a copy of `png` with `icc` embedded (replacing any iCCP / sRGB chunk). */
export function pngWithIcc(png: Uint8Array, icc: Uint8Array): Buffer {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (buf.length < 33 || SIG.some((b, i) => buf[i] !== b)) throw new Error('not a PNG stream');
  const parts: Buffer[] = [buf.subarray(0, 8)];
  let at = 8;
  while (at + 12 <= buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const end = at + 12 + len;
    if (end > buf.length) throw new Error('truncated PNG stream');
    if (type !== 'iCCP' && type !== 'sRGB') parts.push(buf.subarray(at, end));
    if (type === 'IHDR') {
      const payload = Buffer.concat([Buffer.from('ICC profile\0\0', 'latin1'), deflateSync(icc)]);
      parts.push(chunk('iCCP', payload));
    }
    at = end;
  }
  return Buffer.concat(parts);
}
