import { describe, expect, it } from 'vitest';
import '../src/models/index.js';
import { createShapeOps, measureComplexity } from '../src/eval/complexity.js';
import { IMDModule } from '../src/models/imdn.js';
import { CALayer, CCALayer } from '../src/nn/attention.js';

describe('parameter counts (spec §1.4, §5.3)', () => {
  it('IMDN ×2/×3/×4 and IMDN_AS match the official counts', () => {
    expect(measureComplexity('imdn', 2).params).toBe(694_404);
    expect(measureComplexity('imdn', 3).params).toBe(703_059);
    expect(measureComplexity('imdn', 4).params).toBe(715_176);
    expect(measureComplexity('imdn-as', 1).params).toBe(752_104);
  });

  it('IMDB, CCA and CALayer', () => {
    const { ops } = createShapeOps();
    expect(new IMDModule(ops, 64).numParams()).toBe(104_020);
    expect(new CCALayer(ops, 64).numParams()).toBe(580);
    expect(new CALayer(ops, 48).numParams()).toBe(339);
  });
});

describe('MACs at 1280×720 output (spec §6.5)', () => {
  it('IMDN reproduces 158.77 / 71.34 / 40.89 G with LR 640×360, 426×240, 320×180', () => {
    const x2 = measureComplexity('imdn', 2);
    const x3 = measureComplexity('imdn', 3);
    const x4 = measureComplexity('imdn', 4);
    expect(x2.input).toEqual({ width: 640, height: 360 });
    expect(x3.input).toEqual({ width: 426, height: 240 });
    expect(x4.input).toEqual({ width: 320, height: 180 });
    expect(x4.output).toEqual({ width: 1280, height: 720 });
    expect(x2.macs / 1e9).toBeCloseTo(158.77, 2);
    expect(x3.macs / 1e9).toBeCloseTo(71.34, 2);
    expect(x4.macs / 1e9).toBeCloseTo(40.89, 2);
    expect(x4.by.linear + x4.by.matmul).toBe(0);
  });

  it('counts each op by the §6.5 formulas', () => {
    const { ops, count } = createShapeOps();
    const y = ops.conv2d(ops.zeros([1, 8, 10, 12]), ops.zeros([4, 4, 3, 3]), null, { stride: 2, padding: 1, groups: 2 });
    expect(y.shape).toEqual([1, 4, 5, 6]);
    expect(count.conv).toBe(5 * 6 * 4 * 4 * 9);
    expect(ops.linear(ops.zeros([2, 7, 5]), ops.zeros([3, 5]), null).shape).toEqual([2, 7, 3]);
    expect(count.linear).toBe(14 * 5 * 3);
    expect(ops.matmul(ops.zeros([6, 4, 5]), ops.zeros([5, 9])).shape).toEqual([6, 4, 9]);
    expect(count.matmul).toBe(6 * 4 * 5 * 9);
    expect(() => ops.conv2d(ops.zeros([1, 3, 4, 4]), ops.zeros([4, 5, 3, 3]), null)).toThrow(/does not fit/);
  });
});
