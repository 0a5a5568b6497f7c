// Minimal module system: parameters in registration order, named like PyTorch state_dict keys,
// so official checkpoints load by name. Works on any backend (inference) and on torch (training).
import type { Ops, Tensor } from '../engine/ops.js';
import { isTrainOps } from '../engine/ops.js';
import { type HostTensor, type StateDict, fmtShape, numel, sameShape } from '../engine/host.js';

/** A boxed parameter: loading weights swaps `value` without rebuilding the module. */
export class Param {
  constructor(public value: Tensor, public readonly shape: number[], public readonly trainable = true) {}
}

export type Init = 'zeros' | 'ones' | { uniform: number } | { normal: number };

export abstract class Module {
  training = false;
  private readonly params = new Map<string, Param>();
  private readonly children = new Map<string, Module>();

  constructor(protected readonly ops: Ops) {}

  /** Register a parameter. `init` defaults to PyTorch's conv/linear default (uniform ±1/sqrt(fanIn)). */
  protected param(name: string, shape: number[], init: Init = { uniform: 1 / Math.sqrt(fanIn(shape)) }, trainable = true): Param {
    const o = this.ops;
    let t: Tensor;
    if (init === 'zeros') t = o.zeros(shape);
    else if (init === 'ones') t = o.ones(shape);
    else if ('uniform' in init) t = o.rand(shape, -init.uniform, init.uniform);
    else t = o.tidy(() => o.mul(o.randn(shape), init.normal));
    if (trainable && isTrainOps(o)) o.setRequiresGrad(t, true);
    const p = new Param(t, shape, trainable);
    this.params.set(name, p);
    return p;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** All parameters (including frozen buffers) with PyTorch-style dotted names, in registration order. */
  namedParams(prefix = ''): [string, Param][] {
    const out: [string, Param][] = [];
    for (const [n, p] of this.params) out.push([prefix + n, p]);
    for (const [n, m] of this.children) out.push(...m.namedParams(`${prefix}${n}.`));
    return out;
  }

  /** Trainable parameter tensors (for optimizers). */
  parameters(): Tensor[] {
    return this.namedParams().filter(([, p]) => p.trainable).map(([, p]) => p.value);
  }

  /** Number of trainable parameters (what papers report). */
  numParams(): number {
    return this.namedParams().filter(([, p]) => p.trainable).reduce((a, [, p]) => a + numel(p.shape), 0);
  }

  train(on = true): this {
    this.training = on;
    for (const m of this.children.values()) m.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Load weights by name with exact shape checks. Strict: every parameter must be present and no
   * extra keys are allowed (frozen buffers may be absent). Throws one error listing all problems.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const problems: string[] = [];
    const mine = new Map(this.namedParams());
    for (const [name, p] of mine) {
      const h = sd.get(name);
      if (!h) {
        if (strict && p.trainable) problems.push(`missing ${name} ${fmtShape(p.shape)}`);
        continue;
      }
      if (!sameShape(h.shape, p.shape)) problems.push(`${name}: file has ${fmtShape(h.shape)}, model expects ${fmtShape(p.shape)}`);
    }
    if (strict) for (const k of sd.keys()) if (!mine.has(k)) problems.push(`unexpected ${k}`);
    if (problems.length) {
      const shown = problems.slice(0, 8).join('; ');
      throw new Error(`weights do not fit ${this.constructor.name}: ${shown}${problems.length > 8 ? ` (+${problems.length - 8} more)` : ''}`);
    }
    const o = this.ops;
    for (const [name, p] of mine) {
      const h = sd.get(name);
      if (!h) continue;
      const t = o.tensor(h.data, h.shape);
      if (p.trainable && isTrainOps(o)) o.setRequiresGrad(t, true);
      o.dispose(p.value);
      p.value = t;
    }
  }

  /** Copy all parameters to host memory (e.g. to save as safetensors). */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [name, p] of this.namedParams()) {
      sd.set(name, { shape: [...p.shape], data: this.ops.readSync(p.value) as Float32Array } satisfies HostTensor);
    }
    return sd;
  }

  dispose(): void {
    for (const [, p] of this.namedParams()) this.ops.dispose(p.value);
  }
}

/** fan_in of a conv [out, in/groups, kh, kw] or linear [out, in] weight; 1 for vectors. */
export function fanIn(shape: number[]): number {
  if (shape.length < 2) return Math.max(1, shape[0] ?? 1);
  return shape.slice(1).reduce((a, b) => a * b, 1);
}
