// Robustness of every way weights enter lightsr (issue 14): malformed safetensors and .pth files, tensors that do
// not fit the network, and non-finite values (NaN/Inf) each give ONE clear error naming the file, quickly,
// without a crash, a hang or a huge allocation — in-process, and through the real CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { convertPth } from '../src/io/convert.js';
import type { StateDict } from '../src/engine/host.js';
import { encodeSafetensors, parseSafetensors, readSafetensorsSync } from '../src/engine/safetensors.js';
import { createShapeOps } from '../src/eval/complexity.js';
import '../src/models/index.js';
import { getEntry } from '../src/models/index.js';
import { loadModel } from '../src/models/load.js';
import { loadCheckpoint, saveCheckpoint, type TrainState } from '../src/train/checkpoint.js';
import { loadMatching } from '../src/train/trainer.js';
import { referenceWeights, repoRoot } from './helpers/fixtures.js';
import { checkpointPickle, enc, legacyFile, P, u32, zipFile, type FakeTensor } from './helpers/pth-craft.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-robust-w-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every refusal: an Error (not a RangeError from deep inside), one line, naming the file, within a second. */
function expectOneClearError(run: () => unknown, file: string, message: RegExp): void {
  const t0 = performance.now();
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  expect(err, 'no error was thrown').toBeInstanceOf(Error);
  const msg = (err as Error).message;
  expect(err).not.toBeInstanceOf(RangeError);
  expect(err).not.toBeInstanceOf(TypeError);
  expect(msg).toMatch(message);
  expect(msg).toContain(file);
  expect(msg).not.toContain('\n');
  expect(ms).toBeLessThan(1000);
}

// ---- safetensors: mutations of a small valid file ----

type Header = Record<string, unknown>;
const f32bytes = (vals: number[]) => new Uint8Array(new Float32Array(vals).buffer);
const f16bytes = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);
const f64bytes = (vals: number[]) => new Uint8Array(new Float64Array(vals).buffer);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
};

/** header length (8 bytes LE, overridable) + header text + data. */
function stFile(header: Header | string, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  return cat(len, json, data);
}

/** The valid base: a [2, 2] and a [3] F32 tensor, with metadata. */
const baseHeader = (): Header => ({
  __metadata__: { note: 'robustness base' },
  'body.0.c1.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
  'body.0.c1.bias': { dtype: 'F32', shape: [3], data_offsets: [16, 28] },
});
const baseData = () => f32bytes([0.5, -1, 2, 0, 1e-3, -7, 3]);
const withEntry = (key: string, entry: unknown): Header => ({ ...baseHeader(), [key]: entry });
const withWeight = (change: Record<string, unknown>): Header =>
  withEntry('body.0.c1.weight', { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16], ...change });
/** The base with the 7 float32 values replaced. */
const withValues = (vals: number[]) => stFile(baseHeader(), f32bytes(vals));
/** One 2-element tensor 'w' of another dtype. */
const oneTensor = (dtype: string, data: Uint8Array) => stFile({ w: { dtype, shape: [2], data_offsets: [0, data.length] } }, data);

const base = stFile(baseHeader(), baseData());
const headerText = JSON.stringify(baseHeader());

