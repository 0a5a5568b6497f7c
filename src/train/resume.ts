// Resuming a run: which options may differ from the checkpoint's, and the config the run continues with.
import { loadCheckpoint } from './checkpoint.js';
import { type PartialConfig, resolveConfig, type TrainConfig } from './config.js';
import { runFiles } from './trainer.js';

/** Options that may change when resuming (everything else must match the checkpoint). */
export const RESUMABLE_OVERRIDES: (keyof TrainConfig)[] = [
  'epochs', 'valDir', 'valEvery', 'saveEvery', 'saveMinutes', 'logEvery', 'threads', 'maxIters',
  'precision',
];

/** Changes that would alter a resumed run; `keys` are the offending options. */
export class ResumeConflictError extends Error {
  override name = 'ResumeConflictError';
  constructor(readonly keys: (keyof TrainConfig)[]) {
    super(`cannot change ${keys.join(', ')} when resuming (only ${RESUMABLE_OVERRIDES.join(', ')} may change)`);
  }
}

/**
 * The config a resumed run continues with: `saved` (the checkpoint's) with `changes` applied. A change to any
 * other option than RESUMABLE_OVERRIDES that resolves to a different value is refused; `out` always stays the
 * saved one and `maxIters` applies to one session only (reset unless given again).
 */
export function resumeConfig(saved: TrainConfig, changes: Partial<TrainConfig> = {}): TrainConfig {
  const keys = (Object.keys(changes) as (keyof TrainConfig)[]).filter((k) => k !== 'out' && changes[k] !== undefined);
  const bad = keys.filter((k) => !RESUMABLE_OVERRIDES.includes(k)
    && String(resolveConfig({ ...saved, [k]: changes[k] } as PartialConfig)[k]) !== String(saved[k]));
  if (bad.length) throw new ResumeConflictError(bad);
  return resolveConfig({ ...saved, maxIters: null, ...changes, out: saved.out } as PartialConfig);
}

/** The saved config of the run in folder `out` (its last checkpoint), with `changes` applied as in resumeConfig. */
export function loadResumeConfig(out: string, changes: Partial<TrainConfig> = {}): TrainConfig {
  const saved = loadCheckpoint(runFiles(out).checkpoint).state.config as unknown as TrainConfig;
  return resumeConfig(saved, changes);
}
