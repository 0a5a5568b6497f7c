// `lightsr convert IN.pth -o OUT.safetensors [--model NAME --scale S] [--key K]`: import an official PyTorch
// checkpoint without executing its pickle (src/io/pth.ts). With --model the tensors must fit that network
// exactly, and the file records `architecture`/`scale` in its metadata, as our own trained weights do.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { numel } from '../engine/host.js';
import { writeSafetensorsSync } from '../engine/safetensors.js';
import { createShapeOps } from '../eval/complexity.js';
import { findStateDict, parsePth, toStateDict } from '../io/pth.js';
import { getEntry } from '../models/index.js';

export interface ConvertOptions {
  /** Where the state dict sits in the checkpoint ('a/b' for nested dicts); default: found automatically. */
  key?: string;
  /** Registry network to verify against (and to record in the metadata). */
  model?: string;
  scale?: number;
}

export interface ConvertReport {
  format: 'zip' | 'legacy';
  /** Where the state dict was found ('' = the checkpoint itself). */
  key: string;
  tensors: number;
  values: number;
  stripped: boolean;
  dropped: string[];
  metadata: Record<string, string>;
}

function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** Convert `input` (.pth) to `output` (safetensors, written atomically); nothing is written on any error. */
export function convertPth(input: string, output: string, opts: ConvertOptions = {}): ConvertReport {
  if (sameFile(input, output)) throw new Error(`refusing to overwrite the input ${input}; choose another output with -o`);
  let entry;
  let scale = opts.scale;
  if (opts.model !== undefined) {
    entry = getEntry(opts.model);
    if (scale === undefined) {
      if (entry.scales.length !== 1) throw new Error(`--model ${entry.name} needs --scale (one of ${entry.scales.join(', ')})`);
      scale = entry.scales[0];
    }
    if (!entry.scales.includes(scale)) throw new Error(`${entry.name} has no ×${scale} model (available scales: ${entry.scales.join(', ')})`);
  } else if (scale !== undefined) {
    throw new Error('--scale needs --model (the network to verify the weights against)');
  }

  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(input);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${input}: file not found` : `${input}: cannot read (${(e as Error).message})`);
  }
  const pth = parsePth(bytes, input);
  let found;
  let converted;
  try {
    found = findStateDict(pth.root, opts.key);
    converted = toStateDict(found.dict);
  } catch (e) {
    throw new Error(`${input}: ${(e as Error).message}`);
  }
  const { tensors, stripped, dropped } = converted;

  if (entry && scale !== undefined) {
    const model = entry.create(createShapeOps().ops, scale);
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      throw new Error(`${input} does not fit ${entry.name} ×${scale}: ${(e as Error).message}`);
    } finally {
      model.dispose();
    }
  }

  const metadata: Record<string, string> = {
    source: path.basename(input),
    source_format: pth.format === 'zip' ? 'torch zip' : 'torch legacy',
    layout: 'pytorch',
    converted_by: 'lightsr convert',
  };
  if (found.path) metadata.source_key = found.path;
  if (entry && scale !== undefined) Object.assign(metadata, { architecture: entry.name, scale: String(scale) });
  writeSafetensorsSync(output, tensors, metadata);
  let values = 0;
  for (const t of tensors.values()) values += numel(t.shape);
  return { format: pth.format, key: found.path, tensors: tensors.size, values, stripped, dropped, metadata };
}

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
      let scale: number | undefined;
      if (o.scale !== undefined) {
        scale = Number(o.scale);
        if (!Number.isInteger(scale) || scale < 1) throw new Error(`--scale must be a positive integer (got '${o.scale}')`);
      }
      const output = o.output ?? `${input.replace(/\.(pth|pt|ckpt|bin)$/i, '')}.safetensors`;
      const r = convertPth(input, output, { key: o.key, model: o.model, scale });
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
