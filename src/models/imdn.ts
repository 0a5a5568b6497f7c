// IMDN: Information Multi-distillation Network (Hui, Gao, Yang, Wang; ACM MM 2019), spec §1.
// Parameter names follow the official code so its checkpoints load by name.
//
//   x [N,3,h,w] ─ fea_conv 3×3 ─┬─ IMDB1 ─ IMDB2 ─ … ─ IMDB6          (Fig. 1)
//                               │    │       │           │
//                               │    └───────┴─ concat ──┴─ c: 1×1 384→64, LReLU   (IIC)
//                               │                               │
//                               │                         LR_conv 3×3
//                               └──────────────────────────── (+) ─ upsampler: 3×3 64→3s², PS(s) → [N,3,sh,sw]
import type { Ops, Tensor } from '../engine/ops.js';
import { Module } from '../nn/module.js';
import { Conv2d } from '../nn/layers.js';
import { CCALayer } from '../nn/attention.js';
import { register, type SRModel } from './registry.js';

const SLOPE = 0.05; // LeakyReLU slope everywhere in IMDN (CCA uses ReLU)

/** Holder for PyTorch `nn.Sequential` weights at given indices (e.g. `c.0`, `upsampler.0`). */
class Seq extends Module {
  at<M extends Module>(index: number, m: M): M {
    return this.child(String(index), m);
  }
}

/**
 * IMDB (Fig. 2): progressive refinement, "first 16 channels distilled, last 48 processed further".
 *   c1 3×3 64→64, LReLU → split d1 [16] | r1 [48]
 *   c2 3×3 48→64, LReLU → split d2 [16] | r2 [48]
 *   c3 3×3 48→64, LReLU → split d3 [16] | r3 [48]
 *   c4 3×3 48→16              → d4 [16]
 *   cat[d1,d2,d3,d4] [64] → CCA → c5 1×1 64→64 → + x
 */
export class IMDModule extends Module {
  readonly distilled: number;
  readonly remaining: number;
  readonly c1: Conv2d;
  readonly c2: Conv2d;
  readonly c3: Conv2d;
  readonly c4: Conv2d;
  readonly c5: Conv2d;
  readonly cca: CCALayer;

  constructor(ops: Ops, readonly channels = 64, distillationRate = 0.25) {
    super(ops);
    const d = (this.distilled = Math.floor(channels * distillationRate));
    const r = (this.remaining = channels - d);
    this.c1 = this.child('c1', new Conv2d(ops, channels, channels, 3));
    this.c2 = this.child('c2', new Conv2d(ops, r, channels, 3));
    this.c3 = this.child('c3', new Conv2d(ops, r, channels, 3));
    this.c4 = this.child('c4', new Conv2d(ops, r, d, 3));
    this.c5 = this.child('c5', new Conv2d(ops, d * 4, channels, 1));
    this.cca = this.child('cca', new CCALayer(ops, d * 4));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const sizes = [this.distilled, this.remaining];
    return o.tidy(() => {
      const [d1, r1] = o.split(o.leakyRelu(this.c1.forward(x), SLOPE), sizes, 1); // [N,16|48,h,w]
      const [d2, r2] = o.split(o.leakyRelu(this.c2.forward(r1), SLOPE), sizes, 1);
      const [d3, r3] = o.split(o.leakyRelu(this.c3.forward(r2), SLOPE), sizes, 1);
      const d4 = this.c4.forward(r3); //                                               [N,16,h,w]
      const fused = this.c5.forward(this.cca.forward(o.cat([d1, d2, d3, d4], 1))); //  [N,64,h,w]
      return o.add(fused, x);
    });
  }
}

type Add = <M extends Module>(name: string, m: M) => M;

/** The shared trunk after the head: 6 IMDBs, IIC fusion `c.0`, `LR_conv`, `upsampler.0` (Fig. 1). */
interface Trunk {
  blocks: IMDModule[];
  iic: Conv2d;
  lrConv: Conv2d;
  upConv: Conv2d;
  shuffle: number;
}

function buildTrunk(ops: Ops, add: Add, nf: number, outChannels: number, shuffle: number): Trunk {
  const blocks: IMDModule[] = [];
  for (let i = 1; i <= 6; i++) blocks.push(add(`IMDB${i}`, new IMDModule(ops, nf)));
  const iic = add('c', new Seq(ops)).at(0, new Conv2d(ops, nf * 6, nf, 1)); //                 1×1 384→64
  const lrConv = add('LR_conv', new Conv2d(ops, nf, nf, 3)); //                                3×3 64→64
  const upConv = add('upsampler', new Seq(ops)).at(0, new Conv2d(ops, nf, outChannels * shuffle ** 2, 3));
  return { blocks, iic, lrConv, upConv, shuffle };
}

/** fea [N,64,h,w] → IMDB1..6 → IIC → LR_conv → + fea → upsampler → [N,3,h·s,w·s] */
function runTrunk(ops: Ops, t: Trunk, fea: Tensor): Tensor {
  const o = ops;
  const outs: Tensor[] = [];
  let b = fea;
  for (const block of t.blocks) outs.push((b = block.forward(b))); //                     6 × [N,64,h,w]
  const fused = o.leakyRelu(t.iic.forward(o.cat(outs, 1)), SLOPE); //                      [N,64,h,w]
  const lr = o.add(t.lrConv.forward(fused), fea); //                                         global feature residual
  return o.pixelShuffle(t.upConv.forward(lr), t.shuffle); //                                 [N,3,h·s,w·s]
}

