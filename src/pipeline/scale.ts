// The one scale check of every entry point (upscale, eval, train, complexity), with one message.

/** `scale` as a positive integer, or the error every entry point gives. */
export function checkScale(scale: unknown): number {
  if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 1) {
    throw new Error(`scale must be a positive integer, got ${String(scale)}`);
  }
  return scale;
}

/** A scale typed as text (a flag, a list item): digits become a number, anything else fails in checkScale. */
export function parseScale(text: string): number {
  const t = text.trim();
  return checkScale(/^\d+$/.test(t) ? Number(t) : t);
}
