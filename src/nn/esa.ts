// ESA: enhanced spatial attention (RFDN, Liu et al. 2020; spec §5.2). Names follow the official block.py.
//   c1_ = conv1×1 C→f;  c1 = conv3×3 stride 2, no padding;  v = ReLU(conv_max(maxpool 7/3 (c1)))
//   c3 = conv3_(ReLU(conv3(v))), resized bilinearly to H×W;  m = σ(conv4(c3 + conv_f(c1_)));  out = x·m
// The stride-2 conv + 7×7 pool need ≥ 15 px: smaller inputs are replicate-padded for the mask only,
// and the mask is cropped back, so any input size works.
import type { Ops, Tensor } from '../engine/ops.js';
import { Conv2d } from './layers.js';
import { Module } from './module.js';

export const ESA_MIN_SIZE = 15;

export class ESA extends Module {
  readonly conv1: Conv2d;
  readonly conv_f: Conv2d;
  readonly conv_max: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  readonly conv3_: Conv2d;
  readonly conv4: Conv2d;

  constructor(ops: Ops, readonly channels: number) {
    super(ops);
    const f = Math.floor(channels / 4);
    this.conv1 = this.child('conv1', new Conv2d(ops, channels, f, 1));
    this.conv_f = this.child('conv_f', new Conv2d(ops, f, f, 1));
    this.conv_max = this.child('conv_max', new Conv2d(ops, f, f, 3));
    this.conv2 = this.child('conv2', new Conv2d(ops, f, f, 3, { stride: 2, padding: 0 }));
    this.conv3 = this.child('conv3', new Conv2d(ops, f, f, 3));
    this.conv3_ = this.child('conv3_', new Conv2d(ops, f, f, 3));
    this.conv4 = this.child('conv4', new Conv2d(ops, f, channels, 1));
  }

  /** The attention mask σ(…) for x, same shape as x; x must be ≥ 15 px per side. */
  private mask(x: Tensor): Tensor {
    const o = this.ops;
    const [, , h, w] = x.shape;
    const c1_ = this.conv1.forward(x);
    const c1 = this.conv2.forward(c1_);
    const vMax = o.maxPool2d(c1, 7, 3);
    const vRange = o.relu(this.conv_max.forward(vMax));
    let c3 = o.relu(this.conv3.forward(vRange));
    c3 = this.conv3_.forward(c3);
    c3 = o.resizeBilinear(c3, [h!, w!]);
    const cf = this.conv_f.forward(c1_);
    return o.sigmoid(this.conv4.forward(o.add(c3, cf)));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const [, , h, w] = x.shape as number[];
      const ph = Math.max(0, ESA_MIN_SIZE - h!);
      const pw = Math.max(0, ESA_MIN_SIZE - w!);
      if (ph === 0 && pw === 0) return o.mul(x, this.mask(x));
      const top = Math.floor(ph / 2);
      const left = Math.floor(pw / 2);
      const xp = o.pad(x, [left, pw - left, top, ph - top], 'replicate');
      const m = o.narrow(o.narrow(this.mask(xp), 2, top, h!), 3, left, w!);
      return o.mul(x, m);
    });
  }
}
