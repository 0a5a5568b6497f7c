// convertPth: import an official PyTorch checkpoint (.pth) as safetensors without executing its pickle
// (src/io/pth.ts). With a model the tensors must fit that network exactly, and the file records
// `architecture`/`scale` in its metadata, as our own trained weights do. `lightsr convert` is its CLI.
import fs from 'node:fs';
import path from 'node:path';
import { numel } from '../engine/host.js';
import { writeSafetensorsSync } from '../engine/safetensors.js';
import { createShapeOps } from '../eval/complexity.js';
import { getEntry } from '../models/index.js';
import { OptionError } from '../option-error.js';
import { checkScale } from '../pipeline/scale.js';
import { findStateDict, parsePth, toStateDict } from './pth.js';

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
  if (sameFile(input, output)) throw new OptionError('output', `refusing to overwrite the input ${input}; choose another output file`);
  let entry;
  let scale = opts.scale;
  if (opts.model !== undefined) {
    entry = getEntry(opts.model);
    if (scale === undefined) {
      if (entry.scales.length !== 1) throw new OptionError('scale', `${entry.name} needs a scale to verify against (one of ${entry.scales.join(', ')})`);
      scale = entry.scales[0];
    }
    getEntry(entry.name, checkScale(scale)); // the one message for a scale the network does not have
  } else if (scale !== undefined) {
    throw new OptionError('model', 'a scale needs a model (the network to verify the weights against)');
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
    const message = `${input}: ${(e as Error).message}`;
    throw e instanceof OptionError ? new OptionError(e.option, message) : new Error(message);
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
