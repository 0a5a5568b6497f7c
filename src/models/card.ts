// What a weights file says about itself, and the checks loadModel (src/models/load.ts, files) and the web page
// (web/src/weights.ts, HTTP) both make. Browser-safe: no Node imports.
//
// A description comes from a JSON card next to the file (`<file>.json`) or else from the safetensors
// `__metadata__`: architecture (`architecture`|`arch`|`model`, plus `variant`) and scale. A mismatch with what
// was asked is refused; a file without any description is accepted on exact name and shape checks alone.
import type { Ops } from '../engine/ops.js';
import type { StateDict } from '../engine/host.js';
import { parseSafetensors } from '../engine/safetensors.js';
import { getEntry } from './index.js';
import type { ModelEntry, SRModel } from './registry.js';

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

/** The JSON object of a card file's text. */
export function parseCard(text: string, from: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${from}: model card is not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${from}: model card must be a JSON object`);
  return json as Record<string, unknown>;
}

/** The description to trust: the card's when it names an architecture or a scale, else the metadata's. */
export function pickCard(
  card: Record<string, unknown> | undefined, cardFrom: string, metadata: Record<string, unknown>, metadataFrom: string,
): WeightsCard {
  if (card) {
    const said = describeWeights(card, cardFrom);
    if (said.architecture || said.scale) return said;
  }
  return describeWeights(metadata, metadataFrom);
}

/** Throws unless the description fits network `name` ×`scale`. */
export function checkCard(card: WeightsCard, file: string, name: string, scale: number): void {
  if (card.architecture && norm(card.architecture) !== norm(name)) {
    throw new Error(`${file} holds ${card.architecture} weights (per ${card.from}), not ${name}`);
  }
  if (card.scale !== undefined && card.scale !== scale) {
    throw new Error(`${file} holds ${name} ×${card.scale} weights (per ${card.from}), but ×${scale} was requested`);
  }
}

/** The network in eval mode with `tensors` from `file` (exact names and shapes), or freshly initialised. */
export function buildModel(ops: Ops, entry: ModelEntry, scale: number, tensors?: StateDict, file?: string): SRModel {
  const model = entry.create(ops, scale);
  if (tensors) {
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      model.dispose();
      throw new Error(`${file} does not fit ${entry.name} ×${scale}: ${(e as Error).message}`);
    }
  }
  return model.eval() as SRModel;
}

/**
 * The network `name` ×`scale` in eval mode with the safetensors weights in `bytes` (`file` names them in errors).
 * `cardText` is the JSON card found beside the file, if any. Browser-safe: every loader (files, URLs) ends here.
 */
export function modelFromBytes(ops: Ops, name: string, scale: number, bytes: Uint8Array, file: string, cardText?: string): SRModel {
  const entry = getEntry(name, scale);
  const st = parseSafetensors(bytes, file);
  const card = cardText === undefined ? undefined : parseCard(cardText, `${file}.json`);
  checkCard(pickCard(card, `${file}.json`, st.metadata, `${file} (metadata)`), file, entry.name, scale);
  return buildModel(ops, entry, scale, st.tensors, file);
}
