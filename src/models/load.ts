// Create a registered network and load its weights from safetensors.
//
// Our own trained files describe themselves, either in the safetensors `__metadata__` or in a JSON card next
// to the file (`<file>.json`), with the architecture and scale; a mismatch with what was asked is refused.
// Official conversions (../shared/reference/weights) carry `arch`/`variant`/`scale` metadata that is checked
// the same way; files without any description are accepted on exact name and shape checks alone.
import { existsSync, readFileSync } from 'node:fs';
import type { Ops } from '../engine/ops.js';
import { readSafetensors } from '../engine/safetensors.js';
import { getEntry, type SRModel } from './registry.js';

/** What a weights file says about itself. */
export interface WeightsCard {
  architecture?: string;
  scale?: number;
  /** Where the description came from (for messages). */
  from: string;
}

const norm = (s: string) => s.trim().toLowerCase().replace(/_/g, '-');

function pick(meta: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = meta[k];
    if (typeof v === 'string' && v.trim()) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/** Architecture name and scale from a metadata record (`architecture`|`arch`|`model`, `variant`, `scale`). */
export function describeWeights(meta: Record<string, unknown>, from: string): WeightsCard {
  const arch = pick(meta, ['architecture', 'arch', 'model']);
  const variant = pick(meta, ['variant']);
  const scaleText = pick(meta, ['scale']);
  const card: WeightsCard = { from };
  if (arch) card.architecture = variant && !norm(arch).endsWith(`-${norm(variant)}`) ? `${arch}-${variant}` : arch;
  if (scaleText !== undefined) {
    const s = Number(scaleText);
    if (!Number.isInteger(s) || s < 1) throw new Error(`${from}: scale '${scaleText}' is not a positive integer`);
    card.scale = s;
  }
  return card;
}

function readCard(weightsPath: string, metadata: Record<string, string>): WeightsCard {
  const sidecar = `${weightsPath}.json`;
  if (existsSync(sidecar)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(sidecar, 'utf8'));
    } catch (e) {
      throw new Error(`${sidecar}: model card is not valid JSON (${(e as Error).message})`);
    }
    if (!json || typeof json !== 'object') throw new Error(`${sidecar}: model card must be a JSON object`);
    const card = describeWeights(json as Record<string, unknown>, sidecar);
    if (card.architecture || card.scale) return card;
  }
  return describeWeights(metadata, `${weightsPath} (metadata)`);
}

/**
 * The network `name` at `scale`, in eval mode, with weights from `weightsPath` (safetensors) if given;
 * without a path the weights are freshly initialised.
 */
export async function loadModel(ops: Ops, name: string, scale: number, weightsPath?: string): Promise<SRModel> {
  const entry = getEntry(name);
  if (!entry.scales.includes(scale)) {
    throw new Error(`${entry.name} has no ×${scale} model (available scales: ${entry.scales.join(', ')})`);
  }
  let sd;
  let card: WeightsCard | undefined;
  if (weightsPath) {
    const file = await readSafetensors(weightsPath);
    card = readCard(weightsPath, file.metadata);
    if (card.architecture && norm(card.architecture) !== norm(entry.name)) {
      throw new Error(`${weightsPath} holds ${card.architecture} weights (per ${card.from}), not ${entry.name}`);
    }
    if (card.scale !== undefined && card.scale !== scale) {
      throw new Error(`${weightsPath} holds ${entry.name} ×${card.scale} weights (per ${card.from}), but ×${scale} was requested`);
    }
    sd = file.tensors;
  }
  const model = entry.create(ops, scale);
  if (sd) {
    try {
      model.loadStateDict(sd);
    } catch (e) {
      model.dispose();
      throw new Error(`${weightsPath} does not fit ${entry.name} ×${scale}: ${(e as Error).message}`);
    }
  }
  return model.eval() as SRModel;
}
