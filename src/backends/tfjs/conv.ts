// Convolutions, pooling and resampling with PyTorch (NCHW) semantics on TF.js, whose kernels are NHWC.
// Inputs are transposed to NHWC, run through the TF.js kernel, and transposed back.
import * as tf from '@tensorflow/tfjs-core';
import type { Conv2dOptions, ConvTranspose2dOptions } from '../../engine/ops.js';
import { fmtShape } from '../../engine/host.js';

type T = tf.Tensor;
type T4 = tf.Tensor4D;

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

const toNhwc = (x: T): T4 => tf.transpose(x, [0, 2, 3, 1]) as T4;
const toNchw = (x: T): T4 => tf.transpose(x, [0, 3, 1, 2]) as T4;

function need4d(op: string, x: T, w?: T): void {
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (w && w.rank !== 4) throw new Error(`${op}: weight must be 4-D, got ${fmtShape(w.shape)}`);
}

/** Zero padding (positive) or cropping (negative) of the spatial dims of an NHWC tensor. */
function padNhwc(x: T4, top: number, bottom: number, left: number, right: number, value = 0): T4 {
  const [, h, w] = x.shape;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const t = Math.max(0, -top), b = Math.max(0, -bottom), l = Math.max(0, -left), r = Math.max(0, -right);
    x = tf.slice(x, [0, t, l, 0], [-1, h - t - b, w - l - r, -1]);
  }
  const p = (v: number) => Math.max(0, v);
  if (p(top) + p(bottom) + p(left) + p(right) === 0) return x;
  return tf.pad(x, [[0, 0], [p(top), p(bottom)], [p(left), p(right)], [0, 0]], value);
}

/**
 * Convolution of an NHWC input with a PyTorch-layout weight [Cout, Cin/g, kH, kW]; explicit symmetric padding.
 * Grouped convs use TF.js depthwise conv when g = Cin, else one conv per group.
 */
function convNhwc(x: T4, w: T4, b: T | null, stride: [number, number], pad: [number, number], dil: [number, number], g: number): T4 {
  const cin = x.shape[3];
  const [cout, , kh, kw] = w.shape;
  // TF.js rejects stride > 1 together with dilation > 1: convolve densely, then subsample.
  const both = (stride[0] > 1 || stride[1] > 1) && (dil[0] > 1 || dil[1] > 1);
  const strides: [number, number] = both ? [1, 1] : stride;
  const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad[0], pad[0]], [pad[1], pad[1]], [0, 0]];
  const bias = b ?? undefined;
  let y: T4;
  if (g === 1) {
    const filter = tf.transpose(w, [2, 3, 1, 0]) as T4;
    y = tf.fused.conv2d({ x, filter, strides, pad: padding, dilations: dil, bias });
  } else if (g === cin) {
    const filter = tf.transpose(tf.reshape(w, [cin, cout / cin, kh, kw]), [2, 3, 0, 1]) as T4;
    // TF.js depthwise conv takes only a symmetric numeric pad.
    const xp = pad[0] === pad[1] ? x : padNhwc(x, pad[0], pad[0], pad[1], pad[1]);
    y = tf.fused.depthwiseConv2d({ x: xp, filter, strides, pad: pad[0] === pad[1] ? pad[0] : 0, dilations: dil, bias });
  } else {
    const xs = tf.split(x, g, 3) as T4[];
    const ws = tf.split(w, g, 0) as T4[];
    const bs = b ? tf.split(b, g, 0) : null;
    y = tf.concat(xs.map((xi, i) => convNhwc(xi, ws[i], bs ? bs[i] : null, strides, pad, dil, 1)), 3);
  }
  if (both) y = tf.stridedSlice(y, [0, 0, 0, 0], y.shape, [1, stride[0], stride[1], 1]) as T4;
  return y;
}

export function conv2d(x: T, w: T, b: T | null, opts: Conv2dOptions = {}): T {
  need4d('conv2d', x, w);
  const g = opts.groups ?? 1;
  const cin = x.shape[1], [cout, cpg] = w.shape;
  if (cpg * g !== cin || cout % g !== 0) {
    throw new Error(`conv2d: input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)} with groups=${g}`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== cout)) throw new Error(`conv2d: bias ${fmtShape(b.shape)} does not match ${cout} output channels`);
  return tf.tidy(() => toNchw(convNhwc(toNhwc(x), w as T4, b, pair(opts.stride, 1), pair(opts.padding, 0), pair(opts.dilation, 1), g)));
}