const SAFETENSORS_CASES: [string, Uint8Array, RegExp][] = [
  // header length
  ['empty file', new Uint8Array(0), /too short \(0 bytes/],
  ['7 bytes', base.subarray(0, 7), /too short \(7 bytes/],
  ['header length 0', stFile('', new Uint8Array(0), 0n), /header length 0 is absurd/],
  ['header length 1', stFile('{', new Uint8Array(0), 1n), /header length 1 is absurd/],
  ['header length one past the file', stFile(baseHeader(), new Uint8Array(0), BigInt(headerText.length + 1)), /header length \d+ goes beyond the end of the file/],
  ['header length beyond the file', stFile(baseHeader(), baseData(), 1n << 20n), /header length 1048576 goes beyond the end/],
  ['header length 2^64-1', stFile(baseHeader(), baseData(), (1n << 64n) - 1n), /header length \d+ is absurd/],
  ['header length just over 100 MiB', stFile(baseHeader(), baseData(), 100n * 1024n * 1024n + 1n), /header length 104857601 is absurd/],
  // header text
  ['header not JSON', stFile('this is not json', new Uint8Array(0)), /header is not valid UTF-8 JSON/],
  ['header JSON cut short', stFile(headerText.slice(0, -5), baseData()), /header is not valid UTF-8 JSON/],
  ['header not UTF-8', stFile('{"\xff": 1}', new Uint8Array(0)).map((b, i) => (i === 10 ? 0xff : b)), /header is not valid UTF-8 JSON/],
  ['header is an array', stFile('[1, 2]', new Uint8Array(0)), /header is not a JSON object/],
  ['header is null', stFile('null', new Uint8Array(0)), /header is not a JSON object/],
  ['header is a number', stFile('12', new Uint8Array(0)), /header is not a JSON object/],
  ['header is a string', stFile('"ab"', new Uint8Array(0)), /header is not a JSON object/],
  ['entry is a number', stFile(withEntry('x', 5), baseData()), /entry "x" is not an object/],
  ['entry is an array', stFile(withEntry('x', [1]), baseData()), /entry "x" is not an object/],
  ['__metadata__ is a list', stFile({ ...baseHeader(), __metadata__: ['a'] }, baseData()), /__metadata__ is not an object/],
  ['__metadata__ value not a string', stFile({ ...baseHeader(), __metadata__: { scale: 4 } }, baseData()), /__metadata__\.scale is not a string/],
  ['duplicate tensor name', stFile(headerText.replace('"body.0.c1.bias"', '"body.0.c1.weight"'), baseData()), /tensor "body\.0\.c1\.weight" is listed twice/],
  ['duplicate field in an entry', stFile(headerText.replace('"dtype":"F32"', '"dtype":"F32","dtype":"F16"'), baseData()), /repeats the key "dtype"/],
  // dtypes
  ['no dtype', stFile(withWeight({ dtype: undefined }), baseData()), /tensor "body\.0\.c1\.weight" has no dtype/],
  ['dtype not a string', stFile(withWeight({ dtype: 32 }), baseData()), /has no dtype/],
  ['unknown dtype F17', stFile(withWeight({ dtype: 'F17' }), baseData()), /unknown dtype "F17"/],
  ['dtype in lower case', stFile(withWeight({ dtype: 'f32' }), baseData()), /unknown dtype "f32"/],
  ['dtype I64', stFile(withWeight({ dtype: 'I64', shape: [2] }), baseData()), /dtype I64; lightsr reads only F32, F16, BF16 and F64/],
  ['dtype U8', stFile(withWeight({ dtype: 'U8', shape: [16] }), baseData()), /dtype U8; lightsr reads only/],
  ['dtype BOOL', stFile(withWeight({ dtype: 'BOOL', shape: [16] }), baseData()), /dtype BOOL; lightsr reads only/],
  ['dtype F8_E4M3', stFile(withWeight({ dtype: 'F8_E4M3', shape: [16] }), baseData()), /dtype F8_E4M3; lightsr reads only/],
  // shapes
  ['no shape', stFile(withWeight({ shape: undefined }), baseData()), /invalid shape undefined/],
  ['negative shape', stFile(withWeight({ shape: [-2, -2] }), baseData()), /invalid shape \[-2,-2\]/],
  ['one negative dimension', stFile(withWeight({ shape: [-1, 4] }), baseData()), /invalid shape \[-1,4\]/],
  ['non-integer shape', stFile(withWeight({ shape: [2.5, 1.6] }), baseData()), /invalid shape \[2\.5,1\.6\]/],
  ['shape as text', stFile(withWeight({ shape: '2x2' }), baseData()), /invalid shape "2x2"/],
  ['shape beyond 2^53', stFile(withWeight({ shape: [2 ** 60] }), baseData()), /invalid shape/],
  ['element count disagrees with the bytes', stFile(withWeight({ shape: [2, 3] }), baseData()), /needs 24 bytes but data_offsets \[0, 16\] span 16/],
  ['huge shape', stFile(withWeight({ shape: [2 ** 20, 2 ** 20, 2 ** 10] }), baseData()), /needs \d+ bytes but data_offsets \[0, 16\] span 16/],
  ['zero-size shape over 16 bytes', stFile(withWeight({ shape: [0, 4] }), baseData()), /needs 0 bytes but data_offsets \[0, 16\] span 16/],
  // offsets
  ['no data_offsets', stFile(withWeight({ data_offsets: undefined }), baseData()), /invalid data_offsets undefined/],
  ['end before begin', stFile(withWeight({ data_offsets: [16, 0] }), baseData()), /invalid data_offsets \[16,0\]/],
  ['negative offset', stFile(withWeight({ data_offsets: [-4, 12] }), baseData()), /invalid data_offsets \[-4,12\]/],
  ['three offsets', stFile(withWeight({ data_offsets: [0, 8, 16] }), baseData()), /invalid data_offsets \[0,8,16\]/],
  ['fractional offsets', stFile(withWeight({ data_offsets: [0.5, 16.5] }), baseData()), /invalid data_offsets/],
  ['offsets as text', stFile(withWeight({ data_offsets: ['0', '16'] }), baseData()), /invalid data_offsets/],
  ['offsets past the data', stFile(withWeight({ data_offsets: [400, 416] }), baseData()), /out of range: tensor "body\.0\.c1\.weight" needs bytes \[400, 416\) but the data section has 28 bytes/],
  ['offsets beyond 2^53', stFile(withWeight({ data_offsets: [2 ** 60, 2 ** 60 + 16] }), baseData()), /invalid data_offsets/],
  ['overlapping tensors', stFile(withEntry('body.0.c1.bias', { dtype: 'F32', shape: [3], data_offsets: [8, 20] }), baseData()), /"body\.0\.c1\.weight" \[0, 16\) and "body\.0\.c1\.bias" \[8, 20\) overlap/],
  ['two tensors on the same bytes', stFile(withEntry('body.0.c1.bias', { dtype: 'F32', shape: [4], data_offsets: [0, 16] }), baseData()), /\[0, 16\) and "body\.0\.c1\.(weight|bias)" \[0, 16\) overlap/],
  ['a gap between tensors', stFile(withEntry('body.0.c1.bias', { dtype: 'F32', shape: [2], data_offsets: [20, 28] }), baseData()), /bytes \[16, 20\) of the data section belong to no tensor \(before "body\.0\.c1\.bias"\)/],
  ['data before the first tensor', stFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32bytes([1, 2])), /bytes \[0, 4\) of the data section belong to no tensor/],
  ['bytes after the last tensor', stFile(baseHeader(), cat(baseData(), new Uint8Array(4))), /4 bytes after the last tensor belong to no tensor/],
  ['data cut by 3 bytes', base.subarray(0, base.length - 3), /truncated or offsets are out of range/],
  ['no data at all', stFile(baseHeader(), new Uint8Array(0)), /truncated or offsets are out of range/],
  // non-finite values
  ['NaN in an F32 tensor', withValues([0.5, -1, 2, 0, NaN, -7, 3]), /weights '.*': tensor 'body\.0\.c1\.bias' has 1 non-finite value \(NaN\/Inf\); the file is corrupt or from a diverged training run/],
  ['+Inf in an F32 tensor', withValues([0.5, Infinity, 2, 0, 1, -7, 3]), /tensor 'body\.0\.c1\.weight' has 1 non-finite value/],
  ['-Inf in an F32 tensor', withValues([0.5, 1, 2, 0, 1, -7, -Infinity]), /tensor 'body\.0\.c1\.bias' has 1 non-finite value/],
  ['3 NaN/Inf in one tensor', withValues([NaN, 1, Infinity, -Infinity, 1, -7, 3]), /tensor 'body\.0\.c1\.weight' has 3 non-finite values/],
  ['a signalling NaN bit pattern', stFile(baseHeader(), cat(new Uint8Array([1, 0, 0x80, 0x7f]), baseData().subarray(4))), /tensor 'body\.0\.c1\.weight' has 1 non-finite value/],
  ['NaN in an F16 tensor', oneTensor('F16', f16bytes([0x3c00, 0x7e00])), /tensor 'w' has 1 non-finite value/],
  ['+Inf in an F16 tensor', oneTensor('F16', f16bytes([0x7c00, 0x3c00])), /tensor 'w' has 1 non-finite value/],
  ['Inf in a BF16 tensor', oneTensor('BF16', f16bytes([0x3f80, 0x7f80])), /tensor 'w' has 1 non-finite value/],
  ['NaN in an F64 tensor', oneTensor('F64', f64bytes([1, NaN])), /tensor 'w' has 1 non-finite value/],
  ['F64 beyond the float32 range', oneTensor('F64', f64bytes([1e300, 1])), /tensor 'w' has 1 non-finite value \(NaN\/Inf, or beyond the float32 range\)/],
];

/** Files that must load: the base and finite edge values (not refused by the checks above). */
const SAFETENSORS_CONTROLS: [string, Uint8Array, number][] = [
  ['the base file', base, 2],
  ['finite extremes (max, min subnormal, -0)', withValues([3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0, 0, 1, 2]), 2],
  ['F16 max and subnormal', oneTensor('F16', f16bytes([0x7bff, 0x0001])), 1],
  ['BF16 max', oneTensor('BF16', f16bytes([0x7f7f, 0xff7f])), 1],
  ['F64 within float32', oneTensor('F64', f64bytes([3e38, -1e-40])), 1],
  ['empty tensors and no metadata', stFile({ e: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] }, s: { dtype: 'F32', shape: [], data_offsets: [0, 4] } }, f32bytes([1])), 2],
  ['keys in any order, tensors stored out of order', stFile({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32bytes([1, 2])), 2],
  ['a name with escapes and quotes', stFile({ 'a\\"b{,}': { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'a"b': { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32bytes([1, 2])), 2],
];

describe('malformed safetensors: one clear error naming the file', () => {
  for (const [name, bytes, message] of SAFETENSORS_CASES) {
    it(name, () => {
      const file = path.join(tmp, `st-${name.replace(/\W+/g, '_')}.safetensors`);
      writeFileSync(file, bytes);
      expectOneClearError(() => readSafetensorsSync(file), file, message);
      expectOneClearError(() => parseSafetensors(bytes, 'in-memory.safetensors'), 'in-memory.safetensors', message);
    });
  }

  for (const [name, bytes, count] of SAFETENSORS_CONTROLS) {
    it(`control: ${name} loads`, () => {
      const { tensors } = parseSafetensors(bytes);
      expect(tensors.size).toBe(count);
      for (const t of tensors.values()) expect(t.data.every(Number.isFinite)).toBe(true);
    });
  }

  it('the base file round-trips its values', () => {
    expect(parseSafetensors(base).tensors.get('body.0.c1.bias')!.data).toEqual(new Float32Array([1e-3, -7, 3]));
  });
});

// ---- loadModel: tensors that do not fit the network, NaN/Inf, through the library entry point ----

describe('loadModel refuses weights that do not fit or are not finite', () => {
  const ops = createShapeOps().ops; // name and shape checks need no arithmetic
  const ref = readSafetensorsSync(referenceWeights('imdn_x4.safetensors'));
  const mutate = (f: (sd: StateDict) => void, metadata: Record<string, string> = {}): Uint8Array => {
    const sd: StateDict = new Map([...ref.tensors].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data) }]));
    f(sd);
    return encodeSafetensors(sd, metadata);
  };
  const rename = (sd: StateDict, from: string, to: string) => {
    const entries = [...sd].map(([k, t]): [string, typeof t] => [k === from ? to : k, t]);
    sd.clear();
    for (const [k, t] of entries) sd.set(k, t);
  };

  const cases: [string, Uint8Array, RegExp][] = [
    ['a transposed weight', mutate((sd) => (sd.get('fea_conv.weight')!.shape = [3, 64, 3, 3])), /does not fit imdn ×4: .*fea_conv\.weight: file has \[3, 64, 3, 3\], model expects \[64, 3, 3, 3\]/],
    ['a flattened bias', mutate((sd) => (sd.get('fea_conv.bias')!.shape = [64, 1])), /fea_conv\.bias: file has \[64, 1\], model expects \[64\]/],
    ['a missing tensor', mutate((sd) => sd.delete('fea_conv.bias')), /does not fit imdn ×4: .*missing fea_conv\.bias \[64\]/],
    ['an extra tensor', mutate((sd) => sd.set('extra.weight', { shape: [1], data: new Float32Array(1) })), /unexpected extra\.weight/],
    ['a renamed tensor', mutate((sd) => rename(sd, 'fea_conv.weight', 'feature.weight')), /missing fea_conv\.weight \[64, 3, 3, 3\].*unexpected feature\.weight/],
    ['×2 weights for ×4', readFileSync(referenceWeights('imdn_x2.safetensors')), /holds imdn ×2 weights.*×4 was requested/],
    ['another network', mutate(() => undefined, { architecture: 'rfdn', scale: '4' }), /holds rfdn weights.*not imdn/],
    ['one NaN', mutate((sd) => (sd.get('IMDB3.c2.weight')!.data[5] = NaN)), /weights '.*': tensor 'IMDB3\.c2\.weight' has 1 non-finite value \(NaN\/Inf\)/],
    ['one +Inf', mutate((sd) => (sd.get('upsampler.0.bias')!.data[0] = Infinity)), /tensor 'upsampler\.0\.bias' has 1 non-finite value/],
    ['a tensor all NaN', mutate((sd) => sd.get('fea_conv.bias')!.data.fill(NaN)), /tensor 'fea_conv\.bias' has 64 non-finite values/],
  ];
  for (const [name, bytes, message] of cases) {
    it(name, async () => {
      const file = path.join(tmp, `model-${name.replace(/\W+/g, '_')}.safetensors`);
      writeFileSync(file, bytes);
      const err = await loadModel(ops, 'imdn', 4, file).then(() => undefined, (e: unknown) => e);
      expect(err, 'loadModel accepted the file').toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg).toMatch(message);
      expect(msg).toContain(file);
      expect(msg).not.toContain('\n');
    });
  }

  it('control: the unmutated copy loads', async () => {
    const file = path.join(tmp, 'model-control.safetensors');
    writeFileSync(file, mutate(() => undefined));
    const model = await loadModel(ops, 'imdn', 4, file);
    expect(model.numParams()).toBe(getEntry('imdn', 4).create(ops, 4).numParams());
  });

  it('a missing file and a directory', async () => {
    await expect(loadModel(ops, 'imdn', 4, path.join(tmp, 'nope.safetensors'))).rejects.toThrow(/nope\.safetensors: weights file not found/);
    const dir = path.join(tmp, 'dir.safetensors');
    mkdirSync(dir, { recursive: true });
    await expect(loadModel(ops, 'imdn', 4, dir)).rejects.toThrow(/dir\.safetensors: is a directory/);
  });
});

