// The model zoo's types and its table; each network file registers itself here. Lookups (getEntry,
// listEntries) live in models/index.ts, which imports every network first, so they always see the full zoo.
import type { Ops, Tensor } from '../engine/ops.js';
import type { Module } from '../nn/module.js';

/** A super-resolution network: [N,3,h,w] in [0,1] → [N,3,h·scale,w·scale] (not clamped). */
export interface SRModel extends Module {
  readonly scale: number;
  forward(x: Tensor): Tensor;
  /** Training loss hook for networks with extra outputs (e.g. HFDN's multi-supervision). Optional. */
  forwardAll?(x: Tensor): Tensor[];
}

export interface ModelEntry {
  /** Registry key, e.g. 'imdn', 'hpinet-m', 'rfdn'. */
  name: string;
  /** Paper / short description for `lightsr models`. */
  title: string;
  scales: number[];
  create(ops: Ops, scale: number): SRModel;
  /** Smallest LR side the network accepts without internal padding (informational). */
  minInput?: number;
  /** Training defaults from the paper (lr, schedule, loss). */
  train?: { lr: number; lrStep?: number; lrGamma?: number; loss?: 'l1' | 'l1+ssim' | 'charbonnier' };
}

const entries = new Map<string, ModelEntry>();

export function register(e: ModelEntry): void {
  if (entries.has(e.name)) throw new Error(`model ${e.name} registered twice`);
  entries.set(e.name, e);
}

/** Every registered network, in registration order. Look networks up through models/index.ts, which registers them all. */
export function registered(): ReadonlyMap<string, ModelEntry> {
  return entries;
}