/** Insert s-1 zeros between neighbouring pixels of an NHWC tensor: [N,H,W,C] → [N,(H-1)sh+1,(W-1)sw+1,C]. */
function dilateNhwc(x: T4, sh: number, sw: number): T4 {
  let [n, h, w, c] = x.shape;
  if (sh > 1) {
    const r = tf.pad(tf.reshape(x, [n, h, 1, w * c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0]]);
    x = tf.slice(tf.reshape(r, [n, h * sh, w, c]), 0, [n, (h - 1) * sh + 1, w, c]) as T4;
    h = (h - 1) * sh + 1;
  }
  if (sw > 1) {
    const r = tf.pad(tf.reshape(x, [n * h, w, 1, c]), [[0, 0], [0, 0], [0, sw - 1], [0, 0]]);
    x = tf.slice(tf.reshape(r, [n, h, w * sw, c]), 0, [n, h, (w - 1) * sw + 1, c]) as T4;
  }
  return x;
}

/**
 * Transposed convolution, weight [Cin, Cout/g, kH, kW] as PyTorch. Computed as its definition: spread the input
 * with stride-1 zeros, pad by dilation·(k-1) - padding (+ output_padding at the bottom/right) and run an ordinary
 * convolution with the flipped, in/out-swapped kernel.
 */
export function convTranspose2d(x: T, w: T, b: T | null, opts: ConvTranspose2dOptions = {}): T {
  need4d('convTranspose2d', x, w);
  const g = opts.groups ?? 1;
  const [cin, cpg, kh, kw] = w.shape;
  if (x.shape[1] !== cin || cin % g !== 0) {
    throw new Error(`convTranspose2d: input ${fmtShape(x.shape)} does not fit weight ${fmtShape(w.shape)} with groups=${g}`);
  }
  const cout = cpg * g;
  if (b && (b.rank !== 1 || b.shape[0] !== cout)) throw new Error(`convTranspose2d: bias ${fmtShape(b.shape)} does not match ${cout} output channels`);
  const [sh, sw] = pair(opts.stride, 1), [ph, pw] = pair(opts.padding, 0), [dh, dw] = pair(opts.dilation, 1);
  const [oph, opw] = pair(opts.outputPadding, 0);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw)) throw new Error('convTranspose2d: output_padding must be smaller than stride or dilation');
  return tf.tidy(() => {
    const spread = dilateNhwc(toNhwc(x), sh, sw);
    const eh = dh * (kh - 1) - ph, ew = dw * (kw - 1) - pw;
    const xp = padNhwc(spread, eh, eh + oph, ew, ew + opw);
    const wc = tf.reverse(
      tf.reshape(tf.transpose(tf.reshape(w, [g, cin / g, cpg, kh, kw]), [0, 2, 1, 3, 4]), [cout, cin / g, kh, kw]), [2, 3]) as T4;
    return toNchw(convNhwc(xp, wc, b, [1, 1], [0, 0], [dh, dw], g));
  });
}

export function maxPool2d(x: T, k: number, stride = k, padding = 0): T {
  need4d('maxPool2d', x);
  if (padding > k / 2) throw new Error(`maxPool2d: padding ${padding} must be at most half the kernel ${k}`);
  return tf.tidy(() => toNchw(tf.maxPool(padNhwc(toNhwc(x), padding, padding, padding, padding, -Infinity), k, stride, 'valid')));
}

/** Average pool with PyTorch's default count_include_pad = true (zero padding counts). */
export function avgPool2d(x: T, k: number, stride = k, padding = 0): T {
  need4d('avgPool2d', x);
  if (padding > k / 2) throw new Error(`avgPool2d: padding ${padding} must be at most half the kernel ${k}`);
  return tf.tidy(() => toNchw(tf.avgPool(padNhwc(toNhwc(x), padding, padding, padding, padding), k, stride, 'valid')));
}

/** align_corners = false ⇔ TF half-pixel centres. */
export function resizeBilinear(x: T, size: [number, number]): T {
  need4d('resizeBilinear', x);
  return tf.tidy(() => toNchw(tf.image.resizeBilinear(toNhwc(x), size, false, true)));
}

/** [N, C·r², H, W] → [N, C, H·r, W·r]; input channel c·r² + i·r + j goes to (h·r + i, w·r + j) of channel c. */
export function pixelShuffle(x: T, r: number): T {
  need4d('pixelShuffle', x);
  const [n, c, h, w] = x.shape;
  if (c % (r * r) !== 0) throw new Error(`pixelShuffle: ${c} channels are not divisible by r²=${r * r}`);
  const co = c / (r * r);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [n, co, r, r, h, w]), [0, 1, 4, 2, 5, 3]), [n, co, h * r, w * r]));
}
