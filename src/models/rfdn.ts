// RFDN: Residual Feature Distillation Network (Liu, Tang, Wu; ECCV-W AIM 2020). Spec §5.1; names follow the
// official njulj/RFDN code (AIM build: nf 50, 4 RFDB). x2/x3 use the same body with a 3·s² upsampler.
//
//   x ─ fea_conv ─┬─ B1 ─ B2 ─ B3 ─ B4        (each RFDB output kept)
//                 │   └────┴────┴────┴─ concat ─ c (1×1, LReLU) ─ LR_conv ─(+)─ upsampler (conv, PS) ─ SR
//                 └──────────────────────────────────────────────────────────┘
// Params: x4 433,448 (official RFDN_AIM).
import type { Ops, Tensor } from '../engine/ops.js';
import { ESA, ESA_MIN_SIZE } from '../nn/esa.js';
import { Conv2d } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { register, type SRModel } from './registry.js';

const SLOPE = 0.05;

/**
 * RFDB: three distillation steps (1×1 distilled branch d_i, 3×3 shallow residual branch r_i), a last 3×3,
 * concat [d1, d2, d3, r4] → c5 (1×1) → ESA. No block-level residual (as in the official code).
 */
export class RFDB extends Module {
  private readonly c1_d: Conv2d;
  private readonly c1_r: Conv2d;
  private readonly c2_d: Conv2d;
  private readonly c2_r: Conv2d;
  private readonly c3_d: Conv2d;
  private readonly c3_r: Conv2d;
  private readonly c4: Conv2d;
  private readonly c5: Conv2d;
  private readonly esa: ESA;

  constructor(ops: Ops, c: number) {
    super(ops);
    const dc = Math.floor(c / 2);
    this.c1_d = this.child('c1_d', new Conv2d(ops, c, dc, 1));
    this.c1_r = this.child('c1_r', new Conv2d(ops, c, c, 3));
    this.c2_d = this.child('c2_d', new Conv2d(ops, c, dc, 1));
    this.c2_r = this.child('c2_r', new Conv2d(ops, c, c, 3));
    this.c3_d = this.child('c3_d', new Conv2d(ops, c, dc, 1));
    this.c3_r = this.child('c3_r', new Conv2d(ops, c, c, 3));
    this.c4 = this.child('c4', new Conv2d(ops, c, dc, 3));
    this.c5 = this.child('c5', new Conv2d(ops, 4 * dc, c, 1));
    this.esa = this.child('esa', new ESA(ops, c));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const act = (t: Tensor) => o.leakyRelu(t, SLOPE);
    return o.tidy(() => {
      const d1 = act(this.c1_d.forward(x));
      const r1 = act(o.add(this.c1_r.forward(x), x));
      const d2 = act(this.c2_d.forward(r1));
      const r2 = act(o.add(this.c2_r.forward(r1), r1));
      const d3 = act(this.c3_d.forward(r2));
      const r3 = act(o.add(this.c3_r.forward(r2), r2));
      const r4 = act(this.c4.forward(r3));
      return this.esa.forward(this.c5.forward(o.cat([d1, d2, d3, r4], 1)));
    });
  }
}

export class RFDN extends Module implements SRModel {
  private readonly fea_conv: Conv2d;
  private readonly blocks: RFDB[];
  private readonly c: Conv2d;
  private readonly LR_conv: Conv2d;
  private readonly upsampler: Conv2d;

  constructor(ops: Ops, readonly scale: number, nf = 50, nBlocks = 4) {
    super(ops);
    this.fea_conv = this.child('fea_conv', new Conv2d(ops, 3, nf, 3));
    this.blocks = Array.from({ length: nBlocks }, (_, i) => this.child(`B${i + 1}`, new RFDB(ops, nf)));
    this.c = this.child('c.0', new Conv2d(ops, nf * nBlocks, nf, 1));
    this.LR_conv = this.child('LR_conv', new Conv2d(ops, nf, nf, 3));
    this.upsampler = this.child('upsampler.0', new Conv2d(ops, nf, 3 * scale * scale, 3));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const fea = this.fea_conv.forward(x);
      const outs: Tensor[] = [];
      let b = fea;
      for (const block of this.blocks) outs.push((b = block.forward(b)));
      const fused = o.leakyRelu(this.c.forward(o.cat(outs, 1)), SLOPE);
      const lr = o.add(this.LR_conv.forward(fused), fea);
      return o.pixelShuffle(this.upsampler.forward(lr), this.scale);
    });
  }
}

register({
  name: 'rfdn',
  title: 'RFDN: residual feature distillation network, AIM 2020 build (nf 50, 4 RFDB)',
  scales: [2, 3, 4],
  create: (ops, scale) => new RFDN(ops, scale),
  minInput: ESA_MIN_SIZE,
  // RFDN paper (from memory, unverified): Adam 5e-4, halved every 200 epochs, L1.
  train: { lr: 5e-4, lrStep: 200, lrGamma: 0.5, loss: 'l1' },
});
