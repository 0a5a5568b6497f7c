// ONNX export (issue 18): IMDN ×4 with the official weights, exported by the recording backend, passes the
// ONNX checker, runs in onnxruntime-node at several input sizes (dynamic N, H, W) and matches our torch backend
// within 1e-4 on a random input and on a Set5 LR image; the CLI writes the file and explains its refusals.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../src/backends/onnx/export.js';
import { decodeModel } from '../src/backends/onnx/proto.js';
import { createTorchOps } from '../src/backends/torch/index.js';
import { register as exportCommand } from '../src/cli/export.js';
import type { Ops } from '../src/engine/ops.js';
import { readImageRGB } from '../src/image/io.js';
import { predictTensor } from '../src/models/infer.js';
import { loadModel } from '../src/models/load.js';
import type { SRModel } from '../src/models/registry.js';
import { runCli } from './helpers/cli.js';
import { referenceWeights, shared } from './helpers/fixtures.js';
import { maxAbs, onnxChecker, ortRun, ortSession, randomInput } from './helpers/onnx.js';

const WEIGHTS = referenceWeights('imdn_x4.safetensors');
const TOL = 1e-4;

let tmp: string;
let ops: Ops;
let torchModel: SRModel;
let onnxBytes: Uint8Array;

async function torchRun(data: Float32Array, dims: number[]): Promise<Float32Array> {
  const x = ops.tensor(data, dims);
  const y = predictTensor(ops, torchModel, x);
  const out = (await ops.read(y)) as Float32Array;
  ops.dispose([x, y]);
  return out;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lightsr-onnx-'));
  ops = createTorchOps();
  torchModel = await loadModel(ops, 'imdn', 4, WEIGHTS);
  onnxBytes = (await exportOnnx('imdn', 4, WEIGHTS)).bytes;
});
afterAll(() => {
  torchModel?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('exportOnnx: IMDN ×4, official weights', () => {
  it('declares a dynamic [N,3,H,W] input, the weights as named initializers and the metadata', () => {
    const m = decodeModel(onnxBytes);
    expect(Number(m.opsetImport[0]!.version)).toBe(17);
    const dims = m.graph!.input[0]!.type!.tensorType!.shape!.dim.map((d) => d.dimParam || d.dimValue);
    expect(dims.map(String)).toEqual(['N', '3', 'H', 'W']);
    const inits = new Map(m.graph!.initializer.map((t) => [t.name, t]));
    expect(inits.get('IMDB1.c1.weight')!.dims.map(Number)).toEqual([64, 64, 3, 3]);
    expect(inits.get('upsampler.0.weight')!.dims.map(Number)).toEqual([48, 64, 3, 3]);
    const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
    expect(meta['lightsr.architecture']).toBe('imdn');
    expect(meta['lightsr.scale']).toBe('4');
    expect(meta['lightsr.version']).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    expect(meta['lightsr.weights']).toBe('imdn_x4.safetensors');
    const ops = new Set(m.graph!.node.map((n) => n.opType));
    for (const op of ['Conv', 'DepthToSpace', 'LeakyRelu', 'ReduceMean', 'Sigmoid', 'Split', 'Concat']) expect(ops).toContain(op);
  });

  it('passes onnx.checker (full check with shape inference)', () => {
    const file = path.join(tmp, 'imdn_x4.onnx');
    writeFileSync(file, onnxBytes);
    expect(onnxChecker(file)).toBeNull();
    // the checker does fail on a broken graph
    const broken = decodeModel(onnxBytes);
    broken.graph!.node[3]!.input[0] = 'no_such_value';
    const bad = path.join(tmp, 'broken.onnx');
    writeFileSync(bad, (broken.constructor as unknown as { encode(m: unknown): { finish(): Uint8Array } }).encode(broken).finish());
    expect(onnxChecker(bad)).toMatch(/no_such_value|not output of any previous nodes|topologically/i);
  });

  it('onnxruntime equals torch within 1e-4 on random inputs at several sizes and batch 2', async () => {
    const s = await ortSession(onnxBytes);
    for (const dims of [[1, 3, 23, 17], [2, 3, 12, 20]]) {
      const x = randomInput(dims.reduce((a, b) => a * b, 1), dims[2]!);
      const want = await torchRun(x, dims);
      const got = await ortRun(s, x, dims);
      expect(got.dims).toEqual([dims[0], 3, dims[2]! * 4, dims[3]! * 4]);
      expect(maxAbs(got.data, want)).toBeLessThan(TOL);
    }
  });

  it('onnxruntime equals torch within 1e-4 on a Set5 LR image (butterfly ×4)', async () => {
    const lr = await readImageRGB(path.join(shared, 'data/bench/Set5/LR_bicubic/X4/butterflyx4.png'));
    const dims = [1, 3, lr.height, lr.width];
    const want = await torchRun(lr.data, dims);
    const got = await ortRun(await ortSession(onnxBytes), lr.data, dims);
    expect(got.dims).toEqual([1, 3, lr.height * 4, lr.width * 4]);
    const d = maxAbs(got.data, want);
    expect(d).toBeLessThan(TOL);
    expect(d).toBeGreaterThan(0); // two different engines: exact equality would mean the comparison is not real
  });

  it('opset 13 exports (ReduceMean axes as attributes) and gives the same output', async () => {
    const r = await exportOnnx('imdn', 4, WEIGHTS, { opset: 13 });
    expect(Number(decodeModel(r.bytes).opsetImport[0]!.version)).toBe(13);
    const dims = [1, 3, 16, 16];
    const x = randomInput(3 * 16 * 16, 3);
    expect(maxAbs((await ortRun(await ortSession(r.bytes), x, dims)).data, await torchRun(x, dims))).toBeLessThan(TOL);
  });

  it('refuses weights of another scale and unsupported opsets', async () => {
    await expect(exportOnnx('imdn', 2, WEIGHTS)).rejects.toThrow(/×4 weights|does not fit/);
    await expect(exportOnnx('imdn', 4, WEIGHTS, { opset: 12 })).rejects.toThrow(/opset 12 is not supported \(valid: 13–17\)/);
  });
});

describe('lightsr export', () => {
  it('writes the file (no temporary left behind) and prints a summary', async () => {
    const out = path.join(tmp, 'cli_x4.onnx');
    const r = await runCli(exportCommand, ['export', '--model', 'imdn', '--scale', '4', '--weights', WEIGHTS, '-o', out, '--opset', '17']);
    expect(r.error).toBeUndefined();
    expect(r.stdout).toMatch(/imdn ×4, opset 17, \d+ nodes/);
    expect(r.stdout).toContain('input [N, 3, H, W]');
    expect(readFileSync(out).equals(Buffer.from(onnxBytes))).toBe(true);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses clearly: existing output, unknown model, bad scale/opset/size, missing weights, missing folder', async () => {
    const out = path.join(tmp, 'exists.onnx');
    writeFileSync(out, 'x');
    const cases: [string[], RegExp][] = [
      [['--model', 'imdn', '--scale', '4', '-o', out], /exists \(pass -f to overwrite\)/],
      [['--model', 'nosuch', '--scale', '4', '-o', 'a.onnx'], /unknown model 'nosuch'/],
      [['--model', 'imdn', '--scale', '5', '-o', 'a.onnx'], /no ×5 model/],
      [['--model', 'imdn', '--scale', '4', '--opset', '99', '-o', 'a.onnx'], /--opset must be an integer from 13 to 17/],
      [['--model', 'imdn', '--scale', '4', '--size', '12', '-o', 'a.onnx'], /--size must look like 64x48/],
      [['--model', 'imdn', '--scale', '4', '--weights', path.join(tmp, 'none.safetensors'), '-o', 'a.onnx'], /weights file .* not found/],
      [['--model', 'imdn', '--scale', '4', '-o', path.join(tmp, 'no/dir/a.onnx')], /folder .* does not exist/],
    ];
    for (const [args, msg] of cases) {
      const r = await runCli(exportCommand, ['export', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(readFileSync(out, 'utf8')).toBe('x');
    expect(existsSync('a.onnx')).toBe(false);
  });

  it('a network that needs a fixed size says so and why; with --size it exports', async () => {
    const r = await runCli(exportCommand, ['export', '--model', 'hpinet-s', '--scale', '4', '-o', path.join(tmp, 'h.onnx')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hpinet-s ×4 cannot be exported with a dynamic input size: .*; export it for one fixed input size instead \(--size WxH\)/);
    const ok = await runCli(exportCommand, ['export', '--model', 'hpinet-s', '--scale', '4', '--size', '30x26', '-o', path.join(tmp, 'h.onnx')]);
    expect(ok.error).toBeUndefined();
    expect(ok.stdout).toContain('input [1, 3, 26, 30]');
    expect(ok.stdout).toContain('output [1, 3, 104, 120]');
  });
});
