// `lightsr convert IN.pth -o OUT.safetensors [--model NAME --scale S] [--key K]`: the CLI of convertPth
// (src/io/convert.ts), which imports an official PyTorch checkpoint without executing its pickle.
import type { Command } from 'commander';
import { convertPth } from '../io/convert.js';
import { OptionError } from '../option-error.js';
import { parseScale } from '../pipeline/scale.js';

const FLAGS: Record<string, string> = { key: '--key', scale: '--scale', model: '--model', output: '-o' };

export function register(program: Command): void {
  program
    .command('convert')
    .description('import a PyTorch checkpoint (.pth, zip or legacy format) as safetensors, without executing its pickle')
    .argument('<input>', 'PyTorch checkpoint (.pth / .pt)')
    .option('-o, --output <file>', 'safetensors file to write (default: the input name with .safetensors)')
    .option('--model <name>', 'verify the tensors fit this network exactly and record it in the metadata')
    .option('-s, --scale <n>', 'scale of that network')
    .option('--key <path>', "where the state_dict is in the checkpoint, e.g. 'params' or 'model/state_dict' (default: found automatically)")
    .action((input: string, o: { output?: string; model?: string; scale?: string; key?: string }) => {
      const scale = o.scale === undefined ? undefined : parseScale(o.scale);
      const output = o.output ?? `${input.replace(/\.(pth|pt|ckpt|bin)$/i, '')}.safetensors`;
      let r;
      try {
        r = convertPth(input, output, { key: o.key, model: o.model, scale });
      } catch (err) {
        if (err instanceof OptionError && FLAGS[err.option]) err.message += ` (${FLAGS[err.option]})`;
        throw err;
      }
      const lines = [
        `${input}: ${r.format === 'zip' ? 'zip' : 'legacy'} torch.save format, state_dict ${r.key ? `under '${r.key}'` : 'at the top level'}`,
        `  ${r.tensors} tensors, ${r.values.toLocaleString('en-US')} values${r.stripped ? ", 'module.' prefix removed" : ''}`,
      ];
      if (r.dropped.length) lines.push(`  left out ${r.dropped.length} integer buffer(s): ${r.dropped.join(', ')}`);
      if (r.metadata.architecture) lines.push(`  fits ${r.metadata.architecture} ×${r.metadata.scale} exactly (names and shapes)`);
      lines.push(`wrote ${output}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
