// The model zoo: importing this module registers every network; look them up here.
import { registered, type ModelEntry } from './registry.js';
import './imdn.js';
import './hpinet.js';
import './shsr.js';
import './hfdn.js';
import './rfdn.js';
import './rdnesa.js';

export type { ModelEntry, SRModel } from './registry.js';

/** The network `name`; with `scale`, also checked to exist at that scale. */
export function getEntry(name: string, scale?: number): ModelEntry {
  const e = registered().get(name.toLowerCase());
  if (!e) throw new Error(`unknown model '${name}'; known: ${[...registered().keys()].join(', ')}`);
  if (scale !== undefined && !e.scales.includes(scale)) {
    throw new Error(`${e.name} has no ×${scale} model (available scales: ${e.scales.join(', ')})`);
  }
  return e;
}

export function listEntries(): ModelEntry[] {
  return [...registered().values()];
}