// ---- training: --resume and --init ----

describe('training checkpoints and --init refuse non-finite weights', () => {
  const state = { version: 1, iteration: 3, ema: null } as unknown as TrainState;
  const t = (vals: number[]) => ({ shape: [vals.length], data: new Float32Array(vals) });
  const save = (name: string, model: number[], optim: number[]) => {
    const file = path.join(tmp, name);
    saveCheckpoint(file, { state, model: new Map([['w', t(model)]]), ema: null, optim: new Map([['0.exp_avg', t(optim)]]) });
    return file;
  };

  it('control: a finite checkpoint resumes', () => {
    const c = loadCheckpoint(save('ok.safetensors', [1, 2], [0, 0.5]));
    expect(c.state.iteration).toBe(3);
    expect(c.model.get('w')!.data).toEqual(new Float32Array([1, 2]));
  });

  it('NaN in the model weights: cannot resume, the tensor named', () => {
    const file = save('nan-model.safetensors', [1, NaN], [0, 0]);
    expectOneClearError(() => loadCheckpoint(file), file, /^cannot resume: weights '.*': tensor 'model\.w' has 1 non-finite value .*diverged training run; start the run again with a lower learning rate \(or from good weights\)$/);
  });

  it('Inf in the optimiser state: cannot resume', () => {
    const file = save('inf-optim.safetensors', [1, 2], [Infinity, 0]);
    expectOneClearError(() => loadCheckpoint(file), file, /^cannot resume: .*tensor 'optim\.0\.exp_avg' has 1 non-finite value/);
  });

  it('a malformed checkpoint keeps its own message', () => {
    const file = path.join(tmp, 'cut-ckpt.safetensors');
    const good = readFileSync(save('to-cut.safetensors', [1, 2], [0, 0]));
    writeFileSync(file, good.subarray(0, good.length - 2));
    expectOneClearError(() => loadCheckpoint(file), file, /not a valid safetensors file: data is truncated/);
  });

  it('--init from weights with a NaN', () => {
    const model = getEntry('imdn', 4).create(createShapeOps().ops, 4);
    const file = path.join(tmp, 'init-nan.safetensors');
    writeFileSync(file, encodeSafetensors(new Map([['fea_conv.bias', { shape: [64], data: new Float32Array(64).fill(NaN) }]])));
    expectOneClearError(() => loadMatching(model, file), file, /tensor 'fea_conv\.bias' has 64 non-finite values/);
  });
});

