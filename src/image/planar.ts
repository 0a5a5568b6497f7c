// Conversions between RawImage (interleaved HWC, 8/16-bit) and PlanarImage (CHW float in [0,1]).
// Pure and browser-safe: shared by src/image/io.ts (the CLI and library) and the web page.
import type { PlanarImage, RawImage } from './types.js';

/** Throws unless the size, channel count, data length and array type agree. */
export function checkRaw(img: RawImage): void {
  const { width, height, channels, bitDepth, data } = img;
  if (!(width > 0 && height > 0) || ![1, 2, 3, 4].includes(channels)) throw new Error(`invalid image ${width}x${height}x${channels}`);
  if (data.length !== width * height * channels) throw new Error(`image data has ${data.length} values, expected ${width * height * channels}`);
  if ((bitDepth === 16) !== data instanceof Uint16Array) throw new Error(`bitDepth ${bitDepth} does not match the data array type`);
}

/** RawImage → planar RGB float in [0,1] (gray repeated to 3 channels); alpha returned separately. */
export function toPlanarRGB(img: RawImage): { rgb: PlanarImage; alpha?: PlanarImage } {
  checkRaw(img);
  const { width, height, channels, data } = img;
  const n = width * height;
  const inv = 1 / (img.bitDepth === 16 ? 65535 : 255);
  const rgb = new Float32Array(3 * n);
  const colour = channels >= 3;
  const hasAlpha = channels === 2 || channels === 4;
  const alpha = hasAlpha ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    if (colour) {
      rgb[i] = data[o] * inv;
      rgb[n + i] = data[o + 1] * inv;
      rgb[2 * n + i] = data[o + 2] * inv;
    } else {
      rgb[i] = rgb[n + i] = rgb[2 * n + i] = data[o] * inv;
    }
    if (alpha) alpha[i] = data[o + channels - 1] * inv;
  }
  const out: { rgb: PlanarImage; alpha?: PlanarImage } = { rgb: { channels: 3, height, width, data: rgb } };
  if (alpha) out.alpha = { channels: 1, height, width, data: alpha };
  return out;
}

/** Planar float (1 or 3 channels, optional 1-channel alpha) → interleaved integers: clamp to [0,1], scale, round. */
export function fromPlanar(img: PlanarImage, alpha?: PlanarImage, bitDepth: 8 | 16 = 8): RawImage {
  const { channels: c, height, width } = img;
  if (c !== 1 && c !== 3) throw new Error(`fromPlanar expects 1 or 3 channels, got ${c}`);
  if (img.data.length !== c * height * width) throw new Error('planar image data has the wrong length');
  if (alpha && (alpha.channels !== 1 || alpha.height !== height || alpha.width !== width)) {
    throw new Error(`alpha plane ${alpha.channels}x${alpha.height}x${alpha.width} does not match image ${height}x${width}`);
  }
  const n = width * height;
  const oc = (c + (alpha ? 1 : 0)) as RawImage['channels'];
  const max = bitDepth === 16 ? 65535 : 255;
  const out = bitDepth === 16 ? new Uint16Array(n * oc) : new Uint8Array(n * oc);
  const q = (v: number) => (v > 0 ? (v < 1 ? Math.round(v * max) : max) : 0); // NaN → 0
  for (let ch = 0; ch < c; ch++) {
    const p = img.data.subarray(ch * n, (ch + 1) * n);
    for (let i = 0; i < n; i++) out[i * oc + ch] = q(p[i]);
  }
  if (alpha) for (let i = 0; i < n; i++) out[i * oc + c] = q(alpha.data[i]);
  return { width, height, channels: oc, bitDepth, data: out };
}
