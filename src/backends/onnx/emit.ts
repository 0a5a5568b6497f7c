// Recorded traces → one ONNX graph.
//
// Dynamic sizes: the same network is traced at several input sizes. Traces must record the same ops with the
// same static arguments and constants; each size-like number (reshape target, resize size, narrow bounds, pads,
// …) is then either equal in every trace (a constant) or equal to one dim of one earlier tensor in every trace
// (emitted as Gather(Shape(t), d), so the graph computes it at run time). Anything else (a host-side loop over
// patches, a crop chosen from the size, an index list computed from H and W) makes the traces disagree, and
// the network can only be exported for one fixed input size; `resolveSizes` says why.
import { ExportError, type RecEvent, type RecTensor, type Trace } from './record.js';
import {
  type AttributeProto, type NodeProto, type TensorProto, attrFloat, attrInt, attrInts, attrString, attrTensor, DT, floatTensor, int64Tensor,
} from './proto.js';

/** A size: a constant, or dim `d` of trace tensor `t`. */
export type Sym = { c: number } | { t: number; d: number };

const refOf = (t: RecTensor, names: Map<RecTensor, string>) => (t.traceIndex >= 0 ? `#${t.traceIndex}` : names.get(t) ?? t);
const same = (a: ArrayLike<number> | undefined, b: ArrayLike<number> | undefined) =>
  a === b || (!!a && !!b && a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]));

/** Sizes of every event resolved over `traces` (same network, different input sizes); throws why not. */
export function resolveSizes(traces: Trace[]): Sym[][] {
  const [first, ...rest] = traces;
  if (!first) throw new ExportError('no trace');
  const ids = new Map<RecTensor, string>();
  for (const tr of rest) {
    if (tr.events.length !== first.events.length) {
      throw new ExportError(`the network runs ${first.events.length} ops at one input size and ${tr.events.length} at another (its structure depends on the input size)`);
    }
    if (refOf(tr.output, ids) !== refOf(first.output, ids)) throw new ExportError('the output comes from a different op at another input size');
  }
  return first.events.map((e, i) => {
    const all = traces.map((t) => t.events[i]!);
    for (const o of all.slice(1)) {
      const where = `op #${i} (${e.op})`;
      if (o.op !== e.op) throw new ExportError(`${where} is ${o.op} at another input size`);
      if (o.ins.length !== e.ins.length || o.ins.some((t, k) => refOf(t, ids) !== refOf(e.ins[k]!, ids))) {
        throw new ExportError(`${where} takes different inputs at another input size`);
      }
      if (JSON.stringify(o.attrs) !== JSON.stringify(e.attrs)) throw new ExportError(`${where} has other arguments at another input size`);
      if (!same(o.data, e.data)) {
        throw new ExportError(`${where}: a constant computed on the host differs between input sizes (e.g. an index list built from H and W)`);
      }
      if (o.sizes.length !== e.sizes.length) throw new ExportError(`${where} has a different number of sizes at another input size`);
    }
    return e.sizes.map((v, k) => {
      const vs = all.map((o) => o.sizes[k]!);
      if (vs.every((x) => x === v)) return { c: v };
      const firstOut = e.outs[0]?.traceIndex ?? first.tensors.length;
      const candidates = [...e.ins.map((t) => t.traceIndex).filter((j) => j >= 0), ...Array.from({ length: firstOut }, (_, j) => firstOut - 1 - j)];
      for (const j of candidates) {
        const rank = first.tensors[j]!.shape.length;
        for (let d = 0; d < rank; d++) {
          if (traces.every((tr, n) => tr.tensors[j]!.shape.length === rank && tr.tensors[j]!.shape[d] === vs[n])) return { t: j, d };
        }
      }
      throw new ExportError(`op #${i} (${e.op}): a size (${vs.join(' / ')} at the traced input sizes) is not a dim of any earlier tensor, ` +
        'so the graph cannot compute it from the input size');
    });
  });
}

export interface EmitOptions {
  opset: number;
  /** Names of initializer tensors (parameters), e.g. 'IMDB1.c1.weight'. */
  names: Map<RecTensor, string>;
  /** Leaf tensors that are extra graph inputs (fed at run time) rather than initializers, with their names. */
  feeds?: Map<RecTensor, string>;
}