// ---- .pth (lightsr convert): truncations, hostile pickles, non-finite values ----

/** A float32 [2, 2] weight and a float16 [2] bias, state_dict under 'params'. */
const W: FakeTensor = { name: 'w', storage: 'FloatStorage', key: '0', numel: 4, offset: 0, size: [2, 2], stride: [2, 1] };
const B: FakeTensor = { name: 'b', storage: 'HalfStorage', key: '1', numel: 2, offset: 0, size: [2], stride: [1] };
const wBytes = (vals = [1, 2, 3, 4]) => f32bytes(vals);
const bBytes = (bits = [0x3c00, 0x4000]) => f16bytes(bits);

type Format = 'legacy' | 'zip';
function pthFile(format: Format, pickle: Uint8Array, w = wBytes(), b = bBytes(), extra: [string, Uint8Array][] = []): Uint8Array {
  const storages = [{ key: '0', numel: w.length / 4, bytes: w }, { key: '1', numel: b.length / 2, bytes: b }];
  if (format === 'legacy') return legacyFile(pickle, storages);
  return zipFile([
    ['ckpt/data.pkl', pickle], ['ckpt/byteorder', enc.encode('little')], ['ckpt/version', enc.encode('3\n')],
    ...storages.map((s): [string, Uint8Array] => [`ckpt/data/${s.key}`, s.bytes]), ...extra,
  ]);
}
const goodPickle = (format: Format, tensors = [W, B]) => checkpointPickle(tensors, format === 'legacy');
const bare = (...ops: number[][]) => new Uint8Array([...P.proto, ...ops.flat(), ...P.stop]);
/** `module.name(arg)` via GLOBAL + REDUCE. */
const callGlobal = (module: string, name: string, arg: string) => bare(P.global(module, name), P.str(arg), [0x85], P.reduce);

