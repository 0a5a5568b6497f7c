// exportOnnx: a registered network (with weights) → ONNX model bytes.
//
// The network is built on the recording backend (record.ts), its weights loaded, and its forward pass traced.
// Dynamic input size (default): traced at three input sizes (two batch sizes); when every trace records the
// same graph the input is [N, 3, H, W] with named dims (emit.ts explains the check). Networks whose graph
// depends on the input size need `size` (one fixed input size):
//   - hpinet-s/m/l: the patch grid (patch starts, overlap weights, gather/fold index lists) is computed on the
//     host from H×W, and with a batch > 1 the matched-patch indices are read back to the host;
//   - imdn-as: the adaptive-cropping geometry (or the padding to a multiple of 4) is chosen on the host from H×W.
// rfdn and rdnesa (ESA) are dynamic for sides ≥ 15 px: smaller inputs take a host-side padding path that the
// dynamic graph does not contain (export a fixed size for them).
import { readFileSync } from 'node:fs';
import type { StateDict } from '../../engine/host.js';
import { parseSafetensors } from '../../engine/safetensors.js';
import { getEntry } from '../../models/index.js';
import { readWeightsFile } from '../../models/load.js';
import { buildModel, checkCard, parseCard, pickCard } from '../../models/card.js';
import type { SRModel } from '../../models/registry.js';
import { createRecorder, ExportError, type RecTensor, type Trace } from './record.js';
import { emitGraph, resolveSizes } from './emit.js';
import { encodeModel, valueInfo, type ModelProto } from './proto.js';

export { ExportError } from './record.js';

export const MIN_OPSET = 13;
export const MAX_OPSET = 17;

export interface ExportOptions {
  /** ONNX opset, 13–17 (default 17). */
  opset?: number;
  /** A fixed input size [height, width] (batch 1); default: dynamic N, H, W (an error for networks that need a fixed size). */
  size?: [number, number];
  /** Text of the weights' JSON card, summarised in the metadata (a file path in `weights` finds its own). */
  card?: string;
}

export interface ExportResult {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  /** Input and output dims (strings are dynamic). */
  input: (number | string)[];
  output: (number | string)[];
  dynamic: boolean;
  opset: number;
  nodes: number;
  metadata: Record<string, string>;
}

/** Input sizes traced for a dynamic export: two of batch 1 (sizes), then batch 2 (the batch dim). */
const TRACE_SIZES: [number, number, number][] = [[1, 29, 34], [1, 37, 31], [2, 33, 41]];

export function lightsrVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The network with its weights on the recorder: a safetensors path, its bytes, a state dict, or none (random init). */
async function buildOnRecorder(ops: ReturnType<typeof createRecorder>['ops'], name: string, scale: number,
  weights: string | Uint8Array | StateDict | undefined, opts: ExportOptions): Promise<{ model: SRModel; card?: string; from?: string }> {
  const entry = getEntry(name, scale);
  if (weights === undefined) return { model: buildModel(ops, entry, scale) };
  if (weights instanceof Map) return { model: buildModel(ops, entry, scale, weights, 'state dict'), card: opts.card };
  let bytes: Uint8Array;
  let card = opts.card;
  let from = 'weights';
  if (typeof weights === 'string') {
    const f = await readWeightsFile(weights);
    bytes = f.bytes;
    card ??= f.card;
    from = weights;
  } else bytes = weights;
  const st = parseSafetensors(bytes, from);
  checkCard(pickCard(card === undefined ? undefined : parseCard(card, `${from}.json`), `${from}.json`, st.metadata, `${from} (metadata)`),
    from, entry.name, scale);
  return { model: buildModel(ops, entry, scale, st.tensors, from), card, from };
}

/** A short card summary for the metadata: the card's scalar fields (curves and long lists left out). */
function summariseCard(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    const keep = Object.fromEntries(Object.entries(json).filter(([, v]) => v === null || typeof v !== 'object' || (!Array.isArray(v) && JSON.stringify(v).length < 600)));
    return JSON.stringify(keep).slice(0, 4000);
  } catch {
    return undefined;
  }
}

function checkOpset(opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ExportError(`opset ${opset} is not supported (valid: ${MIN_OPSET}–${MAX_OPSET})`);
  }
}

/**
 * ONNX export of network `name` ×`scale` with `weights` (safetensors path or bytes, or a state dict; without
 * them randomly initialised). Input 'input' [N,3,H,W] in [0,1], output 'output' [N,3,H·s,W·s] (not clamped).
 */
export async function exportOnnx(name: string, scale: number, weights?: string | Uint8Array | StateDict, opts: ExportOptions = {}): Promise<ExportResult> {
  const opset = opts.opset ?? 17;
  checkOpset(opset);
  const entry = getEntry(name, scale);
  if (opts.size) {
    const [h, w] = opts.size;
    if (![h, w].every((v) => Number.isInteger(v) && v >= 1)) throw new ExportError(`size ${w}×${h} is not a positive integer size`);
  }
  const rec = createRecorder();
  const { model, card, from } = await buildOnRecorder(rec.ops, entry.name, scale, weights, opts);
  const names = new Map<RecTensor, string>(model.namedParams().map(([n, p]) => [p.value as RecTensor, n]));
  const run = (n: number, h: number, w: number) => rec.trace([n, 3, h, w], (x) => model.forward(x));

  let traces: Trace[];
  let sizes;
  if (opts.size) {
    traces = [run(1, opts.size[0], opts.size[1])];
    sizes = resolveSizes(traces);
  } else {
    try {
      traces = TRACE_SIZES.map(([n, h, w]) => run(n, h, w));
      sizes = resolveSizes(traces);
    } catch (e) {
      throw new ExportError(`${entry.name} ×${scale} cannot be exported with a dynamic input size: ${(e as Error).message}; ` +
        'export it for one fixed input size instead (--size WxH)');
    }
  }
  const graph = emitGraph(traces[0]!, sizes, { opset, names });

  const dynamicDims = (pick: (t: Trace) => readonly number[], label: string[]) =>
    pick(traces[0]!).map((v, d) => (traces.every((t) => pick(t)[d] === v) ? v : label[d] ?? `dim${d}`));
  const input = dynamicDims((t) => t.input.shape, ['N', 'C', 'H', 'W']);
  const output = dynamicDims((t) => t.output.shape, ['N', 'C', 'H_out', 'W_out']);
  const version = lightsrVersion();
  const metadata: Record<string, string> = {
    'lightsr.architecture': entry.name,
    'lightsr.scale': String(scale),
    'lightsr.version': version,
    'lightsr.input': 'RGB in [0,1], NCHW; output not clamped',
    'lightsr.dynamic_size': String(!opts.size),
  };
  if (!opts.size && (entry.minInput ?? 1) > 1) metadata['lightsr.min_input'] = String(entry.minInput);
  if (from) metadata['lightsr.weights'] = from.split(/[\\/]/).pop()!;
  else if (weights === undefined) metadata['lightsr.weights'] = 'random initialisation';
  const summary = summariseCard(card);
  if (summary) metadata['lightsr.card'] = summary;

  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'lightsr',
    producerVersion: version,
    docString: entry.title,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: `${entry.name}_x${scale}`,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [valueInfo('input', input)],
      output: [valueInfo('output', output)],
    },
  };
  model.dispose();
  return { bytes: encodeModel(proto), input, output, dynamic: !opts.size, opset, nodes: graph.nodes.length, metadata };
}
