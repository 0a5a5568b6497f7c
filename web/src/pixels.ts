// Browser image decode, then the same float conversion as `lightsr upscale` (src/image/planar.ts): the network
// sees RGB × (1/255). The result goes back to 8 bits with fromPlanar (clamped to [0,1], rounded).
import { toPlanarRGB } from '../../src/image/planar.js';
import type { PlanarImage } from '../../src/image/types.js';

export interface Rgba {
  width: number;
  height: number;
  /** Interleaved RGBA, 8-bit. */
  data: Uint8ClampedArray;
}

/**
 * Decode an image file with the browser's decoders: EXIF orientation applied (as the CLI does), no colour
 * management (pixel values as stored, like the CLI, which keeps the ICC profile aside).
 */
export async function decodeBlob(blob: Blob): Promise<Rgba> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error('cannot decode this file as an image (use PNG, JPEG, WebP, GIF, BMP or AVIF)');
  }
  try {
    const { width, height } = bmp;
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser has no 2D canvas in workers');
    ctx.drawImage(bmp, 0, 0);
    return { width, height, data: ctx.getImageData(0, 0, width, height).data };
  } finally {
    bmp.close();
  }
}

/**
 * RGB planes (and the alpha plane when some pixel is not opaque), values × (1/255), by the CLI's toPlanarRGB.
 * A canvas always gives RGBA, so an all-opaque image is treated as RGB.
 */
export function toPlanar(img: Rgba): { rgb: PlanarImage; alpha?: PlanarImage } {
  const { width, height } = img;
  const data = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  const { rgb, alpha } = toPlanarRGB({ width, height, channels: 4, bitDepth: 8, data });
  let opaque = true;
  for (let i = 3; i < data.length && opaque; i += 4) opaque = data[i] === 255;
  return opaque ? { rgb } : { rgb, alpha };
}
