// A small random network built from src/nn layers runs on libtorch and on TF.js (wasm) with the same weights
// (passed through safetensors bytes) and gives the same output.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Ops, Tensor } from '../src/engine/ops.js';
import { encodeSafetensors, parseSafetensors } from '../src/engine/safetensors.js';
import { Conv2d, LayerNorm, Linear } from '../src/nn/layers.js';
import { Module } from '../src/nn/module.js';
import { createTfjsOps } from '../src/backends/tfjs/index.js';
import { createTorchOps } from '../src/backends/torch/index.js';

/** ESA-like spatial attention: 1×1 reduce, stride-2 conv, max-pool 7/3, conv, bilinear back, sigmoid mask. */
class TinyESA extends Module {
  c1 = this.child('conv1', new Conv2d(this.ops, 16, 8, 1));
  c2 = this.child('conv2', new Conv2d(this.ops, 8, 8, 3, { stride: 2, padding: 0 }));
  c3 = this.child('conv3', new Conv2d(this.ops, 8, 8, 3));
  c4 = this.child('conv4', new Conv2d(this.ops, 8, 16, 1));

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const [, , h, w] = x.shape;
    const f = this.c1.forward(x);
    const v = o.relu(this.c3.forward(o.maxPool2d(this.c2.forward(f), 7, 3)));
    const up = o.resizeBilinear(v, [h, w]);
    return o.mul(x, o.sigmoid(this.c4.forward(o.add(up, f))));
  }
}

/** Pre-norm transformer layer over pixels: attention softmax(QKᵀ/√d)V with projections, then a GELU FFN. */
class TinyAttention extends Module {
  norm1 = this.child('norm1', new LayerNorm(this.ops, 16));
  q = this.child('q', new Linear(this.ops, 16, 16));
  k = this.child('k', new Linear(this.ops, 16, 16));
  v = this.child('v', new Linear(this.ops, 16, 16, false));
  proj = this.child('proj', new Linear(this.ops, 16, 16));
  norm2 = this.child('norm2', new LayerNorm(this.ops, 16));
  fc1 = this.child('fc1', new Linear(this.ops, 16, 32));
  fc2 = this.child('fc2', new Linear(this.ops, 32, 16));

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const [n, c, h, w] = x.shape;
    let t = o.permute(o.reshape(x, [n, c, h * w]), [0, 2, 1]);
    const y = this.norm1.forward(t);
    const att = o.softmax(o.mul(o.matmul(this.q.forward(y), o.transpose(this.k.forward(y), 1, 2)), 1 / Math.sqrt(c)), -1);
    t = o.add(t, this.proj.forward(o.matmul(att, this.v.forward(y))));
    t = o.add(t, this.fc2.forward(o.gelu(this.fc1.forward(this.norm2.forward(t)))));
    return o.reshape(o.permute(t, [0, 2, 1]), [n, c, h, w]);
  }
}

class TinyNet extends Module {
  head = this.child('head', new Conv2d(this.ops, 3, 16, 3));
  esa = this.child('esa', new TinyESA(this.ops));
  attn = this.child('attn', new TinyAttention(this.ops));
  tail = this.child('tail', new Conv2d(this.ops, 16, 3 * 4, 3));

  forward(x: Tensor): Tensor {
    const o = this.ops;
    const f = this.head.forward(x);
    const g = this.attn.forward(o.leakyRelu(this.esa.forward(f), 0.05));
    return o.pixelShuffle(this.tail.forward(o.add(g, f)), 2);
  }
}

function infer(o: Ops, net: TinyNet, input: Float32Array, shape: number[]): { shape: number[]; data: Float32Array } {
  let res: { shape: number[]; data: Float32Array } = { shape: [], data: new Float32Array(0) };
  o.tidy(() => {
    const y = net.forward(o.tensor(input, shape));
    res = { shape: [...y.shape], data: o.readSync(y) as Float32Array };
  });
  return res;
}

describe('backend parity on a small network', () => {
  let torch: Ops, tfjs: Ops;
  beforeAll(async () => {
    tfjs = await createTfjsOps('wasm');
    torch = createTorchOps();
  });

  it('torch and tfjs give the same output with the same weights (max |diff| ≤ 1e-4)', () => {
    const ref = new TinyNet(torch);
    const bytes = encodeSafetensors(ref.stateDict());
    const net = new TinyNet(tfjs);
    net.loadStateDict(parseSafetensors(bytes).tensors);
    expect(net.numParams()).toBe(ref.numParams());

    const shape = [2, 3, 17, 16];
    let s = 99;
    const input = Float32Array.from({ length: 2 * 3 * 17 * 16 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
    const before = tfjs.numTensors();
    const a = infer(tfjs, net, input, shape);
    const b = infer(torch, ref, input, shape);
    expect(tfjs.numTensors()).toBe(before);

    expect(a.shape).toEqual([2, 3, 34, 32]);
    expect(b.shape).toEqual(a.shape);
    let maxDiff = 0, maxAbs = 0;
    for (let i = 0; i < a.data.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
      maxAbs = Math.max(maxAbs, Math.abs(b.data[i]));
    }
    expect(Number.isFinite(maxDiff)).toBe(true);
    expect(maxAbs).toBeGreaterThan(0.05); // the output is not trivially flat
    console.log(`tiny net: max |tfjs − torch| = ${maxDiff.toExponential(2)} (max |y| = ${maxAbs.toFixed(3)})`);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    ref.dispose();
    net.dispose();
  });
});
