// Training losses built from ops (differentiable on the torch backend).
import type { Ops, Tensor } from '../engine/ops.js';

export type LossName = 'l1' | 'charbonnier' | 'l1+ssim';
export const LOSSES: LossName[] = ['l1', 'charbonnier', 'l1+ssim'];

export interface Loss {
  readonly name: LossName;
  /** Scalar loss of `sr` against `hr` (both [N,C,H,W] in [0,1]). */
  compute(sr: Tensor, hr: Tensor): Tensor;
  dispose(): void;
}

export function l1(o: Ops, sr: Tensor, hr: Tensor): Tensor {
  return o.mean(o.abs(o.sub(sr, hr)));
}

/** mean(sqrt((sr − hr)² + ε²)), a smooth L1. */
export function charbonnier(o: Ops, sr: Tensor, hr: Tensor, eps = 1e-3): Tensor {
  return o.mean(o.sqrt(o.add(o.mul(o.sub(sr, hr), o.sub(sr, hr)), eps * eps)));
}

/** 1-D Gaussian window (normalised), as in the SSIM reference: 11 taps, σ 1.5. */
export function gaussianWindow(size = 11, sigma = 1.5): Float32Array {
  const g = new Float32Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) g[i] /= s;
  return g;
}

/**
 * Differentiable SSIM on [0,1] images, per channel with an 11×11 Gaussian window (σ 1.5, separable, 'valid'),
 * C1 = 0.01², C2 = 0.03²; the mean over the map, channels and batch.
 */
export class SSIM {
  private readonly gx: Tensor;
  private readonly gy: Tensor;

  constructor(private readonly o: Ops, readonly channels = 3, readonly size = 11, sigma = 1.5) {
    const g = gaussianWindow(size, sigma);
    const rep = new Float32Array(channels * size);
    for (let c = 0; c < channels; c++) rep.set(g, c * size);
    this.gx = o.tensor(rep, [channels, 1, 1, size]);
    this.gy = o.tensor(rep, [channels, 1, size, 1]);
  }

  private blur(x: Tensor): Tensor {
    const o = this.o;
    const opts = { groups: this.channels, padding: 0 };
    return o.conv2d(o.conv2d(x, this.gx, null, opts), this.gy, null, opts);
  }

  compute(a: Tensor, b: Tensor): Tensor {
    const o = this.o;
    const n = a.shape[0];
    if (a.shape[2] < this.size || a.shape[3] < this.size) throw new Error(`SSIM needs images of at least ${this.size}×${this.size}`);
    // One grouped convolution for all five local statistics.
    const stats = this.blur(o.cat([a, b, o.mul(a, a), o.mul(b, b), o.mul(a, b)], 0));
    const [mu1, mu2, e11, e22, e12] = o.split(stats, [n, n, n, n, n], 0);
    const mu11 = o.mul(mu1, mu1);
    const mu22 = o.mul(mu2, mu2);
    const mu12 = o.mul(mu1, mu2);
    const C1 = 0.01 ** 2;
    const C2 = 0.03 ** 2;
    const num = o.mul(o.add(o.mul(mu12, 2), C1), o.add(o.mul(o.sub(e12, mu12), 2), C2));
    const den = o.mul(o.add(o.add(mu11, mu22), C1), o.add(o.add(o.sub(e11, mu11), o.sub(e22, mu22)), C2));
    return o.mean(o.div(num, den));
  }

  dispose(): void {
    this.o.dispose([this.gx, this.gy]);
  }
}

export function createLoss(o: Ops, name: LossName, opts: { ssimWeight?: number } = {}): Loss {
  switch (name) {
    case 'l1':
      return { name, compute: (sr, hr) => l1(o, sr, hr), dispose: () => undefined };
    case 'charbonnier':
      return { name, compute: (sr, hr) => charbonnier(o, sr, hr), dispose: () => undefined };
    case 'l1+ssim': {
      const ssim = new SSIM(o);
      const w = opts.ssimWeight ?? 0.1;
      return {
        name,
        compute: (sr, hr) => o.add(l1(o, sr, hr), o.mul(o.add(o.neg(ssim.compute(sr, hr)), 1), w)),
        dispose: () => ssim.dispose(),
      };
    }
    default:
      throw new Error(`unknown loss '${name as string}' (use ${LOSSES.join(', ')})`);
  }
}
