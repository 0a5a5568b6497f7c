// `lightsr convert`: PyTorch checkpoints (legacy and zip) → safetensors, read by our own pickle VM.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertPth } from '../src/io/convert.js';
import { register } from '../src/cli/convert.js';
import type { StateDict } from '../src/engine/host.js';
import { readSafetensorsSync } from '../src/engine/safetensors.js';
import { getOps } from '../src/engine/select.js';
import { findStateDict, parsePth, toStateDict } from '../src/io/pth.js';
import '../src/models/index.js';
import { loadModel } from '../src/models/load.js';
import { cliOutput } from './helpers/cli.js';
import { checkpointPickle, enc, legacyFile, P, zipFile, type FakeTensor } from './helpers/pth-craft.js';

const shared = path.resolve(import.meta.dirname, '../../shared');
const pth = (f: string) => path.join(shared, 'reference/pth', f);
const ref = (f: string) => path.join(shared, 'reference/weights', f);

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameTensors(got: StateDict, want: StateDict): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, w] of want) {
    const g = got.get(k)!;
    expect(g.shape, k).toEqual(w.shape);
    expect(bytesOf(g.data).equals(bytesOf(w.data)), `${k} values`).toBe(true);
  }
}

// Storages of the crafted checkpoint: float16 0, 0.5, …, 3 (7 values), float64 1/3, 2/3, int64 5.
const half = new Uint8Array(new Uint16Array([0x0000, 0x3800, 0x3c00, 0x3e00, 0x4000, 0x4100, 0x4200]).buffer);
const f64 = new Uint8Array(new Float64Array([1 / 3, 2 / 3]).buffer);
const i64 = new Uint8Array(new BigInt64Array([5n]).buffer);
const STORAGES = [
  { key: '10', numel: 7, bytes: half },
  { key: '11', numel: 2, bytes: f64 },
  { key: '12', numel: 1, bytes: i64 },
];
const TENSORS: FakeTensor[] = [
  // A transposed view at offset 1: w[i][j] = storage[1 + i + 2j].
  { name: 'module.w', storage: 'HalfStorage', key: '10', numel: 7, offset: 1, size: [2, 3], stride: [1, 2], parameter: true },
  { name: 'module.b', storage: 'DoubleStorage', key: '11', numel: 2, offset: 0, size: [2], stride: [1] },
  { name: 'module.bn.num_batches_tracked', storage: 'LongStorage', key: '12', numel: 1, offset: 0, size: [], stride: [] },
];

function maliciousPickle(marker: string): Uint8Array {
  return new Uint8Array([...P.proto, ...P.global('os', 'system'), ...P.str(`touch ${marker}`), 0x85, ...P.reduce, ...P.stop]);
}

// ---- tests ----

