// Naive reference implementations (plain JS, float64) for the torch backend tests.

export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function arr(shape: number[], data: ArrayLike<number>): Arr {
  if (data.length !== size(shape)) throw new Error('arr: size mismatch');
  return { shape, data: Float64Array.from(data) };
}

export function get(a: Arr, idx: readonly number[]): number {
  const st = stridesOf(a.shape);
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i] * st[i];
  return a.data[o];
}

/** Builds an array of `shape` from a function of the multi-index. */
export function build(shape: number[], fn: (idx: number[]) => number): Arr {
  const n = size(shape);
  const data = new Float64Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    data[k] = fn(idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { shape, data };
}

const norm = (d: number, rank: number): number => (d < 0 ? d + rank : d);

/** Broadcast binary op (NumPy rules). */
export function broadcast(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const r = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array(r - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array(r - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((v, i) => Math.max(v, pb[i]));
  const ra = { shape: pa, data: a.data };
  const rb = { shape: pb, data: b.data };
  return build(shape, (i) => f(get(ra, i.map((v, d) => (pa[d] === 1 ? 0 : v))), get(rb, i.map((v, d) => (pb[d] === 1 ? 0 : v)))));
}

export function map(a: Arr, f: (x: number) => number): Arr {
  return { shape: [...a.shape], data: a.data.map(f) };
}

/** Reduction over `dims` with `f` applied to the list of values. */
export function reduce(a: Arr, dims: number[], keep: boolean, f: (vals: number[]) => number): Arr {
  const r = a.shape.length;
  const ds = new Set(dims.map((d) => norm(d, r)));
  const kshape = a.shape.map((v, i) => (ds.has(i) ? 1 : v));
  const out = build(kshape, (oi) => {
    const sub = a.shape.map((v, i) => (ds.has(i) ? v : 1));
    const vals: number[] = [];
    build(sub, (si) => {
      vals.push(get(a, si.map((v, i) => (ds.has(i) ? v : oi[i]))));
      return 0;
    });
    return f(vals);
  });
  return keep ? out : { shape: a.shape.filter((_, i) => !ds.has(i)), data: out.data };
}

export function conv2d(x: Arr, w: Arr, b: Arr | null, s: [number, number], p: [number, number], d: [number, number], groups: number): Arr {
  const [n, cin, h, wd] = x.shape;
  const [cout, cinG, kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * p[0] - d[0] * (kh - 1) - 1) / s[0]) + 1;
  const ow = Math.floor((wd + 2 * p[1] - d[1] * (kw - 1) - 1) / s[1]) + 1;
  const coutG = cout / groups;
  if (cinG * groups !== cin) throw new Error('conv2d ref: bad groups');
  return build([n, cout, oh, ow], ([ni, o, i, j]) => {
    const g = Math.floor(o / coutG);
    let acc = b ? b.data[o] : 0;
    for (let c = 0; c < cinG; c++)
      for (let u = 0; u < kh; u++)
        for (let v = 0; v < kw; v++) {
          const y = i * s[0] - p[0] + u * d[0];
          const xx = j * s[1] - p[1] + v * d[1];
          if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
          acc += get(x, [ni, g * cinG + c, y, xx]) * get(w, [o, c, u, v]);
        }
    return acc;
  });
}

export function convTranspose2d(x: Arr, w: Arr, b: Arr | null, s: [number, number], p: [number, number],
  op: [number, number], d: [number, number], groups: number): Arr {
  const [n, cin, h, wd] = x.shape;
  const [, coutG, kh, kw] = w.shape;
  const cinG = cin / groups;
  const oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1;
  const ow = (wd - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
  return build([n, coutG * groups, oh, ow], ([ni, o, i, j]) => {
    const g = Math.floor(o / coutG);
    let acc = b ? b.data[o] : 0;
    for (let c = 0; c < cinG; c++)
      for (let u = 0; u < kh; u++)
        for (let v = 0; v < kw; v++) {
          const ty = i + p[0] - u * d[0];
          const tx = j + p[1] - v * d[1];
          if (ty % s[0] !== 0 || tx % s[1] !== 0) continue;
          const y = ty / s[0];
          const xx = tx / s[1];
          if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
          acc += get(x, [ni, g * cinG + c, y, xx]) * get(w, [g * cinG + c, o - g * coutG, u, v]);
        }
    return acc;
  });
}

/** Batched matmul with broadcasting of leading dims (both operands at least 2-D). */
export function matmul(a: Arr, b: Arr): Arr {
  const ar = a.shape.length;
  const br = b.shape.length;
  const [n, k] = a.shape.slice(ar - 2);
  const m = b.shape[br - 1];
  const la = a.shape.slice(0, ar - 2);
  const lb = b.shape.slice(0, br - 2);
  const r = Math.max(la.length, lb.length);
  const pa = [...new Array(r - la.length).fill(1), ...la];
  const pb = [...new Array(r - lb.length).fill(1), ...lb];
  const lead = pa.map((v, i) => Math.max(v, pb[i]));
  const A = { shape: [...pa, n, k], data: a.data };
  const B = { shape: [...pb, k, m], data: b.data };
  return build([...lead, n, m], (idx) => {
    const li = idx.slice(0, r);
    const ia = li.map((v, d) => (pa[d] === 1 ? 0 : v));
    const ib = li.map((v, d) => (pb[d] === 1 ? 0 : v));
    let acc = 0;
    for (let t = 0; t < k; t++) acc += get(A, [...ia, idx[r], t]) * get(B, [...ib, t, idx[r + 1]]);
    return acc;
  });
}

/** erf with |error| < 1e-12 (series for small |x|, continued fraction for large). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = ax;
    let sum = ax;
    for (let k = 1; k < 200; k++) {
      term *= (-ax * ax) / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz)
  let f = ax;
  let C = ax;
  let D = 0;
  for (let k = 1; k < 300; k++) {
    const an = k / 2;
    D = ax + an * D;
    D = 1 / D;
    C = ax + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}

/** Bilinear resize, align_corners=false, as PyTorch (source index clamped at 0). */
export function resizeBilinear(x: Arr, oh: number, ow: number): Arr {
  const [n, c, h, w] = x.shape;
  const src = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const r = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    const i0 = Math.min(Math.floor(r), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    return [i0, i1, r - i0];
  };
  return build([n, c, oh, ow], ([a, b, i, j]) => {
    const [y0, y1, ly] = src(i, h, oh);
    const [x0, x1, lx] = src(j, w, ow);
    return (1 - ly) * ((1 - lx) * get(x, [a, b, y0, x0]) + lx * get(x, [a, b, y0, x1]))
      + ly * ((1 - lx) * get(x, [a, b, y1, x0]) + lx * get(x, [a, b, y1, x1]));
  });
}

export function pool2d(x: Arr, k: number, s: number, p: number, kind: 'max' | 'avg'): Arr {
  const [n, c, h, w] = x.shape;
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  const ow = Math.floor((w + 2 * p - k) / s) + 1;
  return build([n, c, oh, ow], ([a, b, i, j]) => {
    let m = -Infinity;
    let sum = 0;
    for (let u = 0; u < k; u++)
      for (let v = 0; v < k; v++) {
        const y = i * s - p + u;
        const xx = j * s - p + v;
        if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
        const val = get(x, [a, b, y, xx]);
        m = Math.max(m, val);
        sum += val;
      }
    return kind === 'max' ? m : sum / (k * k); // count_include_pad = true
  });
}

export function pad(x: Arr, [l, r, t, b]: number[], mode: 'zeros' | 'replicate' | 'reflect', value: number): Arr {
  const sh = [...x.shape];
  const R = sh.length;
  const h = sh[R - 2];
  const w = sh[R - 1];
  const fix = (i: number, n: number): number => {
    if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
    if (i < 0) return -i;
    if (i >= n) return 2 * (n - 1) - i;
    return i;
  };
  return build([...sh.slice(0, R - 2), h + t + b, w + l + r], (idx) => {
    let y = idx[R - 2] - t;
    let xx = idx[R - 1] - l;
    if (mode === 'zeros') {
      if (y < 0 || y >= h || xx < 0 || xx >= w) return value;
    } else {
      y = fix(y, h);
      xx = fix(xx, w);
    }
    return get(x, [...idx.slice(0, R - 2), y, xx]);
  });
}

export function layerNorm(x: Arr, k: number, w: Arr | null, b: Arr | null, eps: number): Arr {
  const inner = size(x.shape.slice(x.shape.length - k));
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < x.data.length; o += inner) {
    let mu = 0;
    for (let i = 0; i < inner; i++) mu += x.data[o + i];
    mu /= inner;
    let v = 0;
    for (let i = 0; i < inner; i++) v += (x.data[o + i] - mu) ** 2;
    v /= inner;
    for (let i = 0; i < inner; i++) {
      out[o + i] = ((x.data[o + i] - mu) / Math.sqrt(v + eps)) * (w ? w.data[i] : 1) + (b ? b.data[i] : 0);
    }
  }
  return { shape: [...x.shape], data: out };
}

export function pixelShuffle(x: Arr, r: number): Arr {
  const [n, c, h, w] = x.shape;
  const co = c / (r * r);
  return build([n, co, h * r, w * r], ([a, ch, i, j]) => get(x, [a, ch * r * r + (i % r) * r + (j % r), Math.floor(i / r), Math.floor(j / r)]));
}

export function softmax(x: Arr, dim: number): Arr {
  const d = norm(dim, x.shape.length);
  return build([...x.shape], (idx) => {
    let m = -Infinity;
    for (let k = 0; k < x.shape[d]; k++) m = Math.max(m, get(x, idx.map((v, i) => (i === d ? k : v))));
    let s = 0;
    for (let k = 0; k < x.shape[d]; k++) s += Math.exp(get(x, idx.map((v, i) => (i === d ? k : v))) - m);
    return Math.exp(get(x, idx) - m) / s;
  });
}

/** Deterministic pseudo-random values in [lo, hi) (LCG), independent of the backend. */
export function prand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
