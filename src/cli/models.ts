import type { Command } from 'commander';
import { listEntries } from '../models/index.js';
import { measureComplexity, type Complexity } from '../eval/complexity.js';

const TARGET = { width: 1280, height: 720 };

/** One row per registered network × scale (params, MACs for a 1280×720 output, spec §6.5). */
export function modelTable(): (Complexity & { title: string })[] {
  const rows: (Complexity & { title: string })[] = [];
  for (const e of listEntries()) {
    for (const s of e.scales) {
      let c: Complexity;
      try {
        c = measureComplexity(e.name, s, TARGET);
      } catch (err) {
        throw new Error(`cannot measure ${e.name} ×${s}: ${err instanceof Error ? err.message : String(err)}`);
      }
      rows.push({ ...c, title: e.title });
    }
  }
  return rows;
}

export function formatModelTable(rows: (Complexity & { title: string })[]): string {
  const head = ['model', 'scale', 'params', 'MACs (G)', 'LR input', 'description'];
  const cells = rows.map((r) => [
    r.model,
    `×${r.scale}`,
    r.params.toLocaleString('en-US'),
    (r.macs / 1e9).toFixed(2),
    `${r.input.width}×${r.input.height}`,
    r.title,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([2, 3]);
  const line = (c: string[]) =>
    c.map((v, i) => (i === c.length - 1 ? v : right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ');
  return [line(head), ...cells.map(line), '', `MACs: conv + linear + attention matmuls for a ${TARGET.width}×${TARGET.height} output.`].join('\n');
}

export function register(program: Command): void {
  program
    .command('models')
    .description(`list every network × scale with parameters and MACs (for a ${TARGET.width}×${TARGET.height} output)`)
    .option('--json', 'print JSON instead of a table')
    .action((opts: { json?: boolean }) => {
      const rows = modelTable(); // everything is measured before anything is printed
      process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatModelTable(rows)}\n`);
    });
}
