// Pre-norm transformer pieces over token tensors [batch, tokens, dim] (HPINet style; PyTorch names:
// `<i>.0.norm`, `<i>.0.fn.to_q|to_k|to_v`, `<i>.1.norm`, `<i>.1.fn.fc1|fc2`).
import type { Ops, Tensor } from '../engine/ops.js';
import { Module } from './module.js';
import { LayerNorm, Linear } from './layers.js';

/** Single-head attention without output projection; keys/values come from `y` when given (cross-attention). */
export class Attention extends Module {
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly scale: number;

  constructor(ops: Ops, dim: number, readonly qkDim: number) {
    super(ops);
    this.to_q = this.child('to_q', new Linear(ops, dim, qkDim, false));
    this.to_k = this.child('to_k', new Linear(ops, dim, qkDim, false));
    this.to_v = this.child('to_v', new Linear(ops, dim, dim, false));
    this.scale = qkDim ** -0.5;
  }

  forward(x: Tensor, y: Tensor = x): Tensor {
    const o = this.ops;
    // the scale is applied to q (n·P²·qk values) rather than to the n·P⁴ scores
    const q = o.mul(this.to_q.forward(x), this.scale);
    const k = this.to_k.forward(y);
    const v = this.to_v.forward(y);
    const attn = o.softmax(o.matmul(q, o.transpose(k, -1, -2)), -1);
    return o.matmul(attn, v);
  }
}

/** fc1 → exact GELU → fc2. */
export class FeedForward extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(ops: Ops, dim: number, hidden: number) {
    super(ops);
    this.fc1 = this.child('fc1', new Linear(ops, dim, hidden));
    this.fc2 = this.child('fc2', new Linear(ops, hidden, dim));
  }

  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.ops.gelu(this.fc1.forward(x)));
  }
}

/** LayerNorm in front of a sub-layer (`norm`, `fn`). */
export class PreNorm<F extends Module> extends Module {
  readonly norm: LayerNorm;
  readonly fn: F;

  constructor(ops: Ops, dim: number, fn: F) {
    super(ops);
    this.norm = this.child('norm', new LayerNorm(ops, dim));
    this.fn = this.child('fn', fn);
  }
}

/**
 * x ← x + Attn(LN(x), y); x ← x + FFN(LN(x)). With `y` the keys and values are taken from `y` as is
 * (not normalised): HPINet's cross-attention with the matched patch.
 */
export class TransformerLayer extends Module {
  readonly attn: PreNorm<Attention>;
  readonly ffn: PreNorm<FeedForward>;

  constructor(ops: Ops, dim: number, qkDim: number, hidden: number) {
    super(ops);
    this.attn = this.child('0', new PreNorm(ops, dim, new Attention(ops, dim, qkDim)));
    this.ffn = this.child('1', new PreNorm(ops, dim, new FeedForward(ops, dim, hidden)));
  }

  forward(x: Tensor, y?: Tensor): Tensor {
    const o = this.ops;
    const h = this.attn.norm.forward(x);
    x = o.add(this.attn.fn.forward(h, y ?? h), x);
    return o.add(this.ffn.fn.forward(this.ffn.norm.forward(x)), x);
  }
}
