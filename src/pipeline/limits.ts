// Size limits, checked from the image header before anything is decoded or run (browser-safe).

/** Default cap on input and output pixels: sharp's own input limit (16383², about 268 MP). */
export const DEFAULT_MAX_PIXELS = 16383 * 16383;

/** Largest side each encoder can write. */
const MAX_SIDE: Record<string, number> = { jpeg: 65535, webp: 16383 };

/** Working memory of the upscale per output pixel, roughly: float RGB accumulation + float alpha + 8-bit output. */
const BYTES_PER_OUTPUT_PIXEL = 12 + 4 + 4;

const mp = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 0)} MP`;

/** A size over a limit (the CLI adds how to raise it). */
export class SizeLimitError extends Error {
  constructor(message: string, readonly limit: 'pixels' | 'format') {
    super(message);
    this.name = 'SizeLimitError';
  }
}

/** Validates a `maxPixels` option: a positive integer, or 0 / Infinity for no limit. */
export function checkMaxPixels(v: number): number {
  if (v === 0 || v === Infinity) return Infinity;
  if (!Number.isInteger(v) || v < 1) throw new Error(`maxPixels must be a positive integer (0 for no limit), got ${v}`);
  return v;
}

/**
 * Throws before any work when `name` (width×height) upscaled ×scale would exceed `maxPixels` on input or
 * output, or what the output `format` can hold. The message names the limit and the way out.
 */
export function checkSize(name: string, width: number, height: number, scale: number, maxPixels: number, format?: string): void {
  const raise = 'raise the maxPixels limit (0 = none) if the machine has the memory';
  if (width * height > maxPixels) {
    throw new SizeLimitError(`'${name}' is ${width}×${height} (${mp(width * height)}), over the limit of ${mp(maxPixels)}; ${raise}`, 'pixels');
  }
  const W = width * scale;
  const H = height * scale;
  if (W * H > maxPixels) {
    const gb = ((W * H * BYTES_PER_OUTPUT_PIXEL) / 2 ** 30).toFixed(1);
    throw new SizeLimitError(
      `'${name}' is ${width}×${height}: ×${scale} makes ${W}×${H} (${mp(W * H)}), over the limit of ${mp(maxPixels)} `
      + `(it would need about ${gb} GiB of memory); upscale a smaller image or crop, or ${raise}`,
      'pixels',
    );
  }
  const side = format ? MAX_SIDE[format] : undefined;
  if (side !== undefined && Math.max(W, H) > side) {
    throw new SizeLimitError(`'${name}' ×${scale} makes ${W}×${H}, too large for ${format!.toUpperCase()} (at most ${side} px per side); write PNG instead`, 'format');
  }
}
