// The training loop: data from the worker loader, Adam, LR schedule, EMA, validation with the benchmark runner,
// atomic checkpoints, JSONL log, progress, and a checkpoint on SIGINT/SIGTERM.
import fs from 'node:fs';
import path from 'node:path';
import type { StateDict } from '../engine/host.js';
import { fmtShape, sameShape } from '../engine/host.js';
import type { Optimizer, TrainOps } from '../engine/ops.js';
import { readSafetensorsSync } from '../engine/safetensors.js';
import { evaluateDataset } from '../eval/benchmark.js';
import { predict } from '../models/infer.js';
import { getEntry, type SRModel } from '../models/index.js';
import { OptionError } from '../option-error.js';
import { hardwareInfo, type ModelCard, writeJsonAtomic, writeWeights } from './card.js';
import {
  type BestScore, type TrainState, CHECKPOINT_VERSION, decodeBytes, encodeBytes, loadCheckpoint, optimizerFromHost, optimizerToHost,
  saveCheckpoint,
} from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { PatchSampler, parseScaleDown, prepareCache } from './dataset.js';
import { EMA } from './ema.js';
import { type Batch, BatchLoader } from './loader.js';
import { createLoss } from './losses.js';
import { fmtDuration, JsonlLog, ProgressReporter } from './progress.js';
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

