// Training as a Trainer, after BasicSR's SRModel: open (data, network, Adam, EMA, loss; resume) → feedData →
// optimizeParameters → validate → save, driven by run(). The library neither prints nor handles signals: human
// messages go to onLog, per-iteration progress to onProgress, and a caller that wants to stop (the CLI on
// SIGINT/SIGTERM) calls requestStop(); the loop then saves a checkpoint at the next step boundary and returns
// status 'stopped'.
import fs from 'node:fs';
import path from 'node:path';
import type { StateDict } from '../engine/host.js';
import { fmtShape, sameShape } from '../engine/host.js';
import type { Optimizer, TrainOps } from '../engine/ops.js';
import { readSafetensorsSync } from '../engine/safetensors.js';
import { evaluateDataset } from '../eval/benchmark.js';
import { predict } from '../models/infer.js';
import { getEntry, type ModelEntry, type SRModel } from '../models/index.js';
import { OptionError } from '../option-error.js';
import { hardwareInfo, type ModelCard, writeJsonAtomic, writeWeights } from './card.js';
import {
  type BestScore, type TrainState, CHECKPOINT_VERSION, decodeBytes, encodeBytes, loadCheckpoint, optimizerFromHost, optimizerToHost,
  saveCheckpoint,
} from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { type DataCache, PatchSampler, parseScaleDown, prepareCache } from './dataset.js';
import { EMA } from './ema.js';
import { type Batch, BatchLoader } from './loader.js';
import { createLoss, type Loss } from './losses.js';
import { fmtDuration, JsonlLog, type ProgressInfo } from './progress.js';
import { describeSchedule, lrAt, type ScheduleConfig } from './schedule.js';

/** A new run was asked for in a folder that already holds one (not overwritten). */
export class RunExistsError extends Error {
  override name = 'RunExistsError';
}

export interface RunFiles {
  dir: string;
  checkpoint: string;
  log: string;
  config: string;
  model: string;
  modelEma: string;
  summary: string;
}

export function runFiles(out: string): RunFiles {
  return {
    dir: out,
    checkpoint: path.join(out, 'last.safetensors'),
    log: path.join(out, 'log.jsonl'),
    config: path.join(out, 'config.json'),
    model: path.join(out, 'model.safetensors'),
    modelEma: path.join(out, 'model_ema.safetensors'),
    summary: path.join(out, 'summary.json'),
  };
}

export interface TrainSummary {
  status: 'finished' | 'stopped' | 'max_iters';
  model: string;
  scale: number;
  iterations: number;
  total_iterations: number;
  epochs_done: number;
  iters_per_epoch: number;
  wall_seconds: number;
  session_seconds: number;
  it_per_sec: number;
  data_wait_pct: number;
  mean_data_ms: number;
  mean_step_ms: number;
  last_loss: number | null;
  lr: number;
  best: BestScore | null;
  best_ema: BestScore | null;
  files: { model: string; model_ema: string | null; checkpoint: string; log: string };
  backend: string;
}

export interface TrainerOptions {
  /** Continue from RUN_DIR/last.safetensors. */
  resume?: boolean;
  /** Human messages (data, network and recipe, notes, validation results, epoch summaries); none by default. */
  onLog?: (msg: string) => void;
  /** Called after every iteration. */
  onProgress?: (p: ProgressInfo) => void;
}

