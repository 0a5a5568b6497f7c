// Basic layers with PyTorch parameter names (`weight`, `bias`) and PyTorch default initialisation.
import type { Conv2dOptions, Ops, Tensor } from '../engine/ops.js';
import { Module, type Param } from './module.js';

export interface ConvSpec {
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
  bias?: boolean;
}

/** conv k×k, "same" zero padding (k//2·dilation) unless `padding` is given. */
export class Conv2d extends Module {
  readonly weight: Param;
  readonly bias: Param | null;
  readonly opts: Conv2dOptions;

  constructor(ops: Ops, readonly cin: number, readonly cout: number, readonly k: number, spec: ConvSpec = {}) {
    super(ops);
    const groups = spec.groups ?? 1;
    const dilation = spec.dilation ?? 1;
    const bound = 1 / Math.sqrt((cin / groups) * k * k);
    this.weight = this.param('weight', [cout, cin / groups, k, k], { uniform: bound });
    this.bias = spec.bias === false ? null : this.param('bias', [cout], { uniform: bound });
    this.opts = { stride: spec.stride ?? 1, padding: spec.padding ?? Math.floor(k / 2) * dilation, dilation, groups };
  }

  forward(x: Tensor): Tensor {
    return this.ops.conv2d(x, this.weight.value, this.bias?.value ?? null, this.opts);
  }
}

/** Transposed conv; weight layout [cin, cout/groups, k, k] as PyTorch. */
export class ConvTranspose2d extends Module {
  readonly weight: Param;
  readonly bias: Param | null;

  constructor(ops: Ops, readonly cin: number, readonly cout: number, readonly k: number,
    readonly spec: { stride: number; padding: number; outputPadding?: number; bias?: boolean }) {
    super(ops);
    const bound = 1 / Math.sqrt(cout * k * k); // PyTorch: fan_in computed from weight dim 1
    this.weight = this.param('weight', [cin, cout, k, k], { uniform: bound });
    this.bias = spec.bias === false ? null : this.param('bias', [cout], { uniform: bound });
  }

  forward(x: Tensor): Tensor {
    const { stride, padding, outputPadding } = this.spec;
    return this.ops.convTranspose2d(x, this.weight.value, this.bias?.value ?? null, { stride, padding, outputPadding: outputPadding ?? 0 });
  }
}

export class Linear extends Module {
  readonly weight: Param;
  readonly bias: Param | null;

  constructor(ops: Ops, readonly cin: number, readonly cout: number, bias = true) {
    super(ops);
    const bound = 1 / Math.sqrt(cin);
    this.weight = this.param('weight', [cout, cin], { uniform: bound });
    this.bias = bias ? this.param('bias', [cout], { uniform: bound }) : null;
  }

  forward(x: Tensor): Tensor {
    return this.ops.linear(x, this.weight.value, this.bias?.value ?? null);
  }
}

/** LayerNorm over the last dim (weight 1, bias 0 at init). */
export class LayerNorm extends Module {
  readonly weight: Param;
  readonly bias: Param;

  constructor(ops: Ops, readonly dim: number, readonly eps = 1e-5) {
    super(ops);
    this.weight = this.param('weight', [dim], 'ones');
    this.bias = this.param('bias', [dim], 'zeros');
  }

  forward(x: Tensor): Tensor {
    return this.ops.layerNorm(x, [this.dim], this.weight.value, this.bias.value, this.eps);
  }
}
