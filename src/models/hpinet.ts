// HPINet: Hierarchical Pixel Integration (Liu, Chen, Tang, Wu; AAAI 2023), released-code semantics.
//
//   base = bilinear×s(x)
//   f = first_conv(x)
//   HPI block i (patch P_i): patches = divide(f, P_i)             [n, P², C], stride P−2
//                            y = patches[argmax_j A_kj]            Global Pixel Access (cross_match.i)
//                            patches = Block(patches, y)           3 pre-norm layers, layer 1 cross-attends y
//                            f = f + mid_convs.i(reverse(patches)) overlaps averaged
//   out = base + last_conv(tail(f)),  tail = LReLU(0.1)∘PS∘upconv (×2, ×3) or twice with PS(2) (×4)
import { type Ops, type Tensor, type TrainOps, isTrainOps } from '../engine/ops.js';
import { Module } from '../nn/module.js';
import { Conv2d, LayerNorm } from '../nn/layers.js';
import { ModuleList } from '../nn/list.js';
import { TransformerLayer } from '../nn/transformer.js';
import { PatchGrid } from '../nn/patches.js';
import { type SRModel, register } from './registry.js';

export interface HPINetConfig {
  dim: number;
  qkDim: number;
  mlpDim: number;
  /** One patch size per HPI block. */
  patchSizes: number[];
}

export const HPINET_VARIANTS: Record<'S' | 'M' | 'L', HPINetConfig> = {
  S: { dim: 40, qkDim: 24, mlpDim: 72, patchSizes: [12, 16, 20, 24, 12, 16, 20, 24] },
  M: { dim: 56, qkDim: 32, mlpDim: 100, patchSizes: [12, 16, 20, 24, 12, 16, 20, 24] },
  L: { dim: 64, qkDim: 36, mlpDim: 128, patchSizes: [12, 14, 16, 20, 24, 12, 14, 16, 20, 24] },
};

/** Attention-matrix budget (floats) per chunk of patches at inference; bounds memory on large images. */
const ATTN_BUDGET = 1 << 23;

/** Global Pixel Access: for every patch, the most similar other patch (pooled, layer-normed tokens). */
export class Match extends Module {
  readonly norm: LayerNorm;

  constructor(ops: Ops, readonly dim: number) {
    super(ops);
    this.norm = this.child('norm', new LayerNorm(ops, dim));
  }

  /** tokens [N·n, P², C] → matched patches [N·n, P², C]. */
  forward(tokens: Tensor, images: number): Tensor {
    const o = this.ops;
    const [Nn, P2, C] = tokens.shape as [number, number, number];
    const n = Nn / images;
    const q = this.norm.forward(o.reshape(o.mean(tokens, 1), [images, n, C]));
    const sim = o.mul(o.matmul(q, o.transpose(q, -1, -2)), this.dim ** -0.5);
    const eye = o.oneHot(o.intTensor(Array.from({ length: n }, (_, i) => i), [n]), n);
    const a = o.sub(sim, o.mul(eye, 100));
    if (this.training && isTrainOps(o)) {
      // Hard Gumbel-softmax: one-hot forward, softmax gradient (straight-through).
      const pick = (o as TrainOps).gumbelSoftmaxHard(a, -1, 1);
      return o.reshape(o.matmul(pick, o.reshape(tokens, [images, n, P2 * C])), [Nn, P2, C]);
    }
    let idx = o.reshape(o.argmax(a, -1), [Nn]);
    if (images > 1) {
      const local = o.readSync(idx);
      idx = o.intTensor(Int32Array.from(local, (v, i) => Number(v) + Math.floor(i / n) * n), [Nn]);
    }
    return o.indexSelect(tokens, 0, idx);
  }
}

/** Intra-Patch Self-Attention: 3 pre-norm layers; the first one cross-attends the matched patch. */
export class IPSABlock extends Module {
  readonly layers: ModuleList<TransformerLayer>;

  constructor(ops: Ops, cfg: HPINetConfig, depth = 3) {
    super(ops);
    const layers = Array.from({ length: depth }, () => new TransformerLayer(ops, cfg.dim, cfg.qkDim, cfg.mlpDim));
    this.layers = this.child('layers', new ModuleList(ops, layers));
  }

  forward(x: Tensor, y: Tensor): Tensor {
    this.layers.items.forEach((layer, i) => {
      x = layer.forward(x, i === 0 ? y : undefined);
    });
    return x;
  }
}