/** IMDN for ×2/×3/×4: fea_conv 3×3 3→64 (no activation), trunk, upsampler 3×3 64→3s² + PS(s). */
export class IMDN extends Module implements SRModel {
  readonly feaConv: Conv2d;
  readonly trunk: Trunk;

  constructor(ops: Ops, readonly scale: number, nf = 64) {
    super(ops);
    const add: Add = (n, m) => this.child(n, m);
    this.feaConv = add('fea_conv', new Conv2d(ops, 3, nf, 3));
    this.trunk = buildTrunk(ops, add, nf, 3, scale);
  }

  forward(x: Tensor): Tensor {
    return this.ops.tidy(() => runTrunk(this.ops, this.trunk, this.feaConv.forward(x)));
  }
}

/**
 * IMDN_AS (spec §1.6), for inputs already resized to the target size; output size = input size.
 *   fea_conv = [conv 3×3 stride 2 3→64, LReLU, conv 3×3 stride 2 64→64]   [N,3,H,W] → [N,64,H/4,W/4]
 *   trunk as IMDN, upsampler 3×3 64→48 + PS(4)                              → [N,3,H,W]
 * H and W must be multiples of 4; otherwise `forward` uses adaptive cropping (§1.7).
 */
export class IMDN_AS extends Module implements SRModel {
  readonly scale = 1;
  readonly down1: Conv2d;
  readonly down2: Conv2d;
  readonly trunk: Trunk;

  constructor(ops: Ops, nf = 64) {
    super(ops);
    const add: Add = (n, m) => this.child(n, m);
    const head = add('fea_conv', new Seq(ops));
    this.down1 = head.at(0, new Conv2d(ops, 3, nf, 3, { stride: 2, padding: 1 }));
    this.down2 = head.at(2, new Conv2d(ops, nf, nf, 3, { stride: 2, padding: 1 }));
    this.trunk = buildTrunk(ops, add, nf, 3, 4);
  }

  /** One pass over the whole input; H, W multiples of 4. */
  forwardWhole(x: Tensor): Tensor {
    const o = this.ops;
    const [, , h, w] = x.shape;
    if (h % 4 || w % 4) throw new Error(`IMDN_AS needs sides that are multiples of 4 for one pass (got ${w}×${h})`);
    return o.tidy(() => runTrunk(o, this.trunk, this.down2.forward(o.leakyRelu(this.down1.forward(x), SLOPE))));
  }

  forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    return h % 4 === 0 && w % 4 === 0 ? this.forwardWhole(x) : adaptiveCrop(this.ops, (t) => this.forwardWhole(t), x);
  }
}

/** Crop side for ACS: the largest multiple of 4 that is ≤ ⌊n/2⌋ + 32. */
function cropSide(n: number, shave = 32): number {
  const half = Math.floor(n / 2);
  return half + shave - ((half + shave) % 4);
}

/**
 * Adaptive Cropping Strategy (spec §1.7, as test_IMDN_AS.py): four overlapping corner crops whose sides are
 * multiples of 4, run as one batch, stitched at the image centre. `net` must be size-preserving.
 * Images too small for such crops (a side below about 62 px) are edge-padded to a multiple of 4 instead,
 * run once and cropped back.
 */
export function adaptiveCrop(ops: Ops, net: (x: Tensor) => Tensor, x: Tensor): Tensor {
  const o = ops;
  const [n, , H, W] = x.shape;
  const hs = cropSide(H);
  const ws = cropSide(W);
  return o.tidy(() => {
    if (hs > H || ws > W) {
      const y = net(o.pad(x, [0, (4 - (W % 4)) % 4, 0, (4 - (H % 4)) % 4], 'replicate'));
      return o.narrow(o.narrow(y, 2, 0, H), 3, 0, W);
    }
    const hh = Math.floor(H / 2);
    const wh = Math.floor(W / 2);
    const crop = (top: number, left: number) => o.narrow(o.narrow(x, 2, top, hs), 3, left, ws);
    const batch = o.cat([crop(0, 0), crop(0, W - ws), crop(H - hs, 0), crop(H - hs, W - ws)], 0); // [4N,3,hs,ws]
    const [tl, tr, bl, br] = o.split(net(batch), [n, n, n, n], 0);
    const part = (t: Tensor, top: number, height: number, left: number, width: number) =>
      o.narrow(o.narrow(t, 2, top, height), 3, left, width);
    const top = o.cat([part(tl, 0, hh, 0, wh), part(tr, 0, hh, ws - W + wh, W - wh)], 3);
    const bottom = o.cat([part(bl, hs - H + hh, H - hh, 0, wh), part(br, hs - H + hh, H - hh, ws - W + wh, W - wh)], 3);
    return o.cat([top, bottom], 2); //                                                       [N,3,H,W]
  });
}

register({
  name: 'imdn',
  title: 'IMDN: Information Multi-distillation Network (Hui et al., ACM MM 2019)',
  scales: [2, 3, 4],
  create: (ops, scale) => new IMDN(ops, scale),
  minInput: 1,
  train: { lr: 2e-4, lrStep: 200, lrGamma: 0.5, loss: 'l1' },
});

register({
  name: 'imdn-as',
  title: 'IMDN_AS: any-scale IMDN for inputs pre-resized to the output size (×1 net, adaptive cropping)',
  scales: [1],
  create: (ops) => new IMDN_AS(ops),
  minInput: 1,
});
