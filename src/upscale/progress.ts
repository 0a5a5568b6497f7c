// Progress bars on a TTY (stderr): one for the current file (tiles, ETA) and, for a batch, one for the
// batch (files, ETA). Redrawn in place, at most ~10 times a second; silent when the stream is not a TTY.

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function bar(frac: number, width: number): string {
  const n = Math.round(Math.min(1, Math.max(0, frac)) * width);
  return '█'.repeat(n) + '░'.repeat(width - n);
}

export class Progress {
  private lines = 0;
  private last = 0;
  private fileName = '';
  private tiles: [number, number] = [0, 0];
  private fileEta = NaN;
  private filesDone = 0;
  private readonly t0 = performance.now();
  readonly enabled: boolean;

  constructor(private readonly out: ProgressStream, private readonly files: number, enabled = out.isTTY === true) {
    this.enabled = enabled;
  }

  startFile(name: string): void {
    this.fileName = name;
    this.tiles = [0, 0];
    this.fileEta = NaN;
    this.draw(true);
  }

  tile(done: number, total: number, eta: number): void {
    this.tiles = [done, total];
    this.fileEta = eta;
    this.draw(done === total);
  }

  /** Count a finished file (done, skipped or failed). */
  endFile(): void {
    this.filesDone++;
    this.draw(true);
  }

  /** Print a permanent line above the bars. */
  log(line: string): void {
    if (!this.enabled) return;
    this.clear();
    this.out.write(line + '\n');
    this.draw(true);
  }

  /** Remove the bars (at the end). */
  finish(): void {
    if (this.enabled) this.clear();
  }

  private clear(): void {
    if (this.lines > 0) this.out.write(`\x1b[${this.lines}A\x1b[0J`);
    this.lines = 0;
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const width = Math.max(20, (this.out.columns || 80) - 1); // stay within one terminal line
    const rows: string[] = [];
    const [d, n] = this.tiles;
    const fileTail = ` ${d}/${n || '?'} tiles  ETA ${formatSeconds(this.fileEta)}`;
    rows.push(fit(this.fileName, bar(n ? d / n : 0, 20) + fileTail, width));
    if (this.files > 1) {
      const elapsed = (now - this.t0) / 1000;
      const perFile = this.filesDone > 0 ? elapsed / this.filesDone : NaN;
      const eta = perFile * (this.files - this.filesDone);
      rows.push(fit('batch', `${bar(this.filesDone / this.files, 20)} ${this.filesDone}/${this.files} files  ETA ${formatSeconds(eta)}`, width));
    }
    this.clear();
    this.out.write(rows.join('\n') + '\n');
    this.lines = rows.length;
  }
}

/** "label  right", with the label shortened from the left to fit `width`. */
function fit(label: string, right: string, width: number): string {
  const room = width - right.length - 2;
  if (room < 4) return right.slice(0, width);
  const l = label.length > room ? '…' + label.slice(label.length - room + 1) : label;
  return `${l.padEnd(room)}  ${right}`;
}
