// Create a registered network and load its weights from a safetensors file (Node).
//
// Our own trained files describe themselves, either in the safetensors `__metadata__` or in a JSON card next
// to the file (`<file>.json`), with the architecture and scale; official conversions (../shared/reference/weights)
// carry `arch`/`variant`/`scale` metadata. The checks are in card.ts, shared with the browser.
import { existsSync, promises as fsp } from 'node:fs';
import type { Ops } from '../engine/ops.js';
import { readSafetensorsBytes } from '../engine/safetensors.js';
import { buildModel, modelFromBytes } from './card.js';
import { getEntry, type SRModel } from './index.js';

export { describeWeights, type WeightsCard } from './card.js';

/** The bytes of a safetensors file and the text of its JSON card, if there is one. */
export async function readWeightsFile(file: string): Promise<{ bytes: Uint8Array; card?: string }> {
  const bytes = await readSafetensorsBytes(file);
  const sidecar = `${file}.json`;
  return existsSync(sidecar) ? { bytes, card: await fsp.readFile(sidecar, 'utf8') } : { bytes };
}

/**
 * The network `name` at `scale`, in eval mode, with weights from `weightsPath` (safetensors) if given;
 * without a path the weights are freshly initialised.
 */
export async function loadModel(ops: Ops, name: string, scale: number, weightsPath?: string): Promise<SRModel> {
  if (!weightsPath) return buildModel(ops, getEntry(name, scale), scale);
  getEntry(name, scale); // unknown names and scales fail before any file is read
  const { bytes, card } = await readWeightsFile(weightsPath);
  return modelFromBytes(ops, name, scale, bytes, weightsPath, card);
}