const pkgVersion = (() => {
  try {
    const p = new URL('../../package.json', import.meta.url);
    return (JSON.parse(fs.readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** Load the tensors of `file` that fit the model by name and shape; returns what was skipped. */
export function loadMatching(model: SRModel, file: string): { loaded: number; skipped: string[] } {
  const { tensors, metadata } = readSafetensorsSync(file);
  // A training checkpoint keeps the weights under "model.".
  const src: StateDict = new Map();
  if (metadata.format === 'lightsr-train-checkpoint') {
    for (const [k, t] of tensors) if (k.startsWith('model.')) src.set(k.slice(6), t);
  } else for (const [k, t] of tensors) src.set(k.replace(/^module\./, ''), t);
  const sub: StateDict = new Map();
  const skipped: string[] = [];
  for (const [name, p] of model.namedParams()) {
    const t = src.get(name);
    if (!t) skipped.push(`${name} (not in file)`);
    else if (!sameShape(t.shape, p.shape)) skipped.push(`${name} (file ${fmtShape(t.shape)}, model ${fmtShape(p.shape)})`);
    else sub.set(name, t);
  }
  if (!sub.size) throw new OptionError('init', `init weights ${file}: no tensor matches ${model.constructor.name} by name and shape`);
  model.loadStateDict(sub, { strict: false });
  return { loaded: sub.size, skipped };
}

/** The forward precision over the run, from the log's start/resume records: 'fp32', or e.g. 'fp32 to it 2500, then bf16'. */
function precisionHistory(logFile: string): string {
  const parts: string[] = [];
  let last = '';
  for (const r of JsonlLog.read(logFile)) {
    if (r.type !== 'start' && r.type !== 'resume') continue;
    const p = String((r.config as { precision?: string } | undefined)?.precision ?? 'fp32');
    if (p !== last) parts.push(parts.length ? `to it ${String(r.iter)}, then ${p}` : p);
    last = p;
  }
  return parts.join(' ');
}

/** Native bf16 arithmetic (AVX512-BF16 or AMX-BF16); null where the CPU flags cannot be read (not Linux). */
export function cpuHasBf16(): boolean | null {
  if (process.platform !== 'linux') return null;
  return /\b(avx512_bf16|amx_bf16)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
}

/** Step timings and losses: a window for the JSONL records, totals for the summary, a smoothed rate for progress. */
class StepStats {
  private win = { n: 0, loss: 0, data: 0, step: 0, cpu: 0, hash: 0 };
  private totals = { n: 0, data: 0, step: 0 };
  /** Iterations per second, smoothed. */
  rate = 0;

  add(b: Batch, loss: number, stepMs: number, cpu: NodeJS.CpuUsage): void {
    const w = this.win;
    w.n++;
    w.loss += loss;
    w.data += b.waitMs;
    w.step += stepMs;
    w.cpu += (cpu.user + cpu.system) / 1000;
    w.hash = b.hash;
    this.totals.n++;
    this.totals.data += b.waitMs;
    this.totals.step += stepMs;
    const itSec = 1000 / (stepMs + b.waitMs);
    this.rate = this.rate ? 0.9 * this.rate + 0.1 * itSec : itSec;
  }

  get windowSize(): number {
    return this.win.n;
  }

  /** The window's means (and the batch hash of its last step); a new window starts. */
  takeWindow(): { n: number; loss: number; dataMs: number; stepMs: number; cpuMs: number; hash: number } {
    const w = this.win;
    this.win = { n: 0, loss: 0, data: 0, step: 0, cpu: 0, hash: 0 };
    return { n: w.n, loss: w.loss / w.n, dataMs: w.data / w.n, stepMs: w.step / w.n, cpuMs: w.cpu / w.n, hash: w.hash };
  }

  /** Mean iterations per second this session (0 before the first step). */
  get itPerSec(): number {
    return this.totals.n ? 1000 / ((this.totals.step + this.totals.data) / this.totals.n) : 0;
  }

  /** Share of this session's time spent waiting for data, in percent. */
  get dataWaitPct(): number {
    return this.totals.n ? (100 * this.totals.data) / (this.totals.data + this.totals.step) : 0;
  }

  get meanDataMs(): number {
    return this.totals.n ? this.totals.data / this.totals.n : 0;
  }

  get meanStepMs(): number {
    return this.totals.n ? this.totals.step / this.totals.n : 0;
  }
}

interface Setup {
  files: RunFiles;
  sessionStart: number;
  resumed: ReturnType<typeof loadCheckpoint> | null;
  threads: number;
  cache: DataCache;
  sampler: PatchSampler;
}

/**
 * One training run. `Trainer.open` prepares the data, builds the network, Adam, EMA and loss, and restores a
 * checkpoint when resuming; `run()` trains to the end (or to cfg.maxIters, or to a requestStop) and frees the
 * native memory. The steps are methods, so a custom loop can drive them: feedData → updateLearningRate →
 * optimizeParameters → validate → save, then close().
 */
export class Trainer {
  readonly files: RunFiles;
  readonly itersPerEpoch: number;
  readonly totalIterations: number;
  /** Optimiser steps taken so far (over all sessions). */
  iteration = 0;
  best: BestScore | null = null;
  bestEma: BestScore | null = null;
  private lastVal: TrainState['lastVal'] = null;
  /** The iteration validated last (-1: none yet). */
  private validatedAt = -1;
  private wallBefore = 0;
  private lastSave = 0;
  private stopRequested = false;
  private closed = false;
  private readonly stats = new StepStats();
  private readonly say: (msg: string) => void;
  private readonly onProgress?: (p: ProgressInfo) => void;
  private readonly sessionStart: number;
  private readonly threads: number;
  private readonly data: { images: number; used: number };
  private readonly entry: ModelEntry;
  private readonly model: SRModel;
  private readonly optimizer: Optimizer;
  private readonly ema: EMA | null;
  private readonly loss: Loss;
  private readonly sched: ScheduleConfig;
  private readonly log: JsonlLog;
  /** The forward precision over the run (from the log), for the cards. */
  private readonly precision: string;
  private readonly loader: BatchLoader;

  /** Prepare a run in cfg.out (a new one, or with opts.resume the one there): data, network, optimiser, state. */
  static async open(ops: TrainOps, cfg: TrainConfig, opts: TrainerOptions = {}): Promise<Trainer> {
    const say = opts.onLog ?? (() => undefined);
    const files = runFiles(cfg.out);
    fs.mkdirSync(cfg.out, { recursive: true });
    const sessionStart = Date.now();
    let resumed: Setup['resumed'] = null;
    if (opts.resume) {
      resumed = loadCheckpoint(files.checkpoint);
    } else if (fs.existsSync(files.checkpoint)) {
      throw new RunExistsError(`${cfg.out} already holds a training run (last.safetensors); resume it or choose another output folder`);
    }

    // bfloat16 autocast only pays on CPUs with native bf16 arithmetic; elsewhere it is slower than float32.
    const bf16 = cpuHasBf16();
    if (cfg.precision === 'bf16' && bf16 === false) {
      throw new OptionError('precision', 'bf16 precision needs a CPU with AVX512-BF16 or AMX-BF16 (this one has neither, bf16 would be slower than fp32); use fp32');
    }
    if (cfg.precision === 'fp32' && bf16) say('note: this CPU has native bfloat16: precision bf16 trains about 2× faster');
    if (cfg.threads) ops.setThreads(cfg.threads);
    const threads = ops.getThreads();
    ops.seed(cfg.seed);

    const cache = await prepareCache({
      trainDir: cfg.trainDir, scale: cfg.scale, cacheRoot: cfg.cacheDir, scaleDown: parseScaleDown(cfg.trainScaleDown ?? undefined), log: say,
    });
    const sampler = new PatchSampler(cache, cfg.patchSize, cfg.batchSize, cfg.seed, cfg.augment);
    return new Trainer(ops, cfg, opts, { files, sessionStart, resumed, threads, cache, sampler });
  }

  private constructor(readonly ops: TrainOps, readonly cfg: TrainConfig, opts: TrainerOptions, s: Setup) {
    this.say = opts.onLog ?? (() => undefined);
    this.onProgress = opts.onProgress;
    this.files = s.files;
    this.sessionStart = s.sessionStart;
    this.threads = s.threads;
    const ipe = cfg.itersPerEpoch ?? s.sampler.defaultItersPerEpoch;
    this.itersPerEpoch = ipe;
    this.totalIterations = cfg.epochs * ipe;
    this.data = { images: s.cache.images.length, used: s.sampler.usable.length };
    this.say(`data: ${s.cache.images.length} images from ${cfg.trainDir} (cache ${s.cache.built ? 'built' : 'reused'}: ${s.cache.dir})` +
      `${s.sampler.skipped ? `; ${s.sampler.skipped} smaller than the ${cfg.patchSize}px patch are not used` : ''}`);

    // The network (weights before the optimiser: loading replaces the parameter tensors), Adam, EMA, loss.
    this.entry = getEntry(cfg.model);
    this.model = this.entry.create(ops, cfg.scale);
    this.model.train(true);
    try {
      if (s.resumed) {
        this.model.loadStateDict(s.resumed.model);
      } else if (cfg.init) {
        const r = loadMatching(this.model, cfg.init);
        this.say(`init: ${r.loaded} tensors from ${cfg.init}` + (r.skipped.length ? `; kept fresh: ${r.skipped.join(', ')}` : ''));
      }
    } catch (err) {
      this.model.dispose();
      throw err;
    }
    this.optimizer = ops.adam(this.model.parameters(), { lr: cfg.lr, betas: [0.9, 0.999], eps: 1e-8 });
    this.ema = cfg.ema ? new EMA(ops, this.model, cfg.ema) : null;
    this.loss = createLoss(ops, cfg.loss, { ssimWeight: cfg.ssimWeight });
    this.sched = {
      lr: cfg.lr, kind: cfg.schedule, stepIters: cfg.lrStep ? Math.round(cfg.lrStep * ipe) : undefined, gamma: cfg.lrGamma,
      warmup: cfg.warmup, totalIters: this.totalIterations, minLr: cfg.minLr,
    };

    this.log = new JsonlLog(this.files.log);
    try {
      if (s.resumed) this.restore(s.resumed);
      else this.start();
    } catch (err) {
      this.disposeNative();
      throw err;
    }
    writeJsonAtomic(this.files.config, { ...cfg, iters_per_epoch: ipe, total_iterations: this.totalIterations });
    this.precision = precisionHistory(this.files.log);
    this.say(`${this.entry.name} ×${cfg.scale}: ${(this.model.numParams() / 1e3).toFixed(1)}K params; batch ${cfg.batchSize} × ${cfg.patchSize}px HR` +
      ` (${cfg.patchSize / cfg.scale}px LR); ${cfg.epochs} epochs × ${ipe} it = ${this.totalIterations} it; ${cfg.loss}; ` +
      `${describeSchedule(this.sched, ipe)}${this.ema ? `; EMA ${cfg.ema}` : ''}; ${cfg.precision}; ${ops.describe()}`);
    if (this.sched.kind === 'step' && this.sched.stepIters && this.sched.stepIters >= this.totalIterations) {
      this.say(`note: the lr step (${cfg.lrStep} epochs) is beyond this run's ${cfg.epochs} epochs, so lr stays ${cfg.lr}; set a shorter lrStep or a cosine schedule`);
    }

    this.loader = new BatchLoader(s.cache, s.sampler, ipe, 2);
    this.loader.seek(Math.floor(this.iteration / ipe), this.iteration % ipe);
    this.lastSave = Date.now();
  }

  /** A new run: a fresh log with its start record. */
  private start(): void {
    fs.rmSync(this.files.log, { force: true });
    this.log.write({
      type: 'start', iter: 0, time: new Date().toISOString(), threads: this.threads, backend: this.ops.describe(), config: this.cfg,
      iters_per_epoch: this.itersPerEpoch, total_iterations: this.totalIterations,
    });
  }

  /** A resumed run: optimiser, EMA, engine RNG, position and scores from the checkpoint; the log cut back to it. */
  private restore(resumed: NonNullable<Setup['resumed']>): void {
    const { ops, cfg, itersPerEpoch: ipe } = this;
    const s = resumed.state;
    if (s.iteration !== s.epoch * ipe + s.iterInEpoch) {
      throw new Error(`checkpoint position (epoch ${s.epoch}, iteration ${s.iterInEpoch}) does not fit ${ipe} iterations per epoch`);
    }
    const st = optimizerFromHost(ops, resumed.optim, s.optimDtypes);
    this.optimizer.loadStateDict(st);
    ops.dispose([...st.values()]);
    if (this.ema) {
      if (!resumed.ema || !s.ema) throw new OptionError('ema', 'the checkpoint has no EMA weights; resume without changing the EMA setting');
      this.ema.load(this.ema.names.map((n) => {
        const t = resumed.ema!.get(n);
        if (!t) throw new Error(`checkpoint EMA lacks ${n}`);
        return t.data;
      }), s.ema.updates);
    }
    ops.setRngState(decodeBytes(s.engineRng));
    this.iteration = s.iteration;
    this.best = s.best;
    this.bestEma = s.bestEma;
    this.lastVal = s.lastVal;
    this.validatedAt = s.lastVal?.iteration ?? -1;
    this.wallBefore = s.wallSeconds;
    this.log.truncateAfter(this.iteration);
    this.log.write({ type: 'resume', iter: this.iteration, time: new Date().toISOString(), threads: this.threads, config: cfg });
    this.say(`resuming ${cfg.out} at iteration ${this.iteration}/${this.totalIterations} (epoch ${Math.floor(this.iteration / ipe) + 1})`);
  }

  /** Ask the loop to stop: it saves a checkpoint after the current step and returns status 'stopped'. */
  requestStop(): void {
    this.stopRequested = true;
  }

  /** Seconds of training over all sessions of the run. */
  wallSeconds(): number {
    return this.wallBefore + (Date.now() - this.sessionStart) / 1000;
  }

  /** The learning rate at the current iteration, set on the optimiser. */
  updateLearningRate(): number {
    const lr = lrAt(this.sched, this.iteration);
    this.optimizer.setLr(lr);
    return lr;
  }

  /** The batch for the current iteration (batches are a pure function of seed, epoch and iteration in the epoch). */
  async feedData(): Promise<Batch> {
    const b = await this.loader.next();
    const epoch = Math.floor(this.iteration / this.itersPerEpoch);
    const inEpoch = this.iteration % this.itersPerEpoch;
    if (b.epoch !== epoch || b.iter !== inEpoch) throw new Error(`internal: loader at ${b.epoch}/${b.iter}, trainer at ${epoch}/${inEpoch}`);
    return b;
  }

  /** One step on the batch: forward (every output of multi-output networks), loss, backward, Adam, EMA; returns the loss. */
  optimizeParameters(b: Batch): number {
    const { ops, model, loss } = this;
    this.optimizer.zeroGrad();
    const value = ops.tidy(() => {
      const x = ops.tensor(b.lr, b.lrShape);
      const y = ops.tensor(b.hr, b.hrShape);
      const forward = () => {
        const outs = model.forwardAll ? model.forwardAll(x) : [model.forward(x)];
        let l = loss.compute(outs[0], y);
        for (let k = 1; k < outs.length; k++) l = ops.add(l, loss.compute(outs[k], y));
        return l;
      };
      const l = this.cfg.precision === 'bf16' ? ops.autocast(forward) : forward();
      ops.backward(l);
      return (ops.readSync(l) as Float32Array)[0];
    });
    if (!Number.isFinite(value)) {
      throw new OptionError('lr', `the loss became ${value} at iteration ${this.iteration + 1}; lower the learning rate (the last checkpoint is intact)`);
    }
    this.optimizer.step();
    this.ema?.update();
    return value;
  }

  /** Score the network (and its EMA) on cfg.valDir; a new best is exported as model(_ema).safetensors. */
  async validate(): Promise<void> {
    const { cfg, model, ema, iteration } = this;
    this.validatedAt = iteration;
    if (!cfg.valDir) return;
    const valDir = cfg.valDir;
    const t0 = Date.now();
    model.eval();
    try {
      const up = (lr: Parameters<typeof predict>[2]) => predict(this.ops, model, lr);
      const r = await evaluateDataset(valDir, cfg.scale, up);
      const rec: Record<string, unknown> = { type: 'val', iter: iteration, epoch: iteration / this.itersPerEpoch, dataset: r.dataset, psnr: r.psnr, ssim: r.ssim };
      const lastVal: NonNullable<TrainState['lastVal']> = { iteration, psnr: r.psnr, ssim: r.ssim };
      this.lastVal = lastVal;
      let msg = `val ${r.dataset} @${iteration}: ${r.psnr.toFixed(3)} dB / ${r.ssim.toFixed(4)}`;
      if (!this.best || r.psnr > this.best.psnr) {
        this.best = { psnr: r.psnr, ssim: r.ssim, iteration };
        this.exportWeights('model', this.best);
        msg += ' (best)';
      }
      if (ema) {
        const re = await ema.withWeightsAsync(() => evaluateDataset(valDir, cfg.scale, up));
        rec.psnr_ema = re.psnr;
        rec.ssim_ema = re.ssim;
        lastVal.psnrEma = re.psnr;
        lastVal.ssimEma = re.ssim;
        msg += `; EMA ${re.psnr.toFixed(3)} dB / ${re.ssim.toFixed(4)}`;
        if (!this.bestEma || re.psnr > this.bestEma.psnr) {
          this.bestEma = { psnr: re.psnr, ssim: re.ssim, iteration };
          this.exportWeights('ema', this.bestEma);
          msg += ' (best)';
        }
      }
      rec.val_s = (Date.now() - t0) / 1000;
      rec.wall_s = this.wallSeconds();
      this.log.write(rec);
      this.say(`${msg} [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    } finally {
      model.train(true);
    }
  }

  /** The checkpoint (one atomic file); without validation also the latest weights as model(_ema).safetensors. */
  save(): void {
    const { ops, cfg, ema, model, iteration, itersPerEpoch: ipe } = this;
    const opt = optimizerToHost(ops, this.optimizer.stateDict());
    const state: TrainState = {
      version: CHECKPOINT_VERSION, iteration, epoch: Math.floor(iteration / ipe), iterInEpoch: iteration % ipe,
      data: { seed: cfg.seed, epoch: Math.floor(iteration / ipe), iterInEpoch: iteration % ipe },
      engineRng: encodeBytes(ops.getRngState()), lr: lrAt(this.sched, iteration),
      ema: ema ? { decay: ema.decay, updates: ema.updates } : null, best: this.best, bestEma: this.bestEma, lastVal: this.lastVal,
      wallSeconds: this.wallSeconds(), optimDtypes: opt.dtypes, config: cfg as unknown as Record<string, unknown>,
    };
    saveCheckpoint(this.files.checkpoint, {
      state, model: model.stateDict(), ema: ema ? ema.withWeights(() => model.stateDict()) : null, optim: opt.tensors,
    });
    if (!cfg.valDir) {
      this.exportWeights('model', null);
      if (ema) this.exportWeights('ema', null);
    }
    this.lastSave = Date.now();
  }

  /** Write the weights (or the EMA weights) with their card, scored by `val` when validated. */
  exportWeights(kind: 'model' | 'ema', val: BestScore | null): void {
    if (kind === 'model') writeWeights(this.files.model, this.model.stateDict(), this.card('model', val));
    else if (this.ema) writeWeights(this.files.modelEma, this.ema.withWeights(() => this.model.stateDict()), this.card('ema', val));
  }

  /** Train to the end of the run (or cfg.maxIters, or a stop request), save, free the native memory, summarise. */
  async run(): Promise<TrainSummary> {
    const { cfg, files, itersPerEpoch: ipe, totalIterations: total } = this;
    const stopAt = Math.min(total, cfg.maxIters ?? total);
    let status: TrainSummary['status'] = 'finished';
    let lastLoss: number | null = null;
    try {
      while (this.iteration < stopAt) {
        // One full event-loop turn per iteration, so stop requests (e.g. from signal handlers) are seen between steps.
        await new Promise((r) => setImmediate(r));
        if (this.stopRequested) {
          status = 'stopped';
          break;
        }
        const b = await this.feedData();
        const lr = this.updateLearningRate();
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const value = this.optimizeParameters(b);
        const stepMs = performance.now() - t0;
        const cpu = process.cpuUsage(c0);
        const iteration = ++this.iteration;
        lastLoss = value;

        this.stats.add(b, value, stepMs, cpu);
        if (this.stats.windowSize >= cfg.logEvery) this.logTrain(lr);
        this.onProgress?.({
          iteration, total, epoch: Math.min(cfg.epochs, Math.floor(iteration / ipe) + 1), epochs: cfg.epochs, loss: value, lr,
          itPerSec: this.stats.rate, dataPct: this.stats.dataWaitPct,
        });

        const epochEnd = iteration % ipe === 0;
        if ((cfg.valEvery && iteration % cfg.valEvery === 0) || (!cfg.valEvery && epochEnd)) await this.validate();
        if (epochEnd || iteration % cfg.saveEvery === 0 || Date.now() - this.lastSave > cfg.saveMinutes * 60_000) this.save();
        if (epochEnd) {
          this.say(`epoch ${iteration / ipe}/${cfg.epochs} done: loss ${value.toFixed(5)}, lr ${lr.toExponential(2)}, ` +
            `${this.stats.itPerSec.toFixed(3)} it/s, data wait ${this.stats.dataWaitPct.toFixed(1)}%, elapsed ${fmtDuration(this.wallSeconds())}`);
        }
      }
      if (status !== 'stopped' && this.iteration < total) status = 'max_iters';
      if (this.stopRequested) status = 'stopped';
      if (status === 'finished' && this.validatedAt !== this.iteration) await this.validate();
      this.save();
      if (!fs.existsSync(files.model)) this.exportWeights('model', null); // validation never ran
      if (this.ema && !fs.existsSync(files.modelEma)) this.exportWeights('ema', null);
    } finally {
      await this.close();
    }
    return this.finish(status, lastLoss);
  }

  /** Stop the data workers and free the network, optimiser, EMA and loss (run() does this itself). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.loader.close();
    this.disposeNative();
  }

  private disposeNative(): void {
    this.loss.dispose();
    this.ema?.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }

  /** The JSONL train record: means over the steps since the last one (the batch hash when that is one step). */
  private logTrain(lr: number): void {
    const w = this.stats.takeWindow();
    this.log.write({
      type: 'train', iter: this.iteration, epoch: this.iteration / this.itersPerEpoch, loss: w.loss, lr, data_ms: w.dataMs, step_ms: w.stepMs,
      cpu_ms: w.cpuMs, wall_s: Math.round(this.wallSeconds() * 1000) / 1000, ...(w.n === 1 ? { batch_hash: w.hash } : {}),
    });
  }

  /** The summary (also summary.json and the log's end record). */
  private finish(status: TrainSummary['status'], lastLoss: number | null): TrainSummary {
    const { files, stats, iteration } = this;
    const summary: TrainSummary = {
      status, model: this.entry.name, scale: this.cfg.scale, iterations: iteration, total_iterations: this.totalIterations,
      epochs_done: iteration / this.itersPerEpoch, iters_per_epoch: this.itersPerEpoch, wall_seconds: this.wallSeconds(),
      session_seconds: (Date.now() - this.sessionStart) / 1000, it_per_sec: stats.itPerSec, data_wait_pct: stats.dataWaitPct,
      mean_data_ms: stats.meanDataMs, mean_step_ms: stats.meanStepMs, last_loss: lastLoss, lr: lrAt(this.sched, Math.max(0, iteration - 1)),
      best: this.best, best_ema: this.bestEma,
      files: { model: files.model, model_ema: this.ema ? files.modelEma : null, checkpoint: files.checkpoint, log: files.log },
      backend: this.ops.describe(),
    };
    this.log.write({ type: 'end', iter: iteration, status, wall_s: this.wallSeconds(), it_per_sec: summary.it_per_sec, data_wait_pct: summary.data_wait_pct });
    writeJsonAtomic(files.summary, summary);
    return summary;
  }

  private card(kind: 'model' | 'ema', val: BestScore | null): ModelCard {
    const { cfg, itersPerEpoch: ipe } = this;
    return {
      format: 'lightsr-weights', architecture: this.entry.name, scale: cfg.scale, weights: kind, params: this.model.numParams(),
      iteration: this.iteration, epoch: this.iteration / ipe, wall_seconds: Math.round(this.wallSeconds()), created: new Date().toISOString(),
      data: {
        train_dir: cfg.trainDir, images: this.data.images, used_images: this.data.used, train_scale_down: cfg.trainScaleDown,
        lr_generation: 'MATLAB bicubic (uint8, antialiased) of the mod-cropped HR', patch_hr: cfg.patchSize, batch: cfg.batchSize,
        augment: cfg.augment ? '8 dihedral' : 'none', iters_per_epoch: ipe,
      },
      recipe: {
        loss: cfg.loss, ...(cfg.loss === 'l1+ssim' ? { ssim_weight: cfg.ssimWeight } : {}), optimizer: 'Adam (0.9, 0.999, eps 1e-8)',
        schedule: describeSchedule(this.sched, ipe), epochs: cfg.epochs, ema: cfg.ema, seed: cfg.seed, init: cfg.init,
        precision: this.precision,
      },
      validation: val && cfg.valDir
        ? { dataset: path.basename(cfg.valDir), iteration: val.iteration, psnr: val.psnr, ssim: val.ssim, protocol: 'Y channel, border = scale, MATLAB bicubic LR' }
        : null,
      hardware: hardwareInfo(this.ops.describe(), this.threads),
      lightsr: pkgVersion,
    };
  }
}

/** Train a run to its end: Trainer.open then run(). */
export async function train(ops: TrainOps, cfg: TrainConfig, opts: TrainerOptions = {}): Promise<TrainSummary> {
  return (await Trainer.open(ops, cfg, opts)).run();
}
