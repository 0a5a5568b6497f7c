// RDB + CA + ESA: the project's seed design (spec §5.4), C = 50 channels, N = 6 blocks.
//
//   x ─ head (3×3, ReLU) ─ h ─┬─ RDB1 ─ RDB2 ─ … ─ RDB6        (each output kept)
//                             │    └──────┴─ concat ─┴─ gff (1×1 N·C→C) ─ ESA ─(+)─ upsampler (3×3 C→3s², PS) ─ SR
//                             └────────────────────────────────────────────┘
//   RDB: F1 = ReLU(conv1(x)), F2 = ReLU(conv2(F1)), F3 = ReLU(conv3(F2));  out = x + CA(lff([F1, F2, F3]))
// Params: x2 481,830 / x3 488,595 / x4 498,066.
import type { Ops, Tensor } from '../engine/ops.js';
import { CALayer } from '../nn/attention.js';
import { ESA, ESA_MIN_SIZE } from '../nn/esa.js';
import { Conv2d } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { register, type SRModel } from './registry.js';

/** Residual dense-style block: a chain of three 3×3 convs, local fusion of all three, channel attention. */
export class RDB extends Module {
  private readonly convs: [Conv2d, Conv2d, Conv2d];
  private readonly lff: Conv2d;
  private readonly ca: CALayer;

  constructor(ops: Ops, c: number) {
    super(ops);
    this.convs = [
      this.child('conv1', new Conv2d(ops, c, c, 3)),
      this.child('conv2', new Conv2d(ops, c, c, 3)),
      this.child('conv3', new Conv2d(ops, c, c, 3)),
    ];
    this.lff = this.child('lff', new Conv2d(ops, 3 * c, c, 1));
    this.ca = this.child('ca', new CALayer(ops, c));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const f1 = o.relu(this.convs[0].forward(x));
      const f2 = o.relu(this.convs[1].forward(f1));
      const f3 = o.relu(this.convs[2].forward(f2));
      return o.add(x, this.ca.forward(this.lff.forward(o.cat([f1, f2, f3], 1))));
    });
  }
}

export class RDNESA extends Module implements SRModel {
  private readonly head: Conv2d;
  private readonly rdbs: RDB[];
  private readonly gff: Conv2d;
  private readonly esa: ESA;
  private readonly upsampler: Conv2d;

  constructor(ops: Ops, readonly scale: number, c = 50, n = 6) {
    super(ops);
    this.head = this.child('head', new Conv2d(ops, 3, c, 3));
    this.rdbs = Array.from({ length: n }, (_, i) => this.child(`rdb.${i}`, new RDB(ops, c)));
    this.gff = this.child('gff', new Conv2d(ops, n * c, c, 1));
    this.esa = this.child('esa', new ESA(ops, c));
    this.upsampler = this.child('upsampler.0', new Conv2d(ops, c, 3 * scale * scale, 3));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const h = o.relu(this.head.forward(x));
      const outs: Tensor[] = [];
      let b = h;
      for (const rdb of this.rdbs) outs.push((b = rdb.forward(b)));
      const g = o.add(this.esa.forward(this.gff.forward(o.cat(outs, 1))), h);
      return o.pixelShuffle(this.upsampler.forward(g), this.scale);
    });
  }
}

register({
  name: 'rdnesa',
  title: 'RDB + CA + ESA: residual blocks with channel attention and enhanced spatial attention (C 50, N 6)',
  scales: [2, 3, 4],
  create: (ops, scale) => new RDNESA(ops, scale),
  minInput: ESA_MIN_SIZE,
  // Seed design, no paper: IMDN-style defaults (Adam 2e-4, halved every 200 epochs, L1).
  train: { lr: 2e-4, lrStep: 200, lrGamma: 0.5, loss: 'l1' },
});
