// Training configuration: the options of a run filled in from the paper defaults in the registry, and checked.
import path from 'node:path';
import { getEntry } from '../models/index.js';
import { OptionError } from '../option-error.js';
import { checkScale, parseScale } from '../pipeline/scale.js';
import { LOSSES, type LossName } from './losses.js';

export interface TrainConfig {
  model: string;
  scale: number;
  trainDir: string;
  valDir: string | null;
  epochs: number;
  batchSize: number;
  /** HR patch side (LR = patch / scale). */
  patchSize: number;
  /** Iterations per epoch; null = one pass over the images' HR patches. */
  itersPerEpoch: number | null;
  lr: number;
  schedule: 'step' | 'cosine' | 'constant';
  /** Step schedule period in epochs. */
  lrStep: number | null;
  lrGamma: number;
  warmup: number;
  minLr: number;
  loss: LossName;
  ssimWeight: number;
  /** EMA decay, or null for no EMA. */
  ema: number | null;
  seed: number;
  init: string | null;
  out: string;
  cacheDir: string;
  trainScaleDown: string | null;
  augment: boolean;
  /** Validate every N iterations; null = at every epoch end. */
  valEvery: number | null;
  /** Save `last` every N iterations (and at every epoch end, and every saveMinutes of wall time). */
  saveEvery: number;
  saveMinutes: number;
  /** JSONL train records every N iterations (averages over the window). */
  logEvery: number;
  threads: number | null;
  /** Stop (with a checkpoint) once this many iterations are done in total; null = run all epochs. */
  maxIters: number | null;
  /** Forward pass arithmetic: fp32, or bf16 autocast (weights, gradients and optimizer stay float32). */
  precision: Precision;
}

export const PRECISIONS = ['fp32', 'bf16'] as const;
export type Precision = (typeof PRECISIONS)[number];

/**
 * The value of every option a run leaves out: the one place training defaults are written (`lightsr train` shows
 * them in its help). lr, lrStep, lrGamma and loss come from the network's paper recipe in the registry first;
 * emaDecay is the decay when EMA is asked for without one.
 */
export const TRAIN_DEFAULTS = {
  scale: 2, epochs: 100, batchSize: 16, patchSize: 192, lr: 2e-4, lrGamma: 0.5, warmup: 0, minLr: 1e-7, loss: 'l1',
  ssimWeight: 0.1, emaDecay: 0.999, seed: 0, augment: true, saveEvery: 500, saveMinutes: 10, logEvery: 10, precision: 'fp32',
} as const;

export type PartialConfig = Partial<TrainConfig> & { model: string; trainDir: string; out: string };

// Errors name the option by its TrainConfig key (OptionError.option); `lightsr train` adds its flag.
const bad = (key: keyof TrainConfig, message: string) => new OptionError(key, message);
const posInt = (v: unknown, key: keyof TrainConfig): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw bad(key, `${key} must be a positive integer, got ${String(v)}`);
  return n;
};
const posNum = (v: unknown, key: keyof TrainConfig): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw bad(key, `${key} must be a positive number, got ${String(v)}`);
  return n;
};

/** Fill in defaults (paper recipe from the registry, then TRAIN_DEFAULTS) and validate every value. */
export function resolveConfig(p: PartialConfig): TrainConfig {
  const D = TRAIN_DEFAULTS;
  const scale = checkScale(typeof p.scale === 'string' ? parseScale(p.scale) : (p.scale ?? D.scale));
  const entry = getEntry(p.model, scale);
  const paper = entry.train ?? { lr: D.lr };
  const loss = (p.loss ?? paper.loss ?? D.loss) as LossName;
  if (!LOSSES.includes(loss)) throw bad('loss', `loss must be one of ${LOSSES.join(', ')}, got '${loss}'`);
  const patchSize = posInt(p.patchSize ?? D.patchSize, 'patchSize');
  if (patchSize % scale) throw bad('patchSize', `patchSize ${patchSize} (HR) must be a multiple of the scale ${scale}`);
  let schedule = p.schedule ?? (p.lrStep ? 'step' : paper.lrStep ? 'step' : 'constant');
  const lrStep = schedule === 'step' ? (p.lrStep ?? paper.lrStep ?? null) : null;
  if (schedule === 'step' && !lrStep) schedule = 'constant';
  const ema = p.ema === undefined || p.ema === null ? null : Number(p.ema);
  if (ema !== null && !(ema > 0 && ema < 1)) throw bad('ema', `ema decay must be in (0, 1), got ${p.ema}`);
  const out = path.resolve(p.out);
  const c: TrainConfig = {
    model: entry.name,
    scale,
    trainDir: path.resolve(p.trainDir),
    valDir: p.valDir ? path.resolve(p.valDir) : null,
    epochs: posInt(p.epochs ?? D.epochs, 'epochs'),
    batchSize: posInt(p.batchSize ?? D.batchSize, 'batchSize'),
    patchSize,
    itersPerEpoch: p.itersPerEpoch == null ? null : posInt(p.itersPerEpoch, 'itersPerEpoch'),
    lr: posNum(p.lr ?? paper.lr, 'lr'),
    schedule,
    lrStep: lrStep === null ? null : posNum(lrStep, 'lrStep'),
    lrGamma: posNum(p.lrGamma ?? paper.lrGamma ?? D.lrGamma, 'lrGamma'),
    warmup: p.warmup == null ? D.warmup : Number(p.warmup),
    minLr: p.minLr == null ? D.minLr : Number(p.minLr),
    loss,
    ssimWeight: p.ssimWeight == null ? D.ssimWeight : Number(p.ssimWeight),
    ema,
    seed: p.seed == null ? D.seed : Number(p.seed),
    init: p.init ? path.resolve(p.init) : null,
    out,
    cacheDir: path.resolve(p.cacheDir ?? path.join(path.dirname(out), 'cache')),
    trainScaleDown: p.trainScaleDown ?? null,
    augment: p.augment ?? D.augment,
    valEvery: p.valEvery == null ? null : posInt(p.valEvery, 'valEvery'),
    saveEvery: posInt(p.saveEvery ?? D.saveEvery, 'saveEvery'),
    saveMinutes: p.saveMinutes == null ? D.saveMinutes : posNum(p.saveMinutes, 'saveMinutes'),
    logEvery: posInt(p.logEvery ?? D.logEvery, 'logEvery'),
    threads: p.threads == null ? null : posInt(p.threads, 'threads'),
    maxIters: p.maxIters == null ? null : posInt(p.maxIters, 'maxIters'),
    precision: (p.precision ?? D.precision) as Precision,
  };
  if (!PRECISIONS.includes(c.precision)) throw bad('precision', `precision must be one of ${PRECISIONS.join(', ')}, got '${String(p.precision)}'`);
  if (!(Number.isInteger(c.warmup) && c.warmup >= 0)) throw bad('warmup', 'warmup must be a whole number of iterations ≥ 0');
  if (!(c.minLr >= 0)) throw bad('minLr', 'minLr must be ≥ 0');
  if (!(c.ssimWeight >= 0)) throw bad('ssimWeight', 'ssimWeight must be ≥ 0');
  if (!(Number.isSafeInteger(c.seed) && c.seed >= 0)) throw bad('seed', 'seed must be a non-negative integer');
  if (!(c.lrGamma > 0 && c.lrGamma <= 1)) throw bad('lrGamma', 'lrGamma must be in (0, 1]');
  return c;
}