function pthCases(format: Format): [string, Uint8Array, RegExp][] {
  const good = pthFile(format, goodPickle(format));
  const marker = path.join(tmp, `pwned-${format}`);
  const cases: [string, Uint8Array, RegExp][] = [
    ['cut to 1 byte', good.subarray(0, 1), /not a PyTorch checkpoint \(neither a zip archive nor a pickle\)/],
    ['cut to 100 bytes', good.subarray(0, 100), format === 'zip' ? /zip archive is incomplete/ : /pickle is truncated/],
    ['cut in half', good.subarray(0, good.length >> 1), format === 'zip' ? /zip archive is incomplete/ : /pickle is truncated|file is truncated|storage/],
    ['last byte missing', good.subarray(0, good.length - 1), format === 'zip' ? /zip archive is incomplete/ : /file is truncated: storage 1 needs 4 bytes but only 3 remain/],
    // legacy: the cut pickle runs on into the storage key list, which then makes no sense
    ['truncated pickle', pthFile(format, goodPickle(format).subarray(0, 60)), format === 'zip' ? /pickle is truncated/ : /pickle is corrupt: a string is not valid UTF-8/],
    ['pickle without STOP', pthFile(format, goodPickle(format).subarray(0, goodPickle(format).length - 1)), /pickle is truncated|pickle is corrupt/],
    ['os.system', pthFile(format, callGlobal('os', 'system', `touch ${marker}`)), /refusing to load: os\.system is not a tensor\/state_dict type/],
    ['posix.system', pthFile(format, callGlobal('posix', 'system', `touch ${marker}`)), /refusing to load: posix\.system is not/],
    ['builtins.eval', pthFile(format, callGlobal('builtins', 'eval', `open('${marker}', 'w')`)), /refusing to load: builtins\.eval is not/],
    ['builtins.exec', pthFile(format, callGlobal('builtins', 'exec', `open('${marker}', 'w')`)), /refusing to load: builtins\.exec is not/],
    ['subprocess.Popen', pthFile(format, callGlobal('subprocess', 'Popen', 'true')), /refusing to load: subprocess\.Popen is not/],
    ['builtins.getattr via STACK_GLOBAL', pthFile(format, bare(P.str('builtins'), P.str('getattr'), [0x93])), /refusing to load: builtins\.getattr is not/],
    ['torch.load', pthFile(format, callGlobal('torch', 'load', 'x.pth')), /refusing to load: torch\.load is not/],
    ['calling a storage type', pthFile(format, bare(P.global('torch', 'FloatStorage'), P.emptyTuple, P.reduce)), /the pickle calls torch\.FloatStorage/],
    ['BUILD on a list', pthFile(format, bare([0x5d], P.emptyDict, [0x62])), /sets attributes on an object that is not a state_dict/],
    ['INST opcode', pthFile(format, bare([0x28], [0x69], [...enc.encode('os\nsystem\n')])), /opcode 0x69 \('i'\).*refusing to interpret it/],
    ['OBJ opcode', pthFile(format, bare([0x28], P.global('os', 'system'), [0x6f])), /refusing to load: os\.system is not|opcode 0x6f/],
    ['EXT1 opcode', pthFile(format, bare([0x82, 1])), /opcode 0x82.*refusing to interpret it/],
    ['text PERSID opcode', pthFile(format, bare([0x50, ...enc.encode('x\n')])), /opcode 0x50 \('P'\)/],
    ['text INT opcode', pthFile(format, bare([0x49, ...enc.encode('1\n')])), /opcode 0x49 \('I'\)/],
    ['protocol 6', pthFile(format, new Uint8Array([0x80, 6, 0x4e, 0x2e])), /pickle protocol newer than 5/],
    ['STOP on an empty stack', pthFile(format, bare()), /STOP with 0 values on the stack/],
    ['memo entry never stored', pthFile(format, bare([0x68, 9])), /memo entry 9 was never stored/],
    ['a 1 MB integer (LONG4)', pthFile(format, bare([0x8b, ...u32(1 << 20)], Array.from({ length: 1 << 20 }, () => 0x7f))), /a 1048576-byte integer/],
    ['a string longer than the file', pthFile(format, bare([0x58, ...u32(0x7fffffff)])), /pickle is truncated: .*needs 2147483647 more bytes/],
    ['a list of 300 000 items (not a state_dict)', pthFile(format, bare([0x5d, 0x28], Array.from({ length: 300_000 }, () => 0x4e), [0x65])), format === 'zip' ? /no state_dict found in the checkpoint \(top-level keys: \(a list, not a dict\)\)/ : /lists storage 0, which no tensor uses/],
    ['an expanded view of 3.6·10^9 values', pthFile(format, goodPickle(format, [{ ...W, size: [60_000, 60_000], stride: [0, 0] }, B])), /refusing to load: a tensor of size \[60000, 60000\] \(3600000000 values\) repeats the 4 values/],
    ['a view past its storage', pthFile(format, goodPickle(format, [{ ...W, offset: 2 }, B])), /reaches element 5 of a 4-element storage/],
    ['storage size mismatch', pthFile(format, goodPickle(format, [{ ...W, numel: 8, size: [2, 4], stride: [4, 1] }, B])), format === 'zip' ? /storage 0 has 16 bytes, but 8 × FloatStorage elements need 32/ : /storage 0 has 4 elements, but its tensors expect 8/],
    ['an integer weight', pthFile(format, goodPickle(format, [{ ...W, storage: 'IntStorage' }, B])), /tensor w has dtype int32; only floating-point weights can be converted/],
    ['NaN in a float32 weight', pthFile(format, goodPickle(format), wBytes([1, NaN, 3, 4])), /tensor 'w' has 1 non-finite value \(NaN\/Inf\); the file is corrupt or from a diverged training run/],
    ['two Inf in a float16 bias', pthFile(format, goodPickle(format), wBytes(), bBytes([0x7c00, 0xfc00])), /tensor 'b' has 2 non-finite values/],
  ];
  if (format === 'zip') {
    const flipped = Uint8Array.from(good);
    flipped[50] ^= 0x01; // inside data.pkl (its local header ends at byte 43)
    const compressed = Uint8Array.from(good);
    const central = findBytes(compressed, [0x50, 0x4b, 0x01, 0x02]);
    compressed[central + 10] = 8; // method: deflate
    cases.push(
      ['a flipped bit (CRC)', flipped, /zip entry ckpt\/data\.pkl is corrupt \(CRC-32 mismatch\)/],
      ['a deflated entry', compressed, /zip entry ckpt\/data\.pkl is compressed \(method 8\)/],
      ['no storage data', zipFile([['ckpt/data.pkl', goodPickle(format)]]), /zip archive lacks the data of storage 0/],
      ['big-endian byte order', zipFile([['ckpt/data.pkl', goodPickle(format)], ['ckpt/byteorder', enc.encode('big')]]), /byte order is 'big'/],
      ['a TorchScript archive', zipFile([['m/constants.pkl', bare(P.none)], ['m/code/x.py', enc.encode('x')]]), /TorchScript archive/],
      ['a zip without data.pkl', zipFile([['a.txt', enc.encode('hello')]]), /has no <name>\/data\.pkl/],
      ['central directory past the end', Uint8Array.from(good).map((v, i) => (i === good.length - 3 ? 0xff : v)), /central directory lies beyond the end of the file/],
    );
  } else {
    cases.push(
      ['wrong magic number', new Uint8Array([0x80, 2, 0x4b, 7, 0x2e]), /not a PyTorch checkpoint \(no torch\.save magic number\)/],
      ['storage key list names an unused storage', legacyFile(goodPickle(format), [{ key: '0', numel: 4, bytes: wBytes() }, { key: '1', numel: 2, bytes: bBytes() }, { key: '9', numel: 1, bytes: f32bytes([1]) }]), /lists storage 9, which no tensor uses/],
    );
  }
  return cases;
}

