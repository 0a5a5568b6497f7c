// Observability: a progress bar on a terminal (periodic plain lines otherwise) and a JSONL log.
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

export class ProgressReporter {
  private lastDraw = 0;
  private lastLine = 0;
  private barShown = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(out.isTTY),
    /** Seconds between plain progress lines when not on a terminal. */
    private readonly lineEvery = 60,
    private readonly quiet = false,
  ) {}

  private text(p: ProgressInfo): string {
    const eta = (p.total - p.iteration) / Math.max(p.itPerSec, 1e-9);
    return `ep ${p.epoch}/${p.epochs} it ${p.iteration}/${p.total} ${p.itPerSec >= 1 ? p.itPerSec.toFixed(2) + ' it/s' : (1 / Math.max(p.itPerSec, 1e-9)).toFixed(2) + ' s/it'}` +
      ` loss ${p.loss.toFixed(5)} lr ${p.lr.toExponential(2)} data ${p.dataPct.toFixed(1)}% ETA ${fmtDuration(eta)}`;
  }

  update(p: ProgressInfo): void {
    if (this.quiet) return;
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 250 && p.iteration < p.total) return;
      this.lastDraw = now;
      const width = 24;
      const done = Math.round((width * p.iteration) / Math.max(1, p.total));
      const bar = '█'.repeat(done) + '░'.repeat(width - done);
      const cols = this.out.columns ?? 120;
      const line = `${bar} ${this.text(p)}`;
      this.out.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
      this.barShown = true;
    } else {
      if (this.lastLine === 0) this.lastLine = now;
      if (now - this.lastLine < this.lineEvery * 1000) return;
      this.lastLine = now;
      this.out.write(`${new Date().toISOString().slice(0, 19)} ${this.text(p)}\n`);
    }
  }

  /** A message on its own line (clears the bar first). */
  line(msg: string): void {
    if (this.quiet) return;
    if (this.barShown) this.out.write('\r\x1b[K');
    this.barShown = false;
    this.lastDraw = 0;
    this.out.write(`${msg}\n`);
  }

  end(): void {
    if (this.barShown && !this.quiet) this.out.write('\n');
    this.barShown = false;
  }
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
