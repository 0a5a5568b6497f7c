import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StateDict } from '../src/engine/host.js';
import {
  encodeSafetensors, parseSafetensors, readSafetensors, readSafetensorsSync, writeSafetensors, writeSafetensorsSync,
} from '../src/engine/safetensors.js';

const shared = path.resolve(import.meta.dirname, '../../shared');
const dir = mkdtempSync(path.join(tmpdir(), 'lightsr-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function randomSd(): StateDict {
  const sd: StateDict = new Map();
  const shapes: [string, number[]][] = [['conv.weight', [4, 3, 3, 3]], ['conv.bias', [4]], ['scalar', []], ['empty', [0, 5]], ['ünï.w', [2, 7]]];
  for (const [k, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(k, { shape, data: Float32Array.from({ length: n }, () => Math.random() * 20 - 10) });
  }
  return sd;
}

/** Build a file from a raw header object and a data section. */
function rawFile(header: unknown, data: Uint8Array, headerLen?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function fileWith(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

describe('safetensors', () => {
  it('round-trips a state dict with metadata, atomically', async () => {
    const sd = randomSd();
    const p = path.join(dir, 'rt.safetensors');
    await writeSafetensors(p, sd, { arch: 'test', scale: '4' });
    for (const read of [await readSafetensors(p), readSafetensorsSync(p)]) {
      expect(read.metadata).toEqual({ arch: 'test', scale: '4' });
      expect([...read.tensors.keys()]).toEqual([...sd.keys()]);
      for (const [k, t] of sd) {
        expect(read.tensors.get(k)!.shape).toEqual(t.shape);
        expect(read.tensors.get(k)!.data).toEqual(t.data);
      }
    }
    // header is 8-byte aligned; no temp files are left behind
    const bytes = readFileSync(p);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
    writeSafetensorsSync(p, sd);
    expect(readSafetensorsSync(p).metadata).toEqual({});
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads the official IMDN x4 weights', async () => {
    const { tensors, metadata } = await readSafetensors(path.join(shared, 'reference/weights/imdn_x4.safetensors'));
    expect(tensors.size).toBe(92);
    expect(metadata.arch).toBe('imdn');
    expect(tensors.get('fea_conv.weight')!.shape).toEqual([64, 3, 3, 3]);
    expect(tensors.get('fea_conv.bias')!.shape).toEqual([64]);
    expect(tensors.get('IMDB1.c2.weight')!.shape).toEqual([64, 48, 3, 3]);
    const w = tensors.get('fea_conv.weight')!.data;
    expect(w.length).toBe(64 * 27);
    expect(w.every(Number.isFinite)).toBe(true);
    expect(w.some((v) => v !== 0)).toBe(true);
  });

  it('converts F16, BF16 and F64 to float32', () => {
    const vals = [1, -2.5, 0.099975586, 65504, 0];
    const f16 = new Uint16Array([0x3c00, 0xc100, 0x2e66, 0x7bff, 0x0000]);
    const f64 = new Float64Array(vals);
    const bf16 = new Uint16Array(Array.from(new Float32Array(vals), (v) => new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16));
    const data = new Uint8Array(10 + 10 + 40);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 10);
    data.set(new Uint8Array(f64.buffer), 20);
    const { tensors } = parseSafetensors(rawFile({
      h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
      b: { dtype: 'BF16', shape: [5], data_offsets: [10, 20] },
      d: { dtype: 'F64', shape: [5], data_offsets: [20, 60] },
    }, data));
    const h = tensors.get('h')!.data, b = tensors.get('b')!.data, d = tensors.get('d')!.data;
    for (let i = 0; i < 5; i++) {
      expect(h[i]).toBeCloseTo(vals[i], 3);
      expect(Math.abs(b[i] - vals[i])).toBeLessThanOrEqual(Math.abs(vals[i]) / 128);
      expect(d[i]).toBe(Math.fround(vals[i]));
    }
  });

  describe('clear errors naming the file', () => {
    const good = encodeSafetensors(new Map([['a', { shape: [2, 2], data: new Float32Array(4) }], ['b', { shape: [3], data: new Float32Array(3) }]]));
    const f32 = (n: number) => new Uint8Array(4 * n);
    const cases: [string, Uint8Array, RegExp][] = [
      ['short', new Uint8Array(5), /too short/],
      ['absurd', rawFile('{}', new Uint8Array(0), 2 ** 40), /header length \d+ is absurd/],
      ['beyond', rawFile('{}', new Uint8Array(0), 1000), /beyond the end of the file/],
      ['badjson', rawFile('{"a": {"dtype": "F32",', f32(1)), /not valid UTF-8 JSON/],
      ['unknown-dtype', rawFile({ a: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, f32(1)), /unknown dtype "F17"/],
      ['int-dtype', rawFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, f32(2)), /dtype I64; lightsr reads only F32/],
      ['bad-offsets', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, f32(2)), /invalid data_offsets/],
      ['size-mismatch', rawFile({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] } }, f32(6)), /needs 24 bytes but data_offsets \[0, 16\] span 16/],
      ['out-of-range', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [400, 408] } }, f32(2)), /out of range/],
      ['overlap', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, f32(4)), /"a" \[0, 16\) and "b" \[8, 16\) overlap/],
      ['truncated', good.subarray(0, good.length - 3), /truncated/],
    ];
    for (const [name, bytes, msg] of cases) {
      it(name, () => {
        const p = fileWith(`${name}.safetensors`, bytes);
        expect(() => readSafetensorsSync(p)).toThrow(msg);
        expect(() => readSafetensorsSync(p)).toThrow(p);
      });
    }

    it('missing file', async () => {
      const p = path.join(dir, 'nope.safetensors');
      await expect(readSafetensors(p)).rejects.toThrow(`${p}: weights file not found`);
      expect(() => readSafetensorsSync(p)).toThrow(/not found/);
    });

    it('the untouched file reads fine (controls for the cases above)', () => {
      expect(readSafetensorsSync(fileWith('good.safetensors', good)).tensors.get('b')!.shape).toEqual([3]);
    });

    it('refuses to write a tensor whose data does not match its shape, leaving no file', async () => {
      const p = path.join(dir, 'bad-write.safetensors');
      await expect(writeSafetensors(p, new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]]))).rejects.toThrow(/"w" has 3 values but its shape \[2, 2\] needs 4/);
      expect(readdirSync(dir).some((f) => f.includes('bad-write'))).toBe(false);
    });
  });
});
