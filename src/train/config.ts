// Training configuration: what `lightsr train` resolves from its flags and the paper defaults in the registry.
import path from 'node:path';
import { getEntry } from '../models/index.js';
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

/** Options that may change when resuming (everything else must match the checkpoint). */
export const RESUMABLE_OVERRIDES: (keyof TrainConfig)[] = [
  'epochs', 'valDir', 'valEvery', 'saveEvery', 'saveMinutes', 'logEvery', 'threads', 'maxIters',
  'precision',
];

export type PartialConfig = Partial<TrainConfig> & { model: string; scale: number; trainDir: string; out: string };

const posInt = (v: unknown, name: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
  return n;
};
const posNum = (v: unknown, name: string): number => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`--${name} must be a positive number, got ${String(v)}`);
  return n;
};

/** Fill in defaults (paper recipe from the registry) and validate every value. */
export function resolveConfig(p: PartialConfig): TrainConfig {
  const scale = posInt(p.scale, 'scale');
  const entry = getEntry(p.model, scale);
  const paper = entry.train ?? { lr: 2e-4 };
  const loss = (p.loss ?? paper.loss ?? 'l1') as LossName;
  if (!LOSSES.includes(loss)) throw new Error(`--loss must be one of ${LOSSES.join(', ')}, got '${loss}'`);
  const patchSize = posInt(p.patchSize ?? 192, 'patch_size');
  if (patchSize % scale) throw new Error(`--patch_size ${patchSize} (HR) must be a multiple of the scale ${scale}`);
  let schedule = p.schedule ?? (p.lrStep ? 'step' : paper.lrStep ? 'step' : 'constant');
  const lrStep = schedule === 'step' ? (p.lrStep ?? paper.lrStep ?? null) : null;
  if (schedule === 'step' && !lrStep) schedule = 'constant';
  const ema = p.ema === undefined || p.ema === null ? null : Number(p.ema);
  if (ema !== null && !(ema > 0 && ema < 1)) throw new Error(`--ema decay must be in (0, 1), got ${p.ema}`);
  const out = path.resolve(p.out);
  const c: TrainConfig = {
    model: entry.name,
    scale,
    trainDir: path.resolve(p.trainDir),
    valDir: p.valDir ? path.resolve(p.valDir) : null,
    epochs: posInt(p.epochs ?? 100, 'epochs'),
    batchSize: posInt(p.batchSize ?? 16, 'batch_size'),
    patchSize,
    itersPerEpoch: p.itersPerEpoch == null ? null : posInt(p.itersPerEpoch, 'iters_per_epoch'),
    lr: posNum(p.lr ?? paper.lr, 'lr'),
    schedule,
    lrStep: lrStep === null ? null : posNum(lrStep, 'lr_step'),
    lrGamma: posNum(p.lrGamma ?? paper.lrGamma ?? 0.5, 'lr_gamma'),
    warmup: p.warmup == null ? 0 : Number(p.warmup),
    minLr: p.minLr == null ? 1e-7 : Number(p.minLr),
    loss,
    ssimWeight: p.ssimWeight == null ? 0.1 : Number(p.ssimWeight),
    ema,
    seed: p.seed == null ? 0 : Number(p.seed),
    init: p.init ? path.resolve(p.init) : null,
    out,
    cacheDir: path.resolve(p.cacheDir ?? path.join(path.dirname(out), 'cache')),
    trainScaleDown: p.trainScaleDown ?? null,
    augment: p.augment ?? true,
    valEvery: p.valEvery == null ? null : posInt(p.valEvery, 'val_every'),
    saveEvery: posInt(p.saveEvery ?? 500, 'save_every'),
    saveMinutes: p.saveMinutes == null ? 10 : posNum(p.saveMinutes, 'save_minutes'),
    logEvery: posInt(p.logEvery ?? 10, 'log_every'),
    threads: p.threads == null ? null : posInt(p.threads, 'threads'),
    maxIters: p.maxIters == null ? null : posInt(p.maxIters, 'max_iters'),
    precision: (p.precision ?? 'fp32') as Precision,
  };
  if (!PRECISIONS.includes(c.precision)) throw new Error(`--precision must be one of ${PRECISIONS.join(', ')}, got '${String(p.precision)}'`);
  if (!(Number.isInteger(c.warmup) && c.warmup >= 0)) throw new Error(`--warmup must be a whole number of iterations ≥ 0`);
  if (!(c.minLr >= 0)) throw new Error('--min_lr must be ≥ 0');
  if (!(c.ssimWeight >= 0)) throw new Error('--ssim_weight must be ≥ 0');
  if (!(Number.isSafeInteger(c.seed) && c.seed >= 0)) throw new Error(`--seed must be a non-negative integer`);
  if (!(c.lrGamma > 0 && c.lrGamma <= 1)) throw new Error('--lr_gamma must be in (0, 1]');
  return c;
}
