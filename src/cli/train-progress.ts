// `lightsr train` on a terminal: a progress bar redrawn in place (periodic plain lines when stderr is not a
// terminal), with the trainer's messages on their own lines.
import { fmtDuration, type ProgressInfo } from '../train/progress.js';

export class ProgressReporter {
  private lastDraw = 0;
  private lastLine = 0;
  private barShown = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly tty = Boolean(out.isTTY),
    /** Seconds between plain progress lines when not on a terminal. */
    private readonly lineEvery = 60,
  ) {}

  private text(p: ProgressInfo): string {
    const eta = (p.total - p.iteration) / Math.max(p.itPerSec, 1e-9);
    return `ep ${p.epoch}/${p.epochs} it ${p.iteration}/${p.total} ${p.itPerSec >= 1 ? p.itPerSec.toFixed(2) + ' it/s' : (1 / Math.max(p.itPerSec, 1e-9)).toFixed(2) + ' s/it'}` +
      ` loss ${p.loss.toFixed(5)} lr ${p.lr.toExponential(2)} data ${p.dataPct.toFixed(1)}% ETA ${fmtDuration(eta)}`;
  }

  update(p: ProgressInfo): void {
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
    if (this.barShown) this.out.write('\r\x1b[K');
    this.barShown = false;
    this.lastDraw = 0;
    this.out.write(`${msg}\n`);
  }

  end(): void {
    if (this.barShown) this.out.write('\n');
    this.barShown = false;
  }
}
