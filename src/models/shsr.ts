// SHSR: Sequential Hierarchical Learning with Distribution Transformation (Liu, Zhang, Wang, Ma, Gao;
// ACM TOMM 2022). Spec §3; parameter names follow the official shsr.py (WideConv = SMB, FeatureNorm = DTB).
//
//   x ∈ [0,1] ─×255─ sub_mean ─ head ─┬─ body[0..7] (SMB+DTB) ─ body[8] ─ReLU─ body[10] ─(+)─ tail ─ upsample ─ add_mean ─÷255─ SR
//                                     └──────────────────────── long skip ─────────────────┘
// EDSR conventions inside (rgb_range 255, DIV2K mean shift); the [0,1] scaling keeps the registry contract.
// Params (trainable): x2 3,577,548 / x3 3,586,203 / x4 3,598,320.
import type { Ops, Tensor } from '../engine/ops.js';
import { Conv2d } from '../nn/layers.js';
import { MeanShift } from '../nn/meanshift.js';
import { Module } from '../nn/module.js';
import { register, type SRModel } from './registry.js';

const RGB_RANGE = 255;

/** DTB ("FeatureNorm"): p = proc(f); out = f·(1 + γ(p)) + β(p), γ/β = depthwise 3×3 after 1×1 + ReLU. */
export class DTB extends Module {
  private readonly proc: Conv2d;
  private readonly gamma: [Conv2d, Conv2d];
  private readonly beta: [Conv2d, Conv2d];

  constructor(ops: Ops, c: number) {
    super(ops);
    this.proc = this.child('proc', new Conv2d(ops, c, c, 3));
    this.gamma = [this.child('gamma.0', new Conv2d(ops, c, c, 1)), this.child('gamma.2', new Conv2d(ops, c, c, 3, { groups: c }))];
    this.beta = [this.child('beta.0', new Conv2d(ops, c, c, 1)), this.child('beta.2', new Conv2d(ops, c, c, 3, { groups: c }))];
  }

  forward(f: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const p = this.proc.forward(f);
      const gamma = o.sigmoid(this.gamma[1].forward(o.relu(this.gamma[0].forward(p))));
      const beta = this.beta[1].forward(o.relu(this.beta[0].forward(p)));
      return o.add(o.mul(f, o.add(gamma, 1)), beta);
    });
  }
}

/** SMB + DTB ("WideConv"): cumulative 3/5/7/9 receptive-field branches, 1×1 fusion, DTB, block residual. */
export class SMB extends Module {
  private readonly conv_3x3: Conv2d;
  private readonly conv_5x5: Conv2d[];
  private readonly conv_7x7: Conv2d[];
  private readonly conv_9x9: Conv2d[];
  private readonly conv_1x1: Conv2d;
  private readonly fn: DTB;

  constructor(ops: Ops, c: number) {
    super(ops);
    // n stacked 3×3 convs with ReLU between, named like nn.Sequential entries 0, 2, 4, …
    const stack = (name: string, n: number) =>
      Array.from({ length: n }, (_, i) => this.child(`${name}.${2 * i}`, new Conv2d(ops, c, c, 3)));
    this.conv_3x3 = this.child('conv_3x3', new Conv2d(ops, c, c, 3));
    this.conv_5x5 = stack('conv_5x5', 2);
    this.conv_7x7 = stack('conv_7x7', 3);
    this.conv_9x9 = stack('conv_9x9', 4);
    this.conv_1x1 = this.child('conv_1x1', new Conv2d(ops, 4 * c, c, 1));
    this.fn = this.child('fn', new DTB(ops, c));
  }

  private chain(convs: Conv2d[], x: Tensor): Tensor {
    let y = x;
    convs.forEach((conv, i) => {
      y = conv.forward(y);
      if (i < convs.length - 1) y = this.ops.relu(y);
    });
    return y;
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const x3 = this.conv_3x3.forward(x);
      const x5 = o.add(this.chain(this.conv_5x5, x3), x3);
      const x7 = o.add(this.chain(this.conv_7x7, x5), x5);
      const x9 = o.add(this.chain(this.conv_9x9, x7), x7);
      const f = this.conv_1x1.forward(o.cat([x3, x5, x7, x9], 1));
      return o.add(this.fn.forward(f), x);
    });
  }
}

export class SHSR extends Module implements SRModel {
  private readonly sub_mean: MeanShift;
  private readonly head: Conv2d;
  private readonly smbs: SMB[];
  private readonly bodyEnd: [Conv2d, Conv2d];
  private readonly tail: Conv2d;
  private readonly upsample: Conv2d;
  private readonly add_mean: MeanShift;

  constructor(ops: Ops, readonly scale: number, nFeats = 64, nBlocks = 8) {
    super(ops);
    this.sub_mean = this.child('sub_mean', new MeanShift(ops, RGB_RANGE, undefined, undefined, -1));
    this.add_mean = this.child('add_mean', new MeanShift(ops, RGB_RANGE, undefined, undefined, 1));
    this.head = this.child('head', new Conv2d(ops, 3, nFeats, 3));
    this.smbs = Array.from({ length: nBlocks }, (_, i) => this.child(`body.${i}`, new SMB(ops, nFeats)));
    this.bodyEnd = [
      this.child(`body.${nBlocks}`, new Conv2d(ops, nFeats, nFeats, 3)),
      this.child(`body.${nBlocks + 2}`, new Conv2d(ops, nFeats, nFeats, 3)),
    ];
    this.tail = this.child('tail', new Conv2d(ops, nFeats, nFeats, 3));
    this.upsample = this.child('upsample.conv', new Conv2d(ops, nFeats, 3 * scale * scale, 3));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const h = this.head.forward(this.sub_mean.forward(o.mul(x, RGB_RANGE)));
      let b = h;
      for (const smb of this.smbs) b = smb.forward(b);
      b = this.bodyEnd[1].forward(o.relu(this.bodyEnd[0].forward(b)));
      const t = this.tail.forward(o.add(b, h));
      const sr = o.pixelShuffle(this.upsample.forward(t), this.scale);
      return o.div(this.add_mean.forward(sr), RGB_RANGE);
    });
  }
}

register({
  name: 'shsr',
  title: 'SHSR: sequential hierarchical learning with distribution transformation (TOMM 2022)',
  scales: [2, 3, 4],
  create: (ops, scale) => new SHSR(ops, scale),
  // MSRN/EDSR code base defaults (spec §3.4): Adam 1e-4, halved every 200 epochs, L1.
  train: { lr: 1e-4, lrStep: 200, lrGamma: 0.5, loss: 'l1' },
});
