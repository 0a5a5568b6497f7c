// ONNX test helpers: run an exported model in onnxruntime-node (1 thread), and the official checker
// (Debian's python3-onnx) on a file.
import { spawnSync } from 'node:child_process';
import ort from 'onnxruntime-node';

export interface Out {
  dims: number[];
  data: Float32Array;
}

export async function ortSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

export async function ortRun(session: ort.InferenceSession, data: Float32Array, dims: number[]): Promise<Out> {
  const r = await session.run({ input: new ort.Tensor('float32', data, dims) });
  const y = r.output!;
  return { dims: [...y.dims], data: y.data as Float32Array };
}

/** `onnx.checker.check_model(full_check=True)` on `file`; null when it passes, else the error. */
export function onnxChecker(file: string): string | null {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join('\n');
}

export function maxAbs(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return NaN;
    if (d > m) m = d;
  }
  return m;
}

/** Seeded uniform [0,1) values. */
export function randomInput(n: number, seed = 7): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}
