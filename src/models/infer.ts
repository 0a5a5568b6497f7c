// Whole-image inference, optionally with the ×8 self-ensemble of spec §6.6.
import type { Ops, Tensor } from '../engine/ops.js';
import { isTrainOps } from '../engine/ops.js';
import type { PlanarImage } from '../image/types.js';
import type { SRModel } from './registry.js';

export interface PredictOptions {
  /** Average the 8 dihedral variants (EDSR forward_x8 order). */
  selfEnsemble?: boolean;
}

// Dihedral transforms on [N,C,H,W]: v flips W, h flips H, t swaps H and W.
const v = (o: Ops, x: Tensor) => o.flip(x, [3]);
const h = (o: Ops, x: Tensor) => o.flip(x, [2]);
const t = (o: Ops, x: Tensor) => o.transpose(x, 2, 3);

/** Variant i of [x, v(x), h(x), h(v(x)), t(x), t(v(x)), t(h(x)), t(h(v(x)))]. */
function forwardTransform(o: Ops, x: Tensor, i: number): Tensor {
  let y = x;
  if (i % 2 === 1) y = v(o, y);
  if (i % 4 > 1) y = h(o, y);
  if (i > 3) y = t(o, y);
  return y;
}

/** Undo variant i on an output: t (i > 3), then h ((i mod 4) > 1), then v ((i mod 4) odd). */
function inverseTransform(o: Ops, y: Tensor, i: number): Tensor {
  let z = y;
  if (i > 3) z = t(o, z);
  if (i % 4 > 1) z = h(o, z);
  if (i % 2 === 1) z = v(o, z);
  return z;
}

/** Model output for a batch tensor [N,3,h,w]; the self-ensemble runs the 8 variants one at a time and averages. */
export function predictTensor(ops: Ops, model: SRModel, x: Tensor, opts: PredictOptions = {}): Tensor {
  const o = ops;
  const run = () =>
    o.tidy(() => {
      if (!opts.selfEnsemble) return model.forward(x);
      let acc: Tensor | null = null;
      for (let i = 0; i < 8; i++) {
        const next: Tensor = o.tidy(() => {
          const y = inverseTransform(o, model.forward(forwardTransform(o, x, i)), i);
          return acc ? o.add(acc, y) : y;
        });
        if (acc) o.dispose(acc);
        acc = next;
      }
      return o.div(acc as Tensor, 8);
    });
  return isTrainOps(o) ? o.noGrad(run) : run();
}

/** SR of one planar image (CHW, [0,1]); the result is not clamped. */
export async function predict(ops: Ops, model: SRModel, lr: PlanarImage, opts: PredictOptions = {}): Promise<PlanarImage> {
  const { channels, height, width, data } = lr;
  if (channels !== 3) throw new Error(`the networks take RGB images (3 channels); this image has ${channels}`);
  if (data.length !== channels * height * width) {
    throw new Error(`image data has ${data.length} values, expected ${channels}×${height}×${width}`);
  }
  const x = ops.tensor(data, [1, 3, height, width]);
  let y: Tensor | undefined;
  try {
    y = predictTensor(ops, model, x, opts);
    const [, c, oh, ow] = y.shape;
    return { channels: c, height: oh, width: ow, data: (await ops.read(y)) as Float32Array };
  } finally {
    ops.dispose(y ? [x, y] : x);
  }
}