function findBytes(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}

describe('malformed .pth: one clear error, nothing executed, nothing written', () => {
  for (const format of ['legacy', 'zip'] as const) {
    for (const [name, bytes, message] of pthCases(format)) {
      it(`${format}: ${name}`, () => {
        const file = path.join(tmp, `${format}-${name.replace(/\W+/g, '_')}.pth`);
        const out = `${file}.safetensors`;
        writeFileSync(file, bytes);
        expectOneClearError(() => convertPth(file, out), file, message);
        expect(existsSync(out)).toBe(false);
        expect(existsSync(path.join(tmp, `pwned-${format}`))).toBe(false);
      });
    }

    it(`${format}: control: the unmutated checkpoint converts`, () => {
      const file = path.join(tmp, `${format}-control.pth`);
      writeFileSync(file, pthFile(format, goodPickle(format)));
      const r = convertPth(file, `${file}.safetensors`);
      expect(r).toMatchObject({ format, key: 'params', tensors: 2 });
      const { tensors } = readSafetensorsSync(`${file}.safetensors`);
      expect(tensors.get('w')).toEqual({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
      expect(tensors.get('b')).toEqual({ shape: [2], data: new Float32Array([1, 2]) });
    });
  }
});

// ---- the CLI: a NaN in one tensor ----

describe('lightsr upscale --weights with a NaN (the real CLI)', () => {
  it('exits non-zero with one line naming the tensor, and writes no output', async () => {
    const dir = path.join(tmp, 'cli');
    mkdirSync(dir, { recursive: true });
    const input = path.join(dir, 'tiny.png');
    const output = path.join(dir, 'out.png');
    const weights = path.join(dir, 'bad.safetensors');
    await sharp(Buffer.alloc(8 * 8 * 3, 128), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(input);
    const ref = readSafetensorsSync(referenceWeights('imdn_x4.safetensors'));
    ref.tensors.get('IMDB2.c3.weight')!.data[17] = NaN;
    writeFileSync(weights, encodeSafetensors(ref.tensors, ref.metadata));
    const before = readFileSync(input);

    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(repoRoot, 'bin/lightsr.js'), 'upscale', input, '-o', output, '-m', 'imdn', '-s', '4', '--weights', weights],
        { timeout: 60_000 }, (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }));
    });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull(); // not killed by a signal or the timeout
    const errors = r.stderr.trim().split('\n').filter((l) => l.startsWith('lightsr:'));
    expect(errors, r.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/tensor 'IMDB2\.c3\.weight' has 1 non-finite value/);
    expect(errors[0]).toContain(weights);
    expect(existsSync(output)).toBe(false);
    expect(readFileSync(input).equals(before)).toBe(true);
  });
});
