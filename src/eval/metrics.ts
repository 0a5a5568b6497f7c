// PSNR / SSIM on the Y channel, the SR benchmark protocol (spec §6.2–6.4):
// quantise SR to uint8, Y = BT.601 (float), crop `border` px per side, float64 throughout,
// SSIM with an 11×11 Gaussian window (σ 1.5) and 'valid' filtering.
import { rgbU8ToY } from '../image/color.js';
import type { PlanarImage } from '../image/types.js';

/** Clamp to [0,1], ×255, round → planar uint8 (CHW). */
export function quantizeU8(img: PlanarImage): Uint8Array {
  const d = img.data;
  // Uint8ClampedArray clamps and rounds half to even (NaN → 0); for float32 inputs the only exact tie
  // is 0.5·255 = 127.5 → 128, so this equals clamp(round(v·255)).
  const out = new Uint8ClampedArray(d.length);
  for (let i = 0; i < d.length; i++) out[i] = d[i] * 255;
  return new Uint8Array(out.buffer);
}

/** Y channel (0–255, float64) of a planar image in [0,1] after uint8 quantisation; gray counts as R = G = B. */
export function quantizedY(img: PlanarImage): Float64Array {
  const n = img.height * img.width;
  const q = quantizeU8(img);
  if (img.channels === 3) return rgbU8ToY(q, n);
  if (img.channels === 1) {
    const rgb = new Uint8Array(3 * n);
    rgb.set(q, 0); rgb.set(q, n); rgb.set(q, 2 * n);
    return rgbU8ToY(rgb, n);
  }
  throw new Error(`expected a 1- or 3-channel image, got ${img.channels} channels`);
}

/** Copy of the centre of an h×w plane without `b` pixels on each side. */
export function shave(p: Float64Array, h: number, w: number, b: number): { data: Float64Array; h: number; w: number } {
  const oh = h - 2 * b, ow = w - 2 * b;
  if (oh <= 0 || ow <= 0) throw new Error(`image ${h}x${w} is too small to crop ${b} px from each border`);
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) out.set(p.subarray((y + b) * w + b, (y + b) * w + b + ow), y * ow);
  return { data: out, h: oh, w: ow };
}

/** PSNR in dB for values on the 0–255 scale (Infinity for identical images). */
export function psnr(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error('psnr: images differ in size');
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    se += d * d;
  }
  const mse = se / a.length;
  return 10 * Math.log10((255 * 255) / mse);
}

/** Side of SSIM's Gaussian window: the border-cropped images must be at least this large. */
export const SSIM_WINDOW = 11;
const WIN = SSIM_WINDOW;
const GAUSS = (() => {
  const g = new Float64Array(WIN);
  let s = 0;
  for (let i = 0; i < WIN; i++) {
    const x = i - (WIN - 1) / 2;
    g[i] = Math.exp(-(x * x) / (2 * 1.5 * 1.5));
    s += g[i];
  }
  for (let i = 0; i < WIN; i++) g[i] /= s; // outer(g, g) is the normalised 2-D window
  return g;
})();

/** SSIM (Wang et al. 2004) of two h×w planes on the 0–255 scale: mean of the 'valid' SSIM map. */
export function ssim(a: Float64Array, b: Float64Array, h: number, w: number): number {
  if (a.length !== h * w || b.length !== h * w) throw new Error('ssim: images differ in size');
  const oh = h - WIN + 1, ow = w - WIN + 1;
  if (oh <= 0 || ow <= 0) throw new Error(`ssim needs images of at least ${WIN}x${WIN}, got ${h}x${w}`);
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  // Horizontal pass for the 5 moment images (a, b, a², b², ab): h × ow each.
  const hz = new Float64Array(5 * h * ow);
  const P = h * ow;
  for (let y = 0; y < h; y++) {
    const r = y * w;
    for (let x = 0; x < ow; x++) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k], va = a[r + x + k], vb = b[r + x + k];
        sa += g * va; sb += g * vb; saa += g * va * va; sbb += g * vb * vb; sab += g * va * vb;
      }
      const o = y * ow + x;
      hz[o] = sa; hz[P + o] = sb; hz[2 * P + o] = saa; hz[3 * P + o] = sbb; hz[4 * P + o] = sab;
    }
  }
  // Vertical pass + SSIM map, accumulated on the fly.
  let total = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let m1 = 0, m2 = 0, e11 = 0, e22 = 0, e12 = 0;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k], o = (y + k) * ow + x;
        m1 += g * hz[o]; m2 += g * hz[P + o]; e11 += g * hz[2 * P + o]; e22 += g * hz[3 * P + o]; e12 += g * hz[4 * P + o];
      }
      const s1 = e11 - m1 * m1, s2 = e22 - m2 * m2, s12 = e12 - m1 * m2;
      total += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s1 + s2 + C2));
    }
  }
  return total / (oh * ow);
}

export interface Score {
  psnr: number;
  ssim: number;
}

/**
 * Score an SR output against the HR image (both planar, [0,1], same size): both are quantised to
 * uint8, converted to Y and cropped by `border` (= scale in the standard protocol).
 */
export function scoreY(sr: PlanarImage, hr: PlanarImage, border: number): Score {
  if (sr.height !== hr.height || sr.width !== hr.width) {
    throw new Error(`SR output is ${sr.height}x${sr.width} but the HR image is ${hr.height}x${hr.width}`);
  }
  const a = shave(quantizedY(sr), sr.height, sr.width, border);
  const b = shave(quantizedY(hr), hr.height, hr.width, border);
  return { psnr: psnr(a.data, b.data), ssim: ssim(a.data, b.data, a.h, a.w) };
}
