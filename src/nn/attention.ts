// Channel attention layers, named like the official PyTorch code (`conv_du.0`, `conv_du.2`).
//
//   CALayer  (RCAN, spec §5.3):  w = σ(conv1×1(ReLU(conv1×1(mean_hw(x)))))            → x · w
//   CCALayer (IMDN, spec §1.3):  w = σ(conv1×1(ReLU(conv1×1(std_hw(x) + mean_hw(x))))) → x · w
// with C → ⌊C/r⌋ → C channels (reduction r = 16) and population std (divide by H·W, no epsilon).
import type { Ops, Tensor } from '../engine/ops.js';
import { Module } from './module.js';
import { Conv2d } from './layers.js';

/** `conv_du` = Sequential(conv1×1 C→C/r, ReLU, conv1×1 C/r→C, Sigmoid); indices 1 and 3 hold no weights. */
class SqueezeExcite extends Module {
  readonly down: Conv2d;
  readonly up: Conv2d;

  constructor(ops: Ops, channels: number, reduction: number) {
    super(ops);
    const mid = Math.floor(channels / reduction);
    if (mid < 1) throw new Error(`channel attention needs at least ${reduction} channels (got ${channels})`);
    this.down = this.child('0', new Conv2d(ops, channels, mid, 1));
    this.up = this.child('2', new Conv2d(ops, mid, channels, 1));
  }

  /** z [N,C,1,1] → weights [N,C,1,1] in (0,1) */
  forward(z: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => o.sigmoid(this.up.forward(o.relu(this.down.forward(z)))));
  }
}

/** RCAN channel attention: global average pooling → squeeze/excite → rescale. */
export class CALayer extends Module {
  readonly conv_du: SqueezeExcite;

  constructor(ops: Ops, readonly channels: number, reduction = 16) {
    super(ops);
    this.conv_du = this.child('conv_du', new SqueezeExcite(ops, channels, reduction));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => o.mul(x, this.conv_du.forward(o.mean(x, [2, 3], true))));
  }
}

/** IMDN contrast-aware channel attention: CALayer with (std + mean) per channel in place of the mean. */
export class CCALayer extends CALayer {
  override forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const mean = o.mean(x, [2, 3], true); //                  [N,C,1,1]
      const std = o.sqrt(o.variance(x, [2, 3], true)); //       [N,C,1,1], population std
      return o.mul(x, this.conv_du.forward(o.add(std, mean)));
    });
  }
}
