// Exponential moving average of the weights, kept on the engine next to the model.
// The decay ramps up as min(decay, (1 + n)/(10 + n)) so that short runs are not dominated by the initialisation.
import type { Tensor, TrainOps } from '../engine/ops.js';
import type { Module, Param } from '../nn/module.js';
import { OptionError } from '../option-error.js';

export class EMA {
  readonly names: string[];
  readonly shadow: Tensor[];
  updates = 0;
  private readonly params: Param[];

  constructor(private readonly o: TrainOps, model: Module, readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new OptionError('ema', `ema decay must be in (0, 1), got ${decay}`);
    const named = model.namedParams();
    this.names = named.map(([n]) => n);
    this.params = named.map(([, p]) => p);
    this.shadow = this.params.map((p) => o.noGrad(() => o.clone(o.detach(p.value))));
  }

  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  update(): void {
    const o = this.o;
    const d = this.currentDecay();
    o.noGrad(() => {
      for (let i = 0; i < this.params.length; i++) {
        const s = this.shadow[i];
        o.tidy(() => {
          const next = o.add(o.mul(s, d), o.mul(o.detach(this.params[i].value), 1 - d));
          o.copy_(s, next);
        });
      }
    });
    this.updates++;
  }

  /** Run fn with the model's parameters replaced by the averaged ones. */
  withWeights<T>(fn: () => T): T {
    const saved = this.params.map((p) => p.value);
    this.params.forEach((p, i) => (p.value = this.shadow[i]));
    try {
      return fn();
    } finally {
      this.params.forEach((p, i) => (p.value = saved[i]));
    }
  }

  async withWeightsAsync<T>(fn: () => Promise<T>): Promise<T> {
    const saved = this.params.map((p) => p.value);
    this.params.forEach((p, i) => (p.value = this.shadow[i]));
    try {
      return await fn();
    } finally {
      this.params.forEach((p, i) => (p.value = saved[i]));
    }
  }

  /** Load averaged weights (e.g. from a checkpoint). */
  load(values: Float32Array[], updates: number): void {
    const o = this.o;
    values.forEach((v, i) => o.noGrad(() => o.tidy(() => o.copy_(this.shadow[i], o.tensor(v, this.params[i].shape)))));
    this.updates = updates;
  }

  dispose(): void {
    this.o.dispose(this.shadow);
  }
}