export interface EmittedGraph {
  nodes: NodeProto[];
  initializers: TensorProto[];
}

const INT64_MIN = -9223372036854775808;

/** ONNX nodes and initializers for `trace` (the first of the traced sizes) with sizes resolved by `resolveSizes`. */
export function emitGraph(trace: Trace, sizes: Sym[][], opts: EmitOptions): EmittedGraph {
  const { opset } = opts;
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const initNames = new Map<RecTensor, string>();
  const constCache = new Map<string, string>();
  const shapeCache = new Map<string, string>();
  let counter = 0;
  const outIndex = trace.output.traceIndex;

  const fresh = (base: string) => `${base}_${counter++}`;
  const node = (opType: string, inputs: string[], attribute: AttributeProto[] = [], nOut = 1, outputs?: string[]): string[] => {
    const out = outputs ?? Array.from({ length: nOut }, () => fresh('v'));
    nodes.push({ opType, input: inputs, output: out, name: fresh(opType), attribute });
    return out;
  };
  const node1 = (opType: string, inputs: string[], attribute: AttributeProto[] = [], output?: string) =>
    node(opType, inputs, attribute, 1, output ? [output] : undefined)[0]!;

  function valueName(t: RecTensor): string {
    if (t.traceIndex === 0) return 'input';
    if (t.traceIndex > 0) return t.traceIndex === outIndex ? 'output' : `t${t.traceIndex}`;
    const feed = opts.feeds?.get(t);
    if (feed) return feed;
    let n = initNames.get(t);
    if (n) return n;
    if (!t.data) throw new ExportError('a tensor without values reached the graph as a constant');
    n = opts.names.get(t) ?? `const_${initNames.size}`;
    initNames.set(t, n);
    initializers.push(t.dtype === 'float32'
      ? floatTensor(n, t.shape, t.data as Float32Array)
      : int64Tensor(n, t.shape, t.data));
    return n;
  }
  function constF(values: number[], dims: number[] = []): string {
    const key = `f${dims.join('x')}:${values.join(',')}`;
    let n = constCache.get(key);
    if (!n) {
      n = `const_f${constCache.size}`;
      initializers.push(floatTensor(n, dims, Float32Array.from(values)));
      constCache.set(key, n);
    }
    return n;
  }
  function constI(values: number[], dims: number[] = [values.length]): string {
    const key = `i${dims.join('x')}:${values.join(',')}`;
    let n = constCache.get(key);
    if (!n) {
      n = `const_i${constCache.size}`;
      initializers.push(int64Tensor(n, dims, values));
      constCache.set(key, n);
    }
    return n;
  }
  /** 1-D int64 [1] holding dim d of trace tensor t, computed at run time. */
  function dimOf(t: number, d: number): string {
    const key = `${t}:${d}`;
    let n = shapeCache.get(key);
    if (!n) {
      const shape = shapeCache.get(`${t}`) ?? node1('Shape', [valueName(trace.tensors[t]!)]);
      shapeCache.set(`${t}`, shape);
      n = node1('Gather', [shape, constI([d])], [attrInt('axis', 0)]);
      shapeCache.set(key, n);
    }
    return n;
  }
  /** A 1-D int64 tensor of sizes: one initializer when all are constant, else a Concat of constants and dims. */
  function vec(syms: Sym[]): string {
    if (syms.every((s) => 'c' in s)) return constI(syms.map((s) => (s as { c: number }).c));
    const parts: string[] = [];
    let run: number[] = [];
    for (const s of syms) {
      if ('c' in s) run.push(s.c);
      else {
        if (run.length) parts.push(constI(run));
        run = [];
        parts.push(dimOf(s.t, s.d));
      }
    }
    if (run.length) parts.push(constI(run));
    return parts.length === 1 ? parts[0]! : node1('Concat', parts, [attrInt('axis', 0)]);
  }
  const reduce = (op: string, x: string, axes: number[] | undefined, keep: boolean, out?: string) => {
    const a: AttributeProto[] = [attrInt('keepdims', keep ? 1 : 0)];
    if (op === 'ReduceSum') return node1(op, axes ? [x, constI(axes)] : [x], a, out);
    if (axes) a.push(attrInts('axes', axes));
    return node1(op, [x], a, out);
  };

  trace.events.forEach((e, i) => emitOne(e, sizes[i]!));

  function emitOne(e: RecEvent, s: Sym[]): void {
    const at = e.attrs as Record<string, never>;
    const ins = e.ins.map(valueName);
    const out = e.outs.map(valueName);
    const o = out[0]!;
    const x = ins[0]!;
    const rank = e.ins[0]?.shape.length ?? 0;
    const unaryOps: Record<string, string> = { neg: 'Neg', sqrt: 'Sqrt', exp: 'Exp', log: 'Log', abs: 'Abs', relu: 'Relu', sigmoid: 'Sigmoid', clone: 'Identity' };
    const binaryOps: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div' };
    if (unaryOps[e.op]) {
      node1(unaryOps[e.op]!, [x], [], o);
      return;
    }
    if (binaryOps[e.op]) {
      node1(binaryOps[e.op]!, [x, typeof at.scalar === 'number' ? constF([at.scalar]) : ins[1]!], [], o);
      return;
    }
    switch (e.op) {
      case 'constant':
        // a host constant made inside the forward pass (equal at every traced size): an initializer
        initializers.push(e.outs[0]!.dtype === 'float32'
          ? floatTensor(o, e.outs[0]!.shape, e.data as Float32Array)
          : int64Tensor(o, e.outs[0]!.shape, e.data!));
        return;
      case 'full': {
        const value = floatTensor('value', [1], Float32Array.of(at.value));
        node1('ConstantOfShape', [vec(s)], [attrTensor('value', value)], o);
        return;
      }
      case 'conv2d':
      case 'convTranspose2d': {
        const [kh, kw] = e.ins[1]!.shape.slice(2) as [number, number];
        const [ph, pw] = at.padding as [number, number];
        const a = [attrInts('kernel_shape', [kh, kw]), attrInts('strides', at.stride), attrInts('pads', [ph, pw, ph, pw]),
          attrInts('dilations', at.dilation), attrInt('group', at.groups)];
        if (e.op === 'convTranspose2d') a.push(attrInts('output_padding', at.outputPadding));
        node1(e.op === 'conv2d' ? 'Conv' : 'ConvTranspose', ins, a, o);
        return;
      }
      case 'linear': {
        const wt = node1('Transpose', [ins[1]!], [attrInts('perm', [1, 0])]);
        if (ins[2]) node1('Add', [node1('MatMul', [x, wt]), ins[2]], [], o);
        else node1('MatMul', [x, wt], [], o);
        return;
      }
      case 'matmul':
        node1('MatMul', ins, [], o);
        return;
      case 'pow':
        node1('Pow', [x, constF([at.p])], [], o);
        return;
      case 'clamp':
        node1('Clip', [x, constF([at.lo]), constF([at.hi])], [], o);
        return;
      case 'leakyRelu':
        node1('LeakyRelu', [x], [attrFloat('alpha', at.slope)], o);
        return;
      case 'gelu': {
        // exact GELU: x · ½ · (1 + erf(x / √2))
        const erf = node1('Erf', [node1('Div', [x, constF([Math.SQRT2])])]);
        node1('Mul', [x, node1('Mul', [node1('Add', [erf, constF([1])]), constF([0.5])])], [], o);
        return;
      }
      case 'softmax':
        node1('Softmax', [x], [attrInt('axis', at.dim)], o);
        return;
      case 'sum':
        reduce('ReduceSum', x, at.dims, at.keep, o);
        return;
      case 'mean':
        reduce('ReduceMean', x, at.dims, at.keep, o);
        return;
      case 'max':
        reduce('ReduceMax', x, at.dims, at.keep, o);
        return;
      case 'variance': {
        // population variance: mean((x − mean(x))²)
        const d = node1('Sub', [x, reduce('ReduceMean', x, at.dims, true)]);
        reduce('ReduceMean', node1('Mul', [d, d]), at.dims, at.keep, o);
        return;
      }
      case 'argmax':
        node1('ArgMax', [x], [attrInt('axis', at.dim), attrInt('keepdims', at.keep ? 1 : 0)], o);
        return;
      case 'layerNorm': {
        const k = at.axes as number;
        const c = e.ins[0]!.shape.slice(-k);
        const w = at.hasW ? ins[1]! : constF(new Array(c.reduce((p, q) => p * q, 1)).fill(1), c);
        const b = at.hasB ? ins[at.hasW ? 2 : 1] : undefined;
        if (opset >= 17) {
          node1('LayerNormalization', b ? [x, w, b] : [x, w], [attrInt('axis', -k), attrFloat('epsilon', at.eps)], o);
          return;
        }
        const axes = Array.from({ length: k }, (_, j) => rank - k + j);
        const d = node1('Sub', [x, reduce('ReduceMean', x, axes, true)]);
        const v = reduce('ReduceMean', node1('Mul', [d, d]), axes, true);
        const y = node1('Mul', [node1('Div', [d, node1('Sqrt', [node1('Add', [v, constF([at.eps])])])]), w]);
        if (b) node1('Add', [y, b], [], o);
        else node1('Identity', [y], [], o);
        return;
      }
      case 'pixelShuffle':
        node1('DepthToSpace', [x], [attrInt('blocksize', at.r), attrString('mode', 'CRD')], o);
        return;
      case 'resizeBilinear':
        node1('Resize', [x, '', '', vec(s)], [attrString('mode', 'linear'), attrString('coordinate_transformation_mode', 'half_pixel')], o);
        return;
      case 'maxPool2d':
      case 'avgPool2d': {
        const a = [attrInts('kernel_shape', [at.k, at.k]), attrInts('strides', [at.s, at.s]), attrInts('pads', [at.p, at.p, at.p, at.p])];
        if (e.op === 'avgPool2d') a.push(attrInt('count_include_pad', 1));
        node1(e.op === 'maxPool2d' ? 'MaxPool' : 'AveragePool', [x], a, o);
        return;
      }
      case 'pad': {
        // ours [left, right, top, bottom] over the last two dims → ONNX [begin…, end…] over all dims
        const z: Sym[] = new Array(rank - 2).fill({ c: 0 });
        const pads = vec([...z, s[2]!, s[0]!, ...z, s[3]!, s[1]!]);
        const mode = ({ zeros: 'constant', replicate: 'edge', reflect: 'reflect' } as Record<string, string>)[at.mode]!;
        node1('Pad', mode === 'constant' ? [x, pads, constF([at.value])] : [x, pads], [attrString('mode', mode)], o);
        return;
      }
      case 'reshape':
        node1('Reshape', [x, vec(s)], [], o);
        return;
      case 'permute':
        node1('Transpose', [x], [attrInts('perm', at.perm)], o);
        return;
      case 'flip': {
        const dims = at.dims as number[];
        node1('Slice', [x, constI(dims.map(() => -1)), constI(dims.map(() => INT64_MIN)), constI(dims), constI(dims.map(() => -1))], [], o);
        return;
      }
      case 'cat':
        node1('Concat', ins, [attrInt('axis', at.dim)], o);
        return;
      case 'stack':
        node1('Concat', ins.map((t) => node1('Unsqueeze', [t, constI([at.dim])])), [attrInt('axis', at.dim)], o);
        return;
      case 'split':
        node('Split', [x, vec(s)], [attrInt('axis', at.dim)], out.length, out);
        return;
      case 'narrow':
        node1('Slice', [x, vec([s[0]!]), vec([s[1]!]), constI([at.dim])], [], o);
        return;
      case 'indexSelect':
        node1('Gather', ins, [attrInt('axis', at.dim)], o);
        return;
      case 'gather':
        node1('GatherElements', ins, [attrInt('axis', at.dim)], o);
        return;
      case 'oneHot':
        node1('OneHot', [x, constI([at.n], []), constF([0, 1], [2])], [attrInt('axis', -1)], o);
        return;
      default:
        throw new ExportError(`no ONNX mapping for op '${e.op}'`);
    }
  }

  if (outIndex <= 0) node1('Identity', [valueName(trace.output)], [], 'output');
  return { nodes, initializers };
}

export { DT };
