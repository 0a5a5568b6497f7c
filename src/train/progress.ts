// Observability: the progress record the trainer emits after every step (rendered by `lightsr train`), the
// JSONL log, and durations as people read them.
import fs from 'node:fs';

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  if (h) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${s.toFixed(s < 10 ? 1 : 0)}s`;
}

/** Where a run stands after a step (Trainer onProgress). */
export interface ProgressInfo {
  iteration: number;
  total: number;
  epoch: number;
  epochs: number;
  loss: number;
  lr: number;
  itPerSec: number;
  dataPct: number;
}

/** Append-only JSON-lines log (one object per line). */
export class JsonlLog {
  constructor(readonly file: string) {}

  write(rec: Record<string, unknown>): void {
    fs.appendFileSync(this.file, `${JSON.stringify(rec)}\n`);
  }

  /** After a resume: keep only records up to `iteration` (and those without one), atomically. */
  truncateAfter(iteration: number): void {
    if (!fs.existsSync(this.file)) return;
    const keep = fs.readFileSync(this.file, 'utf8').split('\n').filter((l) => {
      if (!l.trim()) return false;
      try {
        const r = JSON.parse(l) as { iter?: number };
        return r.iter === undefined || r.iter <= iteration;
      } catch {
        return false; // a line torn by a kill
      }
    });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, keep.map((l) => `${l}\n`).join(''));
    fs.renameSync(tmp, this.file);
  }

  static read(file: string): Record<string, unknown>[] {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}
