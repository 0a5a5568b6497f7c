// Learning-rate schedules, as a pure function of the step index (so resuming needs only the step count).

export interface ScheduleConfig {
  lr: number;
  /** 'step': lr·gamma^⌊t/stepIters⌋; 'cosine': half cosine from lr to minLr over the run; 'constant'. */
  kind: 'step' | 'cosine' | 'constant';
  stepIters?: number;
  gamma?: number;
  /** Linear warm-up from lr/warmup to lr over the first `warmup` steps. */
  warmup: number;
  totalIters: number;
  minLr: number;
}

/** Learning rate for step t (0-based: t = number of optimiser steps already taken). */
export function lrAt(c: ScheduleConfig, t: number): number {
  if (c.warmup > 0 && t < c.warmup) return (c.lr * (t + 1)) / c.warmup;
  let lr = c.lr;
  if (c.kind === 'step' && c.stepIters && c.stepIters > 0) {
    lr = c.lr * (c.gamma ?? 0.5) ** Math.floor(t / c.stepIters);
  } else if (c.kind === 'cosine') {
    const span = Math.max(1, c.totalIters - c.warmup);
    const p = Math.min(1, Math.max(0, (t - c.warmup) / span));
    lr = c.minLr + (c.lr - c.minLr) * 0.5 * (1 + Math.cos(Math.PI * p));
  }
  return Math.max(lr, Math.min(c.minLr, c.lr));
}

export function describeSchedule(c: ScheduleConfig, itersPerEpoch: number): string {
  const w = c.warmup ? `, warm-up ${c.warmup} it` : '';
  if (c.kind === 'step') {
    const e = (c.stepIters ?? 0) / itersPerEpoch;
    return `lr ${c.lr} ×${c.gamma} every ${Number.isInteger(e) ? `${e} epochs` : `${c.stepIters} it`}${w}`;
  }
  if (c.kind === 'cosine') return `lr ${c.lr} cosine to ${c.minLr}${w}`;
  return `lr ${c.lr} constant${w}`;
}
