// lightsr export: a network (with weights) → ONNX file, written atomically (temporary file + rename).
import { existsSync, promises as fsp, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { exportOnnx, MAX_OPSET, MIN_OPSET } from '../backends/onnx/export.js';
import { getEntry } from '../models/index.js';

interface ExportFlags {
  model: string;
  scale: string;
  weights?: string;
  output?: string;
  opset: string;
  size?: string;
  force?: boolean;
}

/** '64x48' (width × height) → [height, width]. */
export function parseExportSize(text: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--size must look like 64x48 (width x height), got '${text}'`);
  return [Number(m[2]), Number(m[1])];
}

/** Writes `bytes` to `file` through a temporary file in the same folder, so a reader never sees half a file. */
export async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`cannot write '${file}': folder '${dir}' does not exist`);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await fsp.writeFile(tmp, bytes);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new Error(`cannot write '${file}': ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  program
    .command('export')
    .description('export a network with its weights to ONNX (dynamic N×3×H×W input where the network allows it)')
    .requiredOption('-m, --model <name>', 'network name (see `lightsr models`)')
    .requiredOption('-s, --scale <n>', 'scale')
    .option('--weights <file>', 'safetensors weights (default: random initialisation)')
    .option('-o, --output <file>', 'ONNX file to write (default: <model>_x<scale>.onnx)')
    .option('--opset <n>', `ONNX opset, ${MIN_OPSET}-${MAX_OPSET}`, '17')
    .option('--size <WxH>', 'export for this one input size (needed by networks whose graph depends on the size, e.g. HPINet)')
    .option('-f, --force', 'overwrite an existing output file')
    .action(async (flags: ExportFlags) => {
      const scale = Number(flags.scale);
      const entry = getEntry(flags.model, Number.isInteger(scale) ? scale : undefined);
      if (!Number.isInteger(scale)) throw new Error(`--scale must be an integer, got '${flags.scale}'`);
      const opset = Number(flags.opset);
      if (!/^\d+$/.test(flags.opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
        throw new Error(`--opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got '${flags.opset}'`);
      }
      const size = flags.size === undefined ? undefined : parseExportSize(flags.size);
      const output = flags.output ?? `${entry.name}_x${scale}.onnx`;
      if (existsSync(output) && !flags.force) throw new Error(`'${output}' exists (pass -f to overwrite)`);
      if (flags.weights !== undefined && !existsSync(flags.weights)) throw new Error(`weights file '${flags.weights}' not found`);
      const r = await exportOnnx(entry.name, scale, flags.weights, { opset, size });
      await writeAtomic(output, r.bytes);
      const dims = (d: (number | string)[]) => `[${d.join(', ')}]`;
      const note = r.metadata['lightsr.min_input'] ? ` (sides ≥ ${r.metadata['lightsr.min_input']} px)` : '';
      process.stdout.write(`${output}: ${entry.name} ×${scale}, opset ${r.opset}, ${r.nodes} nodes, ${(r.bytes.length / 1e6).toFixed(2)} MB; ` +
        `input ${dims(r.input)}${note} → output ${dims(r.output)}; weights: ${r.metadata['lightsr.weights']}\n`);
    });
}
