// Create a registered network and load its weights from a safetensors file.
//
// Our own trained files describe themselves, either in the safetensors `__metadata__` or in a JSON card next
// to the file (`<file>.json`), with the architecture and scale; official conversions (../shared/reference/weights)
// carry `arch`/`variant`/`scale` metadata. The checks are in card.ts, shared with the web page.
import { existsSync, readFileSync } from 'node:fs';
import type { Ops } from '../engine/ops.js';
import { readSafetensors } from '../engine/safetensors.js';
import { buildModel, checkCard, parseCard, pickCard } from './card.js';
import { getEntry, type SRModel } from './registry.js';

export { describeWeights, type WeightsCard } from './card.js';

/**
 * The network `name` at `scale`, in eval mode, with weights from `weightsPath` (safetensors) if given;
 * without a path the weights are freshly initialised.
 */
export async function loadModel(ops: Ops, name: string, scale: number, weightsPath?: string): Promise<SRModel> {
  const entry = getEntry(name, scale);
  if (!weightsPath) return buildModel(ops, entry, scale);
  const file = await readSafetensors(weightsPath);
  const sidecar = `${weightsPath}.json`;
  const card = existsSync(sidecar) ? parseCard(readFileSync(sidecar, 'utf8'), sidecar) : undefined;
  checkCard(pickCard(card, sidecar, file.metadata, `${weightsPath} (metadata)`), weightsPath, entry.name, scale);
  return buildModel(ops, entry, scale, file.tensors, weightsPath);
}
