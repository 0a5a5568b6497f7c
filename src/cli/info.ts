import type { Command } from 'commander';
import { getEntry } from '../models/index.js';
import { measureComplexity, type Complexity } from '../eval/complexity.js';
import { getOps } from '../engine/select.js';
import { parseScale } from '../pipeline/scale.js';

function parseSize(text: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--output must look like 1280x720 (got '${text}')`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** "40.89 G" style MACs. */
export function fmtMacs(macs: number): string {
  return macs >= 1e9 ? `${(macs / 1e9).toFixed(2)} G` : `${(macs / 1e6).toFixed(2)} M`;
}

export function formatComplexity(c: Complexity, target: { width: number; height: number }): string {
  const parts = [c.by.conv && `conv ${fmtMacs(c.by.conv)}`, c.by.linear && `linear ${fmtMacs(c.by.linear)}`, c.by.matmul && `matmul ${fmtMacs(c.by.matmul)}`];
  return [
    `${c.model} ×${c.scale}`,
    `  params   ${c.params.toLocaleString('en-US')}`,
    `  MACs     ${fmtMacs(c.macs)} for ${target.width}×${target.height} output (${parts.filter(Boolean).join(', ')})`,
    `  input    ${c.input.width}×${c.input.height} → output ${c.output.width}×${c.output.height}`,
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('info')
    .description('parameters and MACs of a network (MACs counted for a 1280×720 output, conv + linear + matmul), and the engine that runs it')
    .argument('<model>', 'network name (see `lightsr models`)')
    .option('-s, --scale <n>', 'one scale (default: every scale the network has)')
    .option('--output <WxH>', 'output size the MACs are counted for', '1280x720')
    .action(async (name: string, opts: { scale?: string; output: string }) => {
      const entry = getEntry(name);
      const target = parseSize(opts.output);
      let scales = entry.scales;
      if (opts.scale !== undefined) {
        const s = parseScale(opts.scale);
        getEntry(entry.name, s); // the one message for a scale the network does not have
        scales = [s];
      }
      const lines = [`${entry.name}: ${entry.title}`, `scales: ${entry.scales.map((s) => `×${s}`).join(', ')}`];
      for (const s of scales) lines.push(formatComplexity(measureComplexity(entry.name, s, target), target));
      lines.push(`engine: ${(await getOps()).describe()}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
