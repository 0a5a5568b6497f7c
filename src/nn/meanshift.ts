// EDSR-style MeanShift: a frozen 1×1 conv computing (x + sign·range·mean) / std per channel.
// Names `weight` [3,3,1,1] and `bias` [3] as in EDSR's common.MeanShift; not trainable.
import type { Ops, Tensor } from '../engine/ops.js';
import { Module, type Param } from './module.js';

/** DIV2K RGB mean used by EDSR-family code. */
export const DIV2K_MEAN: [number, number, number] = [0.4488, 0.4371, 0.404];

export class MeanShift extends Module {
  readonly weight: Param;
  readonly bias: Param;

  /** sign −1 subtracts the mean (sub_mean), +1 adds it back (add_mean). */
  constructor(ops: Ops, rgbRange: number, mean: readonly number[] = DIV2K_MEAN, std: readonly number[] = [1, 1, 1], sign: 1 | -1 = -1) {
    super(ops);
    const w = new Float32Array(9);
    const b = new Float32Array(3);
    for (let c = 0; c < 3; c++) {
      w[c * 4] = 1 / std[c]!;
      b[c] = (sign * rgbRange * mean[c]!) / std[c]!;
    }
    this.weight = this.fixed('weight', [3, 3, 1, 1], w);
    this.bias = this.fixed('bias', [3], b);
  }

  private fixed(name: string, shape: number[], data: Float32Array): Param {
    const p = this.param(name, shape, 'zeros', false);
    this.ops.dispose(p.value);
    p.value = this.ops.tensor(data, shape);
    return p;
  }

  forward(x: Tensor): Tensor {
    return this.ops.conv2d(x, this.weight.value, this.bias.value);
  }
}
