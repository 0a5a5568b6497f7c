// HFDN: Hierarchical Feature-driven Network (Wen Li, Sumei Li, Anqi Liu; ICIP 2020). RECONSTRUCTED: no code
// or full text exists; this follows the abstract and the plan in spec §4 ("HFDN-R"). Widths are chosen here.
//
//   x ─ head ─ F0 ─ HFM1 … HFM4 ─ F_mid ─ HFM5 … HFM8 ─ CA ─ SA ─(+F0)─ F_deep
//   SR1 = rec1(F0)        SR2 = SR1 + rec2(F_mid)        SR3 = SR2 + rec3(F_deep)     (multi-supervised)
//
//   HFM = ADU (3 dense 3×3 convs, growth g, ReLU; concat [x, f1, f2, f3] with one learnable weight per part;
//         1×1 fuse; + x) → EU (3×3 – ReLU – 3×3, + input).
//   CA = RCAN channel attention (r 16); SA = σ(conv7×7([mean_c, max_c])) · x.
//   rec_k = ConvTranspose2d C→3: ×2 k6 s2 p2, ×3 k13 s3 p5, ×4 k6 s4 p1 (each gives exactly s·H).
//
// Chosen: C = 48, g = 24, 8 HFMs (middle = after HFM 4), 3 dense convs per ADU.
// Params: x2 770,207 / x3 827,663 / x4 770,207 (paper: 760K / 823K / 760K → +1.3 % / +0.6 %).
// The ×3 kernel (13) is the one for which three C→3 deconvs reproduce the paper's x3 − x2 gap (≈ 63K).
import type { Ops, Tensor } from '../engine/ops.js';
import { CALayer } from '../nn/attention.js';
import { Conv2d, ConvTranspose2d } from '../nn/layers.js';
import { Module, type Param } from '../nn/module.js';
import { register, type SRModel } from './registry.js';

export interface HFDNConfig {
  channels: number;
  growth: number;
  hfms: number;
  denseLayers: number;
}

export const HFDN_DEFAULT: HFDNConfig = { channels: 48, growth: 24, hfms: 8, denseLayers: 3 };

/** Transposed-conv geometry per scale: output = (H−1)·s − 2p + k = s·H. */
const DECONV: Record<number, { k: number; stride: number; padding: number }> = {
  2: { k: 6, stride: 2, padding: 2 },
  3: { k: 13, stride: 3, padding: 5 },
  4: { k: 6, stride: 4, padding: 1 },
};

/** Adaptive dense unit: dense 3×3 convs, weighted concatenation, 1×1 fusion, local residual. */
export class ADU extends Module {
  private readonly dense: Conv2d[];
  private readonly alpha: Param;
  private readonly fuse: Conv2d;

  constructor(ops: Ops, c: number, g: number, layers: number) {
    super(ops);
    this.dense = Array.from({ length: layers }, (_, i) => this.child(`dense.${i}`, new Conv2d(ops, c + i * g, g, 3)));
    this.alpha = this.param('alpha', [layers + 1], 'ones'); // one weight per concatenated part
    this.fuse = this.child('fuse', new Conv2d(ops, c + layers * g, c, 1));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const parts = [x];
      for (const conv of this.dense) parts.push(o.relu(conv.forward(o.cat(parts, 1))));
      const weighted = parts.map((p, i) => o.mul(p, o.narrow(this.alpha.value, 0, i, 1)));
      return o.add(this.fuse.forward(o.cat(weighted, 1)), x);
    });
  }
}

/** Enhancement unit: conv3×3 – ReLU – conv3×3 with a residual. */
export class EU extends Module {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;

  constructor(ops: Ops, c: number) {
    super(ops);
    this.conv1 = this.child('conv1', new Conv2d(ops, c, c, 3));
    this.conv2 = this.child('conv2', new Conv2d(ops, c, c, 3));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => o.add(this.conv2.forward(o.relu(this.conv1.forward(x))), x));
  }
}

/** Hierarchical fuse module = ADU → EU. */
export class HFM extends Module {
  private readonly adu: ADU;
  private readonly eu: EU;

  constructor(ops: Ops, cfg: HFDNConfig) {
    super(ops);
    this.adu = this.child('adu', new ADU(ops, cfg.channels, cfg.growth, cfg.denseLayers));
    this.eu = this.child('eu', new EU(ops, cfg.channels));
  }

  forward(x: Tensor): Tensor {
    return this.ops.tidy(() => this.eu.forward(this.adu.forward(x)));
  }
}

/** Spatial attention: σ(conv7×7 on [channel mean, channel max]) · x. */
export class SpatialAttention extends Module {
  private readonly conv: Conv2d;

  constructor(ops: Ops) {
    super(ops);
    this.conv = this.child('conv', new Conv2d(ops, 2, 1, 7));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    return o.tidy(() => {
      const desc = o.cat([o.mean(x, 1, true), o.max(x, 1, true)], 1);
      return o.mul(x, o.sigmoid(this.conv.forward(desc)));
    });
  }
}

export class HFDN extends Module implements SRModel {
  private readonly head: Conv2d;
  private readonly hfms: HFM[];
  private readonly ca: CALayer;
  private readonly sa: SpatialAttention;
  private readonly rec: [ConvTranspose2d, ConvTranspose2d, ConvTranspose2d];

  constructor(ops: Ops, readonly scale: number, readonly cfg: HFDNConfig = HFDN_DEFAULT) {
    super(ops);
    const d = DECONV[scale];
    if (!d) throw new Error(`HFDN supports scales 2, 3 and 4 (got ${scale})`);
    const c = cfg.channels;
    this.head = this.child('head', new Conv2d(ops, 3, c, 3));
    this.hfms = Array.from({ length: cfg.hfms }, (_, i) => this.child(`hfm.${i}`, new HFM(ops, cfg)));
    this.ca = this.child('ca', new CALayer(ops, c));
    this.sa = this.child('sa', new SpatialAttention(ops));
    const deconv = (name: string) => this.child(name, new ConvTranspose2d(ops, c, 3, d.k, { stride: d.stride, padding: d.padding }));
    this.rec = [deconv('rec1'), deconv('rec2'), deconv('rec3')];
  }

  /** [SR1, SR2, SR3]: reconstructions from shallow, +middle, +deep features (all supervised in training). */
  forwardAll(x: Tensor): Tensor[] {
    const o = this.ops;
    return o.tidy(() => {
      const f0 = this.head.forward(x);
      const mid = Math.floor(this.hfms.length / 2);
      let f = f0;
      let fMid = f0;
      this.hfms.forEach((hfm, i) => {
        f = hfm.forward(f);
        if (i + 1 === mid) fMid = f;
      });
      const fDeep = o.add(this.sa.forward(this.ca.forward(f)), f0);
      const sr1 = this.rec[0].forward(f0);
      const sr2 = o.add(sr1, this.rec[1].forward(fMid));
      const sr3 = o.add(sr2, this.rec[2].forward(fDeep));
      return [sr1, sr2, sr3];
    });
  }

  forward(x: Tensor): Tensor {
    return this.ops.tidy(() => this.forwardAll(x)[2]!);
  }
}

register({
  name: 'hfdn',
  title: 'HFDN: hierarchical feature-driven network (ICIP 2020), reconstructed from the abstract',
  scales: [2, 3, 4],
  create: (ops, scale) => new HFDN(ops, scale),
  // Paper: L1 + SSIM loss (on every output). lr 2e-4; the halving schedule is assumed (IMDN-style).
  train: { lr: 2e-4, lrStep: 200, lrGamma: 0.5, loss: 'l1+ssim' },
});