export class HPINet extends Module implements SRModel {
  readonly first_conv: Conv2d;
  readonly blocks: ModuleList<IPSABlock>;
  readonly mid_convs: ModuleList<Conv2d>;
  readonly cross_match: ModuleList<Match>;
  readonly upconvs: Conv2d[];
  readonly last_conv: Conv2d;
  /** Smallest feature-map side the patch division accepts; smaller inputs are padded (replicate). */
  readonly minSide: number;

  constructor(ops: Ops, readonly scale: number, readonly cfg: HPINetConfig) {
    super(ops);
    if (![2, 3, 4].includes(scale)) throw new Error(`HPINet supports scales 2, 3 and 4, not ${scale}`);
    const C = cfg.dim;
    const B = cfg.patchSizes.length;
    this.minSide = Math.max(...cfg.patchSizes);
    this.first_conv = this.child('first_conv', new Conv2d(ops, 3, C, 3));
    this.blocks = this.child('blocks', new ModuleList(ops, Array.from({ length: B }, () => new IPSABlock(ops, cfg))));
    this.mid_convs = this.child('mid_convs', new ModuleList(ops, Array.from({ length: B }, () => new Conv2d(ops, C, C, 3))));
    this.cross_match = this.child('cross_match', new ModuleList(ops, Array.from({ length: B }, () => new Match(ops, C))));
    this.upconvs = scale === 4
      ? [this.child('upconv1', new Conv2d(ops, C, 4 * C, 3)), this.child('upconv2', new Conv2d(ops, C, 4 * C, 3))]
      : [this.child('upconv', new Conv2d(ops, C, scale * scale * C, 3))];
    this.last_conv = this.child('last_conv', new Conv2d(ops, C, 3, 3));
  }

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const [, ch, h, w] = x.shape as [number, number, number, number];
    if (x.shape.length !== 4 || ch !== 3) throw new Error(`HPINet expects input [N, 3, H, W], got [${x.shape.join(', ')}]`);
    const s = this.scale;
    return o.tidy(() => {
      const base = o.resizeBilinear(x, [h * s, w * s]);
      const ph = Math.max(0, this.minSide - h);
      const pw = Math.max(0, this.minSide - w);
      const xin = ph || pw ? o.pad(x, [0, pw, 0, ph], 'replicate') : x;
      let f = this.first_conv.forward(xin);
      for (let i = 0; i < this.blocks.length; i++) {
        const prev = f;
        f = o.tidy(() => this.hpiBlock(i, prev));
      }
      let out = f;
      const r = s === 4 ? 2 : s;
      for (const up of this.upconvs) out = o.leakyRelu(o.pixelShuffle(up.forward(out), r), 0.1);
      out = this.last_conv.forward(out);
      if (ph || pw) out = o.narrow(o.narrow(out, 2, 0, h * s), 3, 0, w * s);
      return o.add(base, out);
    });
  }

  /** One HPI block: divide → match → attention → aggregate → residual conv. */
  private hpiBlock(i: number, f: Tensor): Tensor {
    const o = this.ops;
    const [N, , H, W] = f.shape as [number, number, number, number];
    const grid = new PatchGrid(H, W, this.cfg.patchSizes[i]!);
    const tokens = grid.divide(o, f);
    const matched = this.cross_match.at(i).forward(tokens, N);
    const attended = this.attend(this.blocks.at(i), tokens, matched);
    return o.add(f, this.mid_convs.at(i).forward(grid.reverse(o, attended)));
  }

  /** Run a block over all patches; at inference in chunks that keep the n·P⁴ attention matrix bounded. */
  private attend(block: IPSABlock, tokens: Tensor, matched: Tensor): Tensor {
    const o = this.ops;
    const [n, P2] = tokens.shape as [number, number];
    const chunk = Math.max(1, Math.floor(ATTN_BUDGET / (P2 * P2)));
    if (this.training || n <= chunk) return block.forward(tokens, matched);
    const parts: Tensor[] = [];
    for (let s = 0; s < n; s += chunk) {
      const len = Math.min(chunk, n - s);
      parts.push(o.tidy(() => block.forward(o.narrow(tokens, 0, s, len), o.narrow(matched, 0, s, len))));
    }
    return o.cat(parts, 0);
  }
}

const TRAIN = { lr: 1.5e-4, lrStep: 60, lrGamma: 0.5, loss: 'l1' as const };

for (const v of ['S', 'M', 'L'] as const) {
  register({
    name: `hpinet-${v.toLowerCase()}`,
    title: `HPINet-${v}: Hierarchical Pixel Integration (Liu et al., AAAI 2023)`,
    scales: [2, 3, 4],
    create: (ops, scale) => new HPINet(ops, scale, HPINET_VARIANTS[v]),
    minInput: Math.max(...HPINET_VARIANTS[v].patchSizes),
    train: TRAIN,
  });
}
