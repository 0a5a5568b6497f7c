import { describe, expect, it } from 'vitest';
import { axisWeights, planAxis, planTiles, runTiled } from '../src/image/tiling.js';
import type { PlanarImage } from '../src/image/types.js';
import { maxAbsDiff } from './helpers/compare.js';

// A purely local toy "network": `depth` 3×3 blurs with zero padding (receptive-field radius = depth),
// a nonlinearity, then nearest-neighbour ×s upsampling.
function toyNet(depth: number, s: number) {
  return (x: PlanarImage): PlanarImage => {
    const { channels: C, height: h, width: w } = x;
    let cur = x.data;
    for (let d = 0; d < depth; d++) {
      const nxt = new Float32Array(cur.length);
      for (let c = 0; c < C; c++)
        for (let y = 0; y < h; y++)
          for (let xx = 0; xx < w; xx++) {
            let acc = 0;
            for (let dy = -1; dy <= 1; dy++)
              for (let dx = -1; dx <= 1; dx++) {
                const yy = y + dy, xq = xx + dx;
                if (yy >= 0 && yy < h && xq >= 0 && xq < w) acc += cur[(c * h + yy) * w + xq] * (dx === 0 && dy === 0 ? 0.4 : 0.1);
              }
            nxt[(c * h + y) * w + xx] = Math.tanh(acc * 1.3);
          }
      cur = nxt;
    }
    const H = h * s, W = w * s;
    const out = new Float32Array(C * H * W);
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) out[(c * H + y) * W + xx] = cur[(c * h + Math.floor(y / s)) * w + Math.floor(xx / s)];
    return { channels: C, height: H, width: W, data: out };
  };
}

function randomImage(c: number, h: number, w: number, seed = 1): PlanarImage {
  let s = seed >>> 0;
  const data = Float32Array.from({ length: c * h * w }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32));
  return { channels: c, height: h, width: w, data };
}

describe('tile planning', () => {
  it('windows share one shape, cover the axis, overlap by ≥ 2·pad, and stay inside', () => {
    for (const size of [1, 5, 40, 41, 100, 157, 1080, 1920]) {
      for (const [tile, pad] of [[16, 4], [32, 0], [128, 10], [7, 3]]) {
        const { win, starts } = planAxis(size, tile, pad);
        expect(win).toBe(Math.min(size, tile + 2 * pad));
        expect(starts[0]).toBe(0);
        expect(starts[starts.length - 1] + win).toBe(size);
        for (let i = 1; i < starts.length; i++) {
          expect(starts[i]).toBeGreaterThan(starts[i - 1]);
          expect(starts[i - 1] + win - starts[i]).toBeGreaterThanOrEqual(2 * pad);
          expect(starts[i] - starts[i - 1]).toBeLessThanOrEqual(tile);
        }
      }
    }
  });

  it('images smaller than a tile run whole; tile 0 means no tiling', () => {
    expect(planTiles(50, 60, 64, 8).count).toBe(1);
    expect(planTiles(500, 600, 0, 8).count).toBe(1);
    expect(planTiles(200, 60, 64, 8).xs.starts).toEqual([0]);
  });

  it('blend weights sum to 1 everywhere and are 0 within pad of inner edges', () => {
    for (const [size, tile, pad, s] of [[157, 16, 4, 2], [300, 64, 10, 4], [100, 30, 12, 3], [70, 10, 3, 2]]) {
      const plan = planAxis(size, tile, pad);
      const ws = axisWeights(plan, pad, s);
      const sum = new Float64Array(size * s);
      ws.forEach((w, i) => w.forEach((v, x) => {
        expect(v).toBeGreaterThanOrEqual(0);
        sum[plan.starts[i] * s + x] += v;
        const u = plan.starts[i] + x / s; // LR column of this HR pixel
        const innerLeft = i > 0 && u < plan.starts[i] + pad;
        const innerRight = i < ws.length - 1 && u >= plan.starts[i] + plan.win - pad;
        if (innerLeft || innerRight) expect(v).toBe(0);
      }));
      for (const v of sum) expect(v).toBeCloseTo(1, 6);
    }
  });
});

describe('runTiled', () => {
  it('equals the whole-image output when pad covers the receptive field', async () => {
    const net = toyNet(3, 2);
    const img = randomImage(3, 45, 61);
    const whole = net(img);
    const tiled = await runTiled(img, 2, net, { tile: 12, pad: 3 });
    expect(tiled.channels).toBe(3);
    expect(tiled.height).toBe(90);
    expect(tiled.width).toBe(122);
    expect(maxAbsDiff(tiled.data, whole.data)).toBeLessThan(1e-6);
  });

  it('differs from the whole-image output when pad is smaller than the receptive field', async () => {
    const net = toyNet(4, 3);
    const img = randomImage(1, 40, 40, 7);
    const tiled = await runTiled(img, 3, net, { tile: 10, pad: 1 });
    expect(maxAbsDiff(tiled.data, net(img).data)).toBeGreaterThan(1e-3);
  });

  it('runs every tile at the same shape and reports progress', async () => {
    const net = toyNet(1, 2);
    const shapes = new Set<string>();
    const seen: number[] = [];
    await runTiled(randomImage(3, 50, 33), 2, (t) => (shapes.add(`${t.height}x${t.width}`), net(t)), {
      tile: 16, pad: 2, onTile: (d, n) => seen.push(d / n),
    });
    expect([...shapes]).toEqual(['20x20']);
    expect(seen.length).toBe(planTiles(50, 33, 16, 2).count);
    expect(seen[seen.length - 1]).toBe(1);
  });

  it('stops between tiles when the signal is aborted', async () => {
    const ac = new AbortController();
    let calls = 0;
    const net = toyNet(1, 2);
    const p = runTiled(randomImage(3, 64, 64), 2, (t) => {
      if (++calls === 2) ac.abort();
      return net(t);
    }, { tile: 16, pad: 2, signal: ac.signal });
    await expect(p).rejects.toThrow(/abort/i);
    expect(calls).toBe(2);
  });
});