export interface RunOptions {
  /** Continue from RUN_DIR/last.safetensors. */
  resume?: boolean;
  /** Human messages go here (stderr by default); null = silent. */
  log?: ((msg: string) => void) | null;
  /** Progress bar / periodic lines (default: on, on stderr). */
  progress?: boolean;
  /** Handle SIGINT/SIGTERM by saving a checkpoint and stopping (default true). */
  handleSignals?: boolean;
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

export async function train(ops: TrainOps, cfg: TrainConfig, opts: RunOptions = {}): Promise<TrainSummary> {
  const say = opts.log === null ? () => undefined : (opts.log ?? ((m: string) => process.stderr.write(`${m}\n`)));
  const files = runFiles(cfg.out);
  fs.mkdirSync(cfg.out, { recursive: true });
  const sessionStart = Date.now();

  let resumed: ReturnType<typeof loadCheckpoint> | null = null;
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

  // ---- data ----
  const cache = await prepareCache({
    trainDir: cfg.trainDir, scale: cfg.scale, cacheRoot: cfg.cacheDir, scaleDown: parseScaleDown(cfg.trainScaleDown ?? undefined), log: say,
  });
  const sampler = new PatchSampler(cache, cfg.patchSize, cfg.batchSize, cfg.seed, cfg.augment);
  const ipe = cfg.itersPerEpoch ?? sampler.defaultItersPerEpoch;
  const total = cfg.epochs * ipe;
  say(`data: ${cache.images.length} images from ${cfg.trainDir} (cache ${cache.built ? 'built' : 'reused'}: ${cache.dir})` +
    `${sampler.skipped ? `; ${sampler.skipped} smaller than the ${cfg.patchSize}px patch are not used` : ''}`);

  // ---- model (weights before the optimiser: loading replaces the parameter tensors) ----
  const entry = getEntry(cfg.model);
  const model = entry.create(ops, cfg.scale);
  model.train(true);
  if (resumed) {
    model.loadStateDict(resumed.model);
  } else if (cfg.init) {
    const r = loadMatching(model, cfg.init);
    say(`init: ${r.loaded} tensors from ${cfg.init}` + (r.skipped.length ? `; kept fresh: ${r.skipped.join(', ')}` : ''));
  }
  const optimizer: Optimizer = ops.adam(model.parameters(), { lr: cfg.lr, betas: [0.9, 0.999], eps: 1e-8 });
  const ema = cfg.ema ? new EMA(ops, model, cfg.ema) : null;
  const loss = createLoss(ops, cfg.loss, { ssimWeight: cfg.ssimWeight });

  const sched: ScheduleConfig = {
    lr: cfg.lr, kind: cfg.schedule, stepIters: cfg.lrStep ? Math.round(cfg.lrStep * ipe) : undefined, gamma: cfg.lrGamma,
    warmup: cfg.warmup, totalIters: total, minLr: cfg.minLr,
  };

  let iteration = 0;
  let best: BestScore | null = null;
  let bestEma: BestScore | null = null;
  let lastVal: TrainState['lastVal'] = null;
  let wallBefore = 0;
  const log = new JsonlLog(files.log);
  if (resumed) {
    const s = resumed.state;
    if (s.iteration !== s.epoch * ipe + s.iterInEpoch) {
      throw new Error(`checkpoint position (epoch ${s.epoch}, iteration ${s.iterInEpoch}) does not fit ${ipe} iterations per epoch`);
    }
    const st = optimizerFromHost(ops, resumed.optim, s.optimDtypes);
    optimizer.loadStateDict(st);
    ops.dispose([...st.values()]);
    if (ema) {
      if (!resumed.ema || !s.ema) throw new OptionError('ema', 'the checkpoint has no EMA weights; resume without changing the EMA setting');
      ema.load(ema.names.map((n) => {
        const t = resumed!.ema!.get(n);
        if (!t) throw new Error(`checkpoint EMA lacks ${n}`);
        return t.data;
      }), s.ema.updates);
    }
    ops.setRngState(decodeBytes(s.engineRng));
    iteration = s.iteration;
    best = s.best;
    bestEma = s.bestEma;
    lastVal = s.lastVal;
    wallBefore = s.wallSeconds;
    log.truncateAfter(iteration);
    log.write({ type: 'resume', iter: iteration, time: new Date().toISOString(), threads, config: cfg });
    say(`resuming ${cfg.out} at iteration ${iteration}/${total} (epoch ${Math.floor(iteration / ipe) + 1})`);
  } else {
    fs.rmSync(files.log, { force: true });
    log.write({ type: 'start', iter: 0, time: new Date().toISOString(), threads, backend: ops.describe(), config: cfg, iters_per_epoch: ipe, total_iterations: total });
  }
  writeJsonAtomic(files.config, { ...cfg, iters_per_epoch: ipe, total_iterations: total });
  const precision = precisionHistory(files.log);
  say(`${entry.name} ×${cfg.scale}: ${(model.numParams() / 1e3).toFixed(1)}K params; batch ${cfg.batchSize} × ${cfg.patchSize}px HR` +
    ` (${cfg.patchSize / cfg.scale}px LR); ${cfg.epochs} epochs × ${ipe} it = ${total} it; ${cfg.loss}; ` +
    `${describeSchedule(sched, ipe)}${ema ? `; EMA ${cfg.ema}` : ''}; ${cfg.precision}; ${ops.describe()}`);
  if (sched.kind === 'step' && sched.stepIters && sched.stepIters >= total) {
    say(`note: the lr step (${cfg.lrStep} epochs) is beyond this run's ${cfg.epochs} epochs, so lr stays ${cfg.lr}; set a shorter lrStep or a cosine schedule`);
  }

  const loader = new BatchLoader(cache, sampler, ipe, 2);
  loader.seek(Math.floor(iteration / ipe), iteration % ipe);

  const progress = new ProgressReporter(process.stderr, Boolean(process.stderr.isTTY), 60, opts.progress === false);
  let lastSave = Date.now();

  // ---- stop requests ----
  let stopSignal: string | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopSignal) {
      process.stderr.write(`\n${sig} again: exiting without a checkpoint\n`);
      process.exit(130);
    }
    stopSignal = sig;
    progress.line(`${sig}: saving a checkpoint after this iteration (press again to quit at once)`);
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  // ---- helpers ----
  const wall = () => wallBefore + (Date.now() - sessionStart) / 1000;
  const card = (kind: 'model' | 'ema', val: BestScore | null): ModelCard => ({
    format: 'lightsr-weights', architecture: entry.name, scale: cfg.scale, weights: kind, params: model.numParams(),
    iteration, epoch: iteration / ipe, wall_seconds: Math.round(wall()), created: new Date().toISOString(),
    data: {
      train_dir: cfg.trainDir, images: cache.images.length, used_images: sampler.usable.length, train_scale_down: cfg.trainScaleDown,
      lr_generation: 'MATLAB bicubic (uint8, antialiased) of the mod-cropped HR', patch_hr: cfg.patchSize, batch: cfg.batchSize,
      augment: cfg.augment ? '8 dihedral' : 'none', iters_per_epoch: ipe,
    },
    recipe: {
      loss: cfg.loss, ...(cfg.loss === 'l1+ssim' ? { ssim_weight: cfg.ssimWeight } : {}), optimizer: 'Adam (0.9, 0.999, eps 1e-8)',
      schedule: describeSchedule(sched, ipe), epochs: cfg.epochs, ema: cfg.ema, seed: cfg.seed, init: cfg.init,
      precision,
    },
    validation: val && cfg.valDir
      ? { dataset: path.basename(cfg.valDir), iteration: val.iteration, psnr: val.psnr, ssim: val.ssim, protocol: 'Y channel, border = scale, MATLAB bicubic LR' }
      : null,
    hardware: hardwareInfo(ops.describe(), threads),
    lightsr: pkgVersion,
  });
  const exportWeights = (kind: 'model' | 'ema', val: BestScore | null) => {
    if (kind === 'model') writeWeights(files.model, model.stateDict(), card('model', val));
    else if (ema) writeWeights(files.modelEma, ema.withWeights(() => model.stateDict()), card('ema', val));
  };
  const save = () => {
    const opt = optimizerToHost(ops, optimizer.stateDict());
    const state: TrainState = {
      version: CHECKPOINT_VERSION, iteration, epoch: Math.floor(iteration / ipe), iterInEpoch: iteration % ipe,
      data: { seed: cfg.seed, epoch: Math.floor(iteration / ipe), iterInEpoch: iteration % ipe },
      engineRng: encodeBytes(ops.getRngState()), lr: lrAt(sched, iteration),
      ema: ema ? { decay: ema.decay, updates: ema.updates } : null, best, bestEma, lastVal, wallSeconds: wall(),
      optimDtypes: opt.dtypes, config: cfg as unknown as Record<string, unknown>,
    };
    saveCheckpoint(files.checkpoint, {
      state, model: model.stateDict(), ema: ema ? ema.withWeights(() => model.stateDict()) : null, optim: opt.tensors,
    });
    // Without validation the exported weights are simply the latest.
    if (!cfg.valDir) {
      exportWeights('model', null);
      if (ema) exportWeights('ema', null);
    }
    lastSave = Date.now();
  };
  const validate = async () => {
    if (!cfg.valDir) return;
    const t0 = Date.now();
    model.eval();
    try {
      const up = (lr: Parameters<typeof predict>[2]) => predict(ops, model, lr);
      const r = await evaluateDataset(cfg.valDir, cfg.scale, up);
      const rec: Record<string, unknown> = { type: 'val', iter: iteration, epoch: iteration / ipe, dataset: r.dataset, psnr: r.psnr, ssim: r.ssim };
      lastVal = { iteration, psnr: r.psnr, ssim: r.ssim };
      let msg = `val ${r.dataset} @${iteration}: ${r.psnr.toFixed(3)} dB / ${r.ssim.toFixed(4)}`;
      if (!best || r.psnr > best.psnr) {
        best = { psnr: r.psnr, ssim: r.ssim, iteration };
        exportWeights('model', best);
        msg += ' (best)';
      }
      if (ema) {
        const re = await ema.withWeightsAsync(() => evaluateDataset(cfg.valDir!, cfg.scale, up));
        rec.psnr_ema = re.psnr;
        rec.ssim_ema = re.ssim;
        lastVal.psnrEma = re.psnr;
        lastVal.ssimEma = re.ssim;
        msg += `; EMA ${re.psnr.toFixed(3)} dB / ${re.ssim.toFixed(4)}`;
        if (!bestEma || re.psnr > bestEma.psnr) {
          bestEma = { psnr: re.psnr, ssim: re.ssim, iteration };
          exportWeights('ema', bestEma);
          msg += ' (best)';
        }
      }
      rec.val_s = (Date.now() - t0) / 1000;
      rec.wall_s = wall();
      log.write(rec);
      progress.line(`${msg} [${((Date.now() - t0) / 1000).toFixed(1)} s]`);
    } finally {
      model.train(true);
    }
  };

