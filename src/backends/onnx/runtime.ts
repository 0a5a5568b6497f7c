// Inference through onnxruntime-node (an optional dependency): the network is exported on the fly
// (exportOnnx) and the model file cached by a hash of the weights, network, scale, opset and lightsr version.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { PlanarImage } from '../../image/types.js';
import { getEntry } from '../../models/index.js';
import { exportOnnx, lightsrVersion } from './export.js';

export interface OnnxUpscalerOptions {
  /** Folder of cached .onnx files (default: $XDG_CACHE_HOME/lightsr/onnx or ~/.cache/lightsr/onnx); null: no disk cache. */
  cacheDir?: string | null;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  opset?: number;
}

export interface OnnxUpscaler {
  /** SR of one planar RGB image (CHW, [0,1]); not clamped. */
  run(lr: PlanarImage): Promise<PlanarImage>;
  /** The .onnx file used (null without a disk cache). */
  file: string | null;
  release(): Promise<void>;
}

async function loadOrt(): Promise<typeof Ort> {
  try {
    return (await import('onnxruntime-node')).default as unknown as typeof Ort;
  } catch (e) {
    throw new Error(`the onnx backend needs onnxruntime-node (npm install onnxruntime-node@1.30.0): ${(e as Error).message.split('\n')[0]}`);
  }
}

function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'lightsr', 'onnx');
}

/** An onnxruntime session for network `name` ×`scale` with the safetensors `weights` (none: random init, not cached). */
export async function createOnnxUpscaler(name: string, scale: number, weights?: string, opts: OnnxUpscalerOptions = {}): Promise<OnnxUpscaler> {
  const entry = getEntry(name, scale);
  const ort = await loadOrt();
  const opset = opts.opset ?? 17;
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  let bytes: Uint8Array | null = null;
  let file: string | null = null;
  if (weights && cacheDir) {
    const h = createHash('sha256');
    h.update(JSON.stringify({ name: entry.name, scale, opset, version: lightsrVersion() }));
    h.update(await fsp.readFile(weights));
    if (existsSync(`${weights}.json`)) h.update(await fsp.readFile(`${weights}.json`));
    file = path.join(cacheDir, `${entry.name}_x${scale}_${h.digest('hex').slice(0, 16)}.onnx`);
    if (existsSync(file)) bytes = new Uint8Array(await fsp.readFile(file));
  }
  if (!bytes) {
    bytes = (await exportOnnx(entry.name, scale, weights, { opset })).bytes;
    if (file) {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, bytes);
      await fsp.rename(tmp, file);
    }
  }
  const session = await ort.InferenceSession.create(bytes, {
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  });
  return {
    file,
    async run(lr) {
      if (lr.channels !== 3) throw new Error(`the networks take RGB images (3 channels); this image has ${lr.channels}`);
      const out = await session.run({ input: new ort.Tensor('float32', lr.data, [1, 3, lr.height, lr.width]) });
      const y = out.output!;
      const [, c, h, w] = y.dims as number[];
      return { channels: c!, height: h!, width: w!, data: y.data as Float32Array };
    },
    release: () => session.release(),
  };
}
