// Batches are assembled in a worker thread (crop from the uint8 cache, dihedral transform, uint8 → float CHW)
// and requested ahead of time, so the training step rarely waits. `waitMs` is how long the trainer did wait.
import { Worker } from 'node:worker_threads';
import type { DataCache, PatchSampler } from './dataset.js';

export interface Batch {
  epoch: number;
  iter: number;
  /** [B, 3, p, p] LR and [B, 3, P, P] HR, values in [0, 1]. */
  lr: Float32Array;
  hr: Float32Array;
  lrShape: [number, number, number, number];
  hrShape: [number, number, number, number];
  /** FNV-1a hash of the batch's uint8 pixels (for determinism checks). */
  hash: number;
  /** Time the caller waited for this batch, and the worker's time to build it. */
  waitMs: number;
  prepMs: number;
}

interface Reply {
  id: number;
  lr: Float32Array;
  hr: Float32Array;
  hash: number;
  ms: number;
  error?: string;
}

interface Pending {
  epoch: number;
  iter: number;
  promise: Promise<Reply>;
}

export class BatchLoader {
  private worker: Worker;
  private nextId = 0;
  private waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private queue: Pending[] = [];
  private cursor = { epoch: 0, iter: 0 };
  private failed: Error | null = null;
  private readonly lp: number;

  constructor(cache: DataCache, private readonly sampler: PatchSampler, private readonly itersPerEpoch: number, private readonly prefetch = 2) {
    this.lp = sampler.patch / cache.scale;
    const workerData = {
      hrFile: cache.hrFile,
      lrFile: cache.lrFile,
      images: cache.images.map((im) => [im.width, im.height, im.hrOffset, im.lrOffset]),
      scale: cache.scale,
      patch: sampler.patch,
    };
    // The worker body is plain JS built from a function's source, so it runs the same from dist/ and from TS
    // sources under a test runner; `__name` covers helpers that some transpilers insert.
    this.worker = new Worker(`const __name = (f) => f;\n(${workerMain.toString()})();`, { eval: true, workerData });
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.error) w.reject(new Error(`data loader: ${r.error}`));
      else w.resolve(r);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (this.waiting.size) this.fail(new Error(`data loader worker exited (code ${code})`));
    });
  }

  private fail(e: Error): void {
    this.failed = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Continue from (epoch, iter): drops batches requested for another position. */
  seek(epoch: number, iter: number): void {
    this.queue = [];
    this.cursor = { epoch, iter };
  }

  private request(): void {
    const { epoch, iter } = this.cursor;
    const specs = this.sampler.batchSpecs(epoch, iter);
    const id = this.nextId++;
    const promise = new Promise<Reply>((resolve, reject) => {
      if (this.failed) return reject(this.failed);
      this.waiting.set(id, { resolve, reject });
    });
    promise.catch(() => undefined); // surfaced by next()
    this.worker.postMessage({ id, specs: specs.map((s) => [s.img, s.x, s.y, s.aug]) });
    this.queue.push({ epoch, iter, promise });
    this.cursor = iter + 1 >= this.itersPerEpoch ? { epoch: epoch + 1, iter: 0 } : { epoch, iter: iter + 1 };
  }

  /** The batch at the cursor; keeps `prefetch` more in flight. */
  async next(): Promise<Batch> {
    while (this.queue.length < this.prefetch + 1) this.request();
    const p = this.queue.shift()!;
    const t0 = performance.now();
    const r = await p.promise;
    const waitMs = performance.now() - t0;
    while (this.queue.length < this.prefetch) this.request();
    const B = this.sampler.batch;
    const P = this.sampler.patch;
    return {
      epoch: p.epoch, iter: p.iter, lr: r.lr, hr: r.hr, hash: r.hash, waitMs, prepMs: r.ms,
      lrShape: [B, 3, this.lp, this.lp], hrShape: [B, 3, P, P],
    };
  }

  async close(): Promise<void> {
    this.queue = [];
    await this.worker.terminate();
  }
}

/* Worker thread entry point. Self-contained: it is serialised with toString(), so it may not use imports or
   anything from the enclosing module. */
function workerMain(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const wd = workerData as { hrFile: string; lrFile: string; images: number[][]; scale: number; patch: number };
  const fdH = fs.openSync(wd.hrFile, 'r');
  const fdL = fs.openSync(wd.lrFile, 'r');
  const s = wd.scale;
  const P = wd.patch;
  const p = P / s;
  const bufH = Buffer.alloc(P * P * 3);
  const bufL = Buffer.alloc(p * p * 3);

  const readCrop = (fd: number, base: number, rowLen: number, x: number, y: number, n: number, buf: Buffer): void => {
    for (let r = 0; r < n; r++) {
      const pos = base + ((y + r) * rowLen + x) * 3;
      const got = fs.readSync(fd, buf, r * n * 3, n * 3, pos);
      if (got !== n * 3) throw new Error(`cache file is truncated (wanted ${n * 3} bytes at ${pos}, got ${got})`);
    }
  };

  // Writes the n×n HWC crop as CHW floats at `out[off..]` under transform `aug`
  // (bit 0: flip width, bit 1: flip height, bit 2: transpose); returns the updated hash.
  const put = (buf: Buffer, n: number, aug: number, out: Float32Array, off: number, hash: number): number => {
    const plane = n * n;
    const fw = aug & 1, fh = aug & 2, tr = aug & 4;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        let sy = tr ? x : y;
        let sx = tr ? y : x;
        if (fh) sy = n - 1 - sy;
        if (fw) sx = n - 1 - sx;
        const si = (sy * n + sx) * 3;
        const di = off + y * n + x;
        for (let c = 0; c < 3; c++) {
          const v = buf[si + c];
          out[di + c * plane] = v / 255;
          hash = Math.imul(hash ^ v, 16777619);
        }
      }
    }
    return hash;
  };

  parentPort!.on('message', (m: { id: number; specs: number[][] }) => {
    const t0 = performance.now();
    try {
      const B = m.specs.length;
      const lr = new Float32Array(B * 3 * p * p);
      const hr = new Float32Array(B * 3 * P * P);
      let hash = 0x811c9dc5;
      for (let k = 0; k < B; k++) {
        const [img, x, y, aug] = m.specs[k];
        const [w, , hrOff, lrOff] = wd.images[img];
        readCrop(fdL, lrOff, w / s, x, y, p, bufL);
        readCrop(fdH, hrOff, w, x * s, y * s, P, bufH);
        hash = put(bufL, p, aug, lr, k * 3 * p * p, hash);
        hash = put(bufH, P, aug, hr, k * 3 * P * P, hash);
      }
      parentPort!.postMessage({ id: m.id, lr, hr, hash: hash >>> 0, ms: performance.now() - t0 }, [lr.buffer, hr.buffer]);
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
