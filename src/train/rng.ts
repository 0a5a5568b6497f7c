// Small deterministic PRNG for the data pipeline (sfc32, seeded by hashing integer keys).
// Every batch draws from its own generator keyed by (seed, epoch, iteration), so the data stream is a pure
// function of those numbers: prefetching never disturbs it and resuming needs only the counters.

/** 32-bit integer hash (a splitmix-style finaliser). */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Hash a list of non-negative integers (each taken modulo 2^32, plus its high part) into 32 bits. */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const v of xs) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 2 ** 32) >>> 0;
    h = mix32(h ^ lo) + 0x632be5ab;
    h = mix32(h ^ hi) >>> 0;
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...key: number[]) {
    this.a = hashInts(...key, 1);
    this.b = hashInts(...key, 2);
    this.c = hashInts(...key, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform uint32. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }
}
