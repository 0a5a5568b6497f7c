// The `onnx` inference backend: the op interface on onnxruntime-node, lazily. Ops only record (record.ts in
// lazy mode); reading a tensor turns the ops that produce it into one ONNX graph (emit.ts) and runs it in an
// onnxruntime session. Convolution / linear / layer-norm weights become initializers (so onnxruntime can
// pre-pack them); every other leaf (the image, host-made constants) is a graph input fed at run time. Sessions
// are cached by the graph's structure, shapes and weights, so tiles or images of one size reuse one session.
// Inference only (no autograd); `readSync` is not available (onnxruntime runs asynchronously), so paths that need
// it (e.g. exact tiling) are refused with a message.
import type * as Ort from 'onnxruntime-node';
import type { Ops, Tensor } from '../../engine/ops.js';
import { createRecorder, type RecEvent, RecTensor, type Trace } from './record.js';
import { emitGraph, resolveSizes } from './emit.js';
import { DT, encodeModel, valueInfo } from './proto.js';

/** Ops whose inputs after the first are weights (initializers). */
const WEIGHT_OPS = new Set(['conv2d', 'convTranspose2d', 'linear', 'layerNorm']);
const MAX_SESSIONS = 16;

async function loadOrt(): Promise<typeof Ort> {
  try {
    return (await import('onnxruntime-node')).default as unknown as typeof Ort;
  } catch (e) {
    throw new Error(`the onnx backend needs onnxruntime-node (npm install onnxruntime-node@1.30.0): ${(e as Error).message.split('\n')[0]}`);
  }
}

interface Plan {
  key: string;
  events: RecEvent[];
  feeds: RecTensor[];
  weights: RecTensor[];
}

/** The ops producing `out`, in order, with its leaves split into weights and fed inputs. */
function plan(out: RecTensor, ids: { of: WeakMap<RecTensor, number>; next: number }): Plan {
  const events: RecEvent[] = [];
  const seen = new Set<RecEvent>();
  const leafRole = new Map<RecTensor, 'w' | 'f'>();
  const stack: [RecEvent, boolean][] = [[out.producer!, false]];
  while (stack.length) {
    const [e, done] = stack.pop()!;
    if (done) {
      events.push(e);
      continue;
    }
    if (seen.has(e)) continue;
    seen.add(e);
    stack.push([e, true]);
    e.ins.forEach((t, k) => {
      if (t.producer) {
        if (!seen.has(t.producer)) stack.push([t.producer, false]);
      } else if (WEIGHT_OPS.has(e.op) && k > 0 && leafRole.get(t) !== 'f') leafRole.set(t, 'w');
      else leafRole.set(t, 'f');
    });
  }
  const feeds = [...leafRole].filter(([, r]) => r === 'f').map(([t]) => t);
  const weights = [...leafRole].filter(([, r]) => r === 'w').map(([t]) => t);
  const local = new Map<RecTensor, string>();
  feeds.forEach((t, i) => local.set(t, `f${i}:${t.dtype}[${t.shape.join(',')}]`));
  for (const t of weights) {
    if (!ids.of.has(t)) ids.of.set(t, ids.next++);
    local.set(t, `w${ids.of.get(t)}`);
  }
  const parts: string[] = [];
  events.forEach((e, i) => {
    e.outs.forEach((t, k) => local.set(t, `e${i}.${k}`));
    parts.push(`${e.op}${JSON.stringify(e.attrs)}${e.sizes.join(',')}(${e.ins.map((t) => local.get(t)).join(',')})`);
  });
  return { key: `${parts.join(';')}->${local.get(out)}`, events, feeds, weights };
}

/** The model bytes for a plan: event outputs numbered from 1, `out` is 'output', feeds 'feed_i'. */
function build(p: Plan, out: RecTensor): Uint8Array {
  const tensors: RecTensor[] = [new RecTensor([], 'float32')];
  for (const e of p.events) for (const t of e.outs) {
    t.traceIndex = tensors.length;
    tensors.push(t);
  }
  const trace: Trace = { input: tensors[0]!, output: out, events: p.events, tensors };
  const feeds = new Map(p.feeds.map((t, i) => [t, `feed_${i}`]));
  const graph = emitGraph(trace, resolveSizes([trace]), { opset: 17, names: new Map(), feeds });
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'lightsr',
    graph: {
      name: 'lightsr_lazy',
      node: graph.nodes,
      initializer: graph.initializers,
      input: p.feeds.map((t, i) => valueInfo(`feed_${i}`, [...t.shape], t.dtype === 'float32' ? DT.FLOAT : DT.INT64)),
      output: [valueInfo('output', [...out.shape], out.dtype === 'float32' ? DT.FLOAT : DT.INT64)],
    },
  });
}

export interface OnnxOpsOptions {
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** The `onnx` backend (inference only). Throws when onnxruntime-node cannot be loaded. */
export async function createOnnxOps(opts: OnnxOpsOptions = {}): Promise<Ops> {
  const ort = await loadOrt();
  const rec = createRecorder(1, true);
  const ids = { of: new WeakMap<RecTensor, number>(), next: 0 };
  const sessions = new Map<string, Promise<Ort.InferenceSession>>();
  const sessionOpts: Ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };

  async function read(t: Tensor): Promise<Float32Array | Int32Array> {
    if (!(t instanceof RecTensor)) throw new Error('onnx backend: a tensor from another backend');
    if (!t.producer) {
      if (!t.data) throw new Error('onnx backend: a tensor without values');
      return t.data.slice();
    }
    const p = plan(t, ids);
    let s = sessions.get(p.key);
    if (!s) {
      s = ort.InferenceSession.create(build(p, t), sessionOpts);
      sessions.set(p.key, s);
      if (sessions.size > MAX_SESSIONS) {
        const [oldest, old] = sessions.entries().next().value!;
        sessions.delete(oldest);
        void old.then((x) => x.release()).catch(() => {});
      }
    } else {
      sessions.delete(p.key); // most recently used last
      sessions.set(p.key, s);
    }
    const feeds: Record<string, Ort.Tensor> = {};
    p.feeds.forEach((f, i) => {
      const dims = [...f.shape];
      feeds[`feed_${i}`] = f.dtype === 'float32'
        ? new ort.Tensor('float32', f.data as Float32Array, dims)
        : new ort.Tensor('int64', BigInt64Array.from(f.data!, (v) => BigInt(v)), dims);
    });
    const y = (await (await s).run(feeds)).output!;
    return t.dtype === 'float32' ? (y.data as Float32Array) : Int32Array.from(y.data as BigInt64Array, (v) => Number(v));
  }

  return {
    ...rec.ops,
    name: 'onnx',
    describe: () => `onnxruntime-node ${ort.env.versions?.common ?? ''} (CPU${opts.threads ? `, ${opts.threads} threads` : ''})`.replace('  ', ' '),
    read,
    readSync(t) {
      if (t instanceof RecTensor && !t.producer && t.data) return t.data.slice();
      throw new Error('the onnx backend cannot read values synchronously (onnxruntime runs asynchronously); use --backend torch or tfjs for this');
    },
  };
}