describe('lightsr convert', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-convert-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('IMDN_x4.pth (legacy format) gives exactly the reference tensors', () => {
    const file = parsePth(readFileSync(pth('IMDN_x4.pth')));
    expect(file.format).toBe('legacy');
    const { tensors, stripped } = toStateDict(findStateDict(file.root).dict);
    expect(stripped).toBe(true);
    expectSameTensors(tensors, readSafetensorsSync(ref('imdn_x4.safetensors')).tensors);
  });

  it('HPINet-S-x4.pth (zip format) gives exactly the reference tensors', () => {
    const file = parsePth(readFileSync(pth('HPINet-S-x4.pth')));
    expect(file.format).toBe('zip');
    expectSameTensors(toStateDict(findStateDict(file.root).dict).tensors, readSafetensorsSync(ref('hpinet_s_x4.safetensors')).tensors);
  });

  it('the CLI writes verified weights that run exactly like the reference ones', async () => {
    const out = path.join(tmp, 'imdn_x4.safetensors');
    const stdout = await cliOutput(register, ['convert', pth('IMDN_x4.pth'), '-o', out, '--model', 'imdn', '--scale', '4']);
    expect(stdout).toMatch(/legacy torch\.save format/);
    expect(stdout).toMatch(/92 tensors, 715,176 values, 'module\.' prefix removed/);
    expect(stdout).toMatch(/fits imdn ×4 exactly/);
    const written = readSafetensorsSync(out);
    expect(written.metadata).toMatchObject({ architecture: 'imdn', scale: '4', source: 'IMDN_x4.pth' });
    expectSameTensors(written.tensors, readSafetensorsSync(ref('imdn_x4.safetensors')).tensors);

    const ops = await getOps();
    await expect(loadModel(ops, 'imdn', 2, out)).rejects.toThrow(/×4 weights.*×2 was requested/);
    const mine = await loadModel(ops, 'imdn', 4, out);
    const theirs = await loadModel(ops, 'imdn', 4, ref('imdn_x4.safetensors'));
    const input = Float32Array.from({ length: 3 * 6 * 7 }, (_, i) => ((i * 37) % 101) / 100);
    const run = (m: typeof mine) => {
      const x = ops.tensor(input, [1, 3, 6, 7]);
      const y = m.forward(x);
      const out = { shape: [...y.shape], data: Float32Array.from(ops.readSync(y)) };
      ops.dispose([x, y]);
      return out;
    };
    const a = run(mine);
    const b = run(theirs);
    expect(a.shape).toEqual([1, 3, 24, 28]);
    expect(bytesOf(a.data).equals(bytesOf(b.data))).toBe(true);
    mine.dispose();
    theirs.dispose();
  });

  it('refuses weights that do not fit the named model, and writes nothing', () => {
    const out = path.join(tmp, 'wrong.safetensors');
    expect(() => convertPth(pth('IMDN_x4.pth'), out, { model: 'imdn', scale: 2 })).toThrow(/IMDN_x4\.pth does not fit imdn ×2: .*upsampler/);
    expect(() => convertPth(pth('HPINet-S-x4.pth'), out, { model: 'hpinet-m', scale: 4 })).toThrow(/does not fit hpinet-m ×4/);
    expect(existsSync(out)).toBe(false);
    expect(() => convertPth(pth('IMDN_x4.pth'), pth('IMDN_x4.pth'))).toThrow(/refusing to overwrite the input/);
  });

  it('library errors name no flag; the CLI adds it', async () => {
    const out = path.join(tmp, 'flags.safetensors');
    const noFlag = (fn: () => unknown, re: RegExp) => {
      expect(fn).toThrow(re);
      try { fn(); } catch (e) { expect((e as Error).message).not.toMatch(/--|-o\b/); }
    };
    noFlag(() => convertPth(pth('IMDN_x4.pth'), pth('IMDN_x4.pth')), /choose another output file$/);
    noFlag(() => convertPth(pth('IMDN_x4.pth'), out, { model: 'imdn' }), /^imdn needs a scale to verify against \(one of 2, 3, 4\)$/);
    noFlag(() => convertPth(pth('IMDN_x4.pth'), out, { scale: 4 }), /^a scale needs a model/);
    noFlag(() => convertPth(pth('IMDN_x4.pth'), out, { model: 'imdn', scale: 2.5 }), /^scale must be a positive integer, got 2\.5$/);
    noFlag(() => convertPth(pth('IMDN_x4.pth'), out, { key: 'nope' }), /has no key 'nope'/);
    const cli = (args: string[]) => cliOutput(register, ['convert', pth('IMDN_x4.pth'), '-o', out, ...args]);
    await expect(cli(['--model', 'imdn'])).rejects.toThrow(/needs a scale to verify against \(one of 2, 3, 4\) \(--scale\)$/);
    await expect(cli(['--key', 'nope'])).rejects.toThrow(/has no key 'nope'.* \(--key\)$/);
    await expect(cli(['--model', 'imdn', '-s', 'x'])).rejects.toThrow(/^scale must be a positive integer, got x$/);
    expect(existsSync(out)).toBe(false);
  });

  for (const format of ['legacy', 'zip'] as const) {
    const craft = (main: Uint8Array) =>
      format === 'legacy'
        ? legacyFile(main, STORAGES)
        : zipFile([['ckpt/data.pkl', main], ['ckpt/byteorder', enc.encode('little')], ['ckpt/version', enc.encode('3\n')], ...STORAGES.map((s): [string, Uint8Array] => [`ckpt/data/${s.key}`, s.bytes])]);

    it(`${format}: views, float16/float64, Parameters, a nested 'params' dict and --key`, () => {
      const file = path.join(tmp, `crafted-${format}.pth`);
      writeFileSync(file, craft(checkpointPickle(TENSORS, format === 'legacy')));
      const out = path.join(tmp, `crafted-${format}.safetensors`);
      const r = convertPth(file, out);
      expect(r).toMatchObject({ format, key: 'params', tensors: 2, stripped: true, dropped: ['bn.num_batches_tracked'] });
      const { tensors, metadata } = readSafetensorsSync(out);
      expect(metadata.source_key).toBe('params');
      expect(tensors.get('w')).toEqual({ shape: [2, 3], data: new Float32Array([0.5, 1.5, 2.5, 1, 2, 3]) });
      expect(tensors.get('b')).toEqual({ shape: [2], data: new Float32Array([1 / 3, 2 / 3]) });
      expect(convertPth(file, out, { key: 'params' }).tensors).toBe(2);
      expect(() => convertPth(file, out, { key: 'epoch' })).toThrow(/key 'epoch': that value is not a state_dict/);
      expect(() => convertPth(file, out, { key: 'model' })).toThrow(/has no key 'model' \(keys: 'epoch', 'params'\)/);
    });

    it(`${format}: a pickle calling os.system is refused without running it`, () => {
      const marker = path.join(tmp, `pwned-${format}`);
      const file = path.join(tmp, `evil-${format}.pth`);
      const out = path.join(tmp, `evil-${format}.safetensors`);
      writeFileSync(file, craft(maliciousPickle(marker)));
      expect(() => convertPth(file, out)).toThrow(/refusing to load: os\.system is not a tensor\/state_dict type/);
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('truncated, corrupt and non-checkpoint files get one clear error and no output', () => {
    const out = path.join(tmp, 'bad.safetensors');
    const cases: [string, Uint8Array, RegExp][] = [];
    const legacy = readFileSync(pth('IMDN_x4.pth'));
    const zip = readFileSync(pth('HPINet-S-x4.pth'));
    cases.push(['legacy cut in the pickle', legacy.subarray(0, 5000), /pickle is truncated/]);
    cases.push(['legacy cut in the data', legacy.subarray(0, legacy.length - 100), /file is truncated: storage \d+ needs \d+ bytes/]);
    cases.push(['zip cut', zip.subarray(0, zip.length - 1000), /zip archive is incomplete.*truncated/]);
    const flipped = Uint8Array.from(zip);
    flipped[200_000] ^= 0x10;
    cases.push(['zip with a flipped bit', flipped, /CRC-32 mismatch/]);
    cases.push(['a PNG', readFileSync(path.join(shared, 'data/bench/Set5/HR/baby.png')).subarray(0, 4096), /not a PyTorch checkpoint/]);
    cases.push(['empty', new Uint8Array(0), /not a PyTorch checkpoint.*empty/]);
    for (const [what, bytes, message] of cases) {
      const file = path.join(tmp, 'bad.pth');
      writeFileSync(file, bytes);
      expect(() => convertPth(file, out), what).toThrow(message);
      expect(() => convertPth(file, out), what).toThrow(/^.*bad\.pth: /);
      expect(existsSync(out), what).toBe(false);
    }
  });
});