  const step = (b: Batch): number => {
    optimizer.zeroGrad();
    const value = ops.tidy(() => {
      const x = ops.tensor(b.lr, b.lrShape);
      const y = ops.tensor(b.hr, b.hrShape);
      const forward = () => {
        const outs = model.forwardAll ? model.forwardAll(x) : [model.forward(x)];
        let l = loss.compute(outs[0], y);
        for (let k = 1; k < outs.length; k++) l = ops.add(l, loss.compute(outs[k], y));
        return l;
      };
      const l = cfg.precision === 'bf16' ? ops.autocast(forward) : forward();
      ops.backward(l);
      return (ops.readSync(l) as Float32Array)[0];
    });
    if (!Number.isFinite(value)) {
      throw new OptionError('lr', `the loss became ${value} at iteration ${iteration + 1}; lower the learning rate (the last checkpoint is intact)`);
    }
    optimizer.step();
    return value;
  };

  // ---- loop ----
  let status: TrainSummary['status'] = 'finished';
  let lastLoss: number | null = null;
  const win = { n: 0, loss: 0, data: 0, step: 0, cpu: 0, hash: 0 };
  const totals = { n: 0, data: 0, step: 0 };
  let rate = 0; // iterations per second, smoothed
  let validatedAt = lastVal?.iteration ?? -1;
  const stopAt = Math.min(total, cfg.maxIters ?? total);
  try {
    while (iteration < stopAt) {
      // One full event-loop turn per iteration, so signals (SIGINT/SIGTERM) are seen between steps.
      await new Promise((r) => setImmediate(r));
      if (stopSignal) {
        status = 'stopped';
        break;
      }
      const b = await loader.next();
      const epoch = Math.floor(iteration / ipe);
      if (b.epoch !== epoch || b.iter !== iteration % ipe) throw new Error(`internal: loader at ${b.epoch}/${b.iter}, trainer at ${epoch}/${iteration % ipe}`);
      const lr = lrAt(sched, iteration);
      optimizer.setLr(lr);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const value = step(b);
      ema?.update();
      const stepMs = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      iteration++;
      lastLoss = value;

      win.n++;
      win.loss += value;
      win.data += b.waitMs;
      win.step += stepMs;
      win.cpu += (cpu.user + cpu.system) / 1000;
      win.hash = b.hash;
      totals.n++;
      totals.data += b.waitMs;
      totals.step += stepMs;
      const itSec = 1000 / (stepMs + b.waitMs);
      rate = rate ? 0.9 * rate + 0.1 * itSec : itSec;
      if (win.n >= cfg.logEvery) {
        log.write({
          type: 'train', iter: iteration, epoch: iteration / ipe, loss: win.loss / win.n, lr, data_ms: win.data / win.n, step_ms: win.step / win.n, cpu_ms: win.cpu / win.n,
          wall_s: Math.round(wall() * 1000) / 1000, ...(win.n === 1 ? { batch_hash: win.hash } : {}),
        });
        Object.assign(win, { n: 0, loss: 0, data: 0, step: 0, cpu: 0 });
      }
      progress.update({
        iteration, total, epoch: Math.min(cfg.epochs, Math.floor(iteration / ipe) + 1), epochs: cfg.epochs, loss: value, lr,
        itPerSec: rate, dataPct: (100 * totals.data) / Math.max(1e-9, totals.data + totals.step),
      });

      const epochEnd = iteration % ipe === 0;
      if ((cfg.valEvery && iteration % cfg.valEvery === 0) || (!cfg.valEvery && epochEnd)) {
        await validate();
        validatedAt = iteration;
      }
      if (epochEnd || iteration % cfg.saveEvery === 0 || Date.now() - lastSave > cfg.saveMinutes * 60_000) save();
      if (epochEnd) {
        progress.line(`epoch ${iteration / ipe}/${cfg.epochs} done: loss ${value.toFixed(5)}, lr ${lr.toExponential(2)}, ` +
          `${(1000 / ((totals.step + totals.data) / totals.n)).toFixed(3)} it/s, data wait ${((100 * totals.data) / (totals.data + totals.step)).toFixed(1)}%, ` +
          `elapsed ${fmtDuration(wall())}`);
      }
    }
    if (status !== 'stopped' && iteration < total) status = 'max_iters';
    if (stopSignal) status = 'stopped';
    if (status === 'finished' && validatedAt !== iteration) {
      await validate();
      validatedAt = iteration;
    }
    save();
    if (!fs.existsSync(files.model)) exportWeights('model', null); // validation never ran
    if (ema && !fs.existsSync(files.modelEma)) exportWeights('ema', null);
  } finally {
    progress.end();
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await loader.close();
    loss.dispose();
    ema?.dispose();
    optimizer.dispose();
    model.dispose();
  }

  const session = (Date.now() - sessionStart) / 1000;
  const summary: TrainSummary = {
    status, model: entry.name, scale: cfg.scale, iterations: iteration, total_iterations: total, epochs_done: iteration / ipe,
    iters_per_epoch: ipe, wall_seconds: wall(), session_seconds: session,
    it_per_sec: totals.n ? 1000 / ((totals.step + totals.data) / totals.n) : 0,
    data_wait_pct: totals.n ? (100 * totals.data) / (totals.data + totals.step) : 0,
    mean_data_ms: totals.n ? totals.data / totals.n : 0, mean_step_ms: totals.n ? totals.step / totals.n : 0,
    last_loss: lastLoss, lr: lrAt(sched, Math.max(0, iteration - 1)), best, best_ema: bestEma,
    files: { model: files.model, model_ema: ema ? files.modelEma : null, checkpoint: files.checkpoint, log: files.log },
    backend: ops.describe(),
  };
  log.write({ type: 'end', iter: iteration, status, wall_s: wall(), it_per_sec: summary.it_per_sec, data_wait_pct: summary.data_wait_pct });
  writeJsonAtomic(files.summary, summary);
  return summary;
}
