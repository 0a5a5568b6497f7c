import type { Command } from 'commander';
import { isTrainOps, type TrainOps } from '../engine/ops.js';
import { getOps, resolveBackend } from '../engine/select.js';
import { OptionError } from '../option-error.js';
import { type PartialConfig, resolveConfig, TRAIN_DEFAULTS as D, type TrainConfig } from '../train/config.js';
import { fmtDuration } from '../train/progress.js';
import { loadResumeConfig, RESUMABLE_OVERRIDES, ResumeConflictError } from '../train/resume.js';
import { RunExistsError, type TrainSummary, Trainer } from '../train/trainer.js';
import { ProgressReporter } from './train-progress.js';

// flag (as typed) → config key
const FLAGS: [string, keyof TrainConfig][] = [
  ['model', 'model'], ['scale', 'scale'], ['train_dir', 'trainDir'], ['val_dir', 'valDir'], ['epochs', 'epochs'],
  ['batch_size', 'batchSize'], ['patch_size', 'patchSize'], ['iters_per_epoch', 'itersPerEpoch'], ['lr', 'lr'],
  ['lr_step', 'lrStep'], ['lr_gamma', 'lrGamma'], ['warmup', 'warmup'], ['min_lr', 'minLr'], ['loss', 'loss'],
  ['ssim_weight', 'ssimWeight'], ['ema', 'ema'], ['seed', 'seed'], ['init', 'init'], ['out', 'out'], ['cache_dir', 'cacheDir'],
  ['train_scale_down', 'trainScaleDown'], ['val_every', 'valEvery'], ['save_every', 'saveEvery'], ['save_minutes', 'saveMinutes'],
  ['log_every', 'logEvery'], ['threads', 'threads'], ['max_iters', 'maxIters'],
  ['precision', 'precision'],
];

export function register(program: Command): void {
  program
    .command('train')
    .description('train a network on a folder of HR images (LR made with MATLAB bicubic), resumable')
    .option('--model <name>', 'network (see `lightsr models`)')
    .option('--scale <s>', 'upscaling factor', String(D.scale))
    .option('--train_dir <dir>', 'folder of HR training images (png/jpg/bmp/webp, recursive)')
    .option('--val_dir <dir>', 'validation set: HR/ (+ optional LR_bicubic/X<s>/), e.g. ../shared/data/bench/Set5')
    .option('--epochs <n>', 'epochs', String(D.epochs))
    .option('--batch_size <n>', 'batch size', String(D.batchSize))
    .option('--patch_size <n>', 'HR patch side (LR = patch/scale)', String(D.patchSize))
    .option('--iters_per_epoch <n>', 'iterations per epoch (default: one pass over the HR patches of all images)')
    .option('--lr <x>', 'learning rate (default: the paper\'s)')
    .option('--lr_step <epochs>', 'multiply lr by --lr_gamma every N epochs (default: the paper\'s)')
    .option('--lr_gamma <x>', 'step decay factor (default: the paper\'s, usually 0.5)')
    .option('--cosine', 'cosine decay to --min_lr instead of steps')
    .option('--constant', 'constant learning rate')
    .option('--min_lr <x>', 'lowest learning rate (cosine end / floor)', String(D.minLr))
    .option('--warmup <iters>', 'linear warm-up iterations', String(D.warmup))
    .option('--loss <name>', 'l1 | l1+ssim | charbonnier (default: the paper\'s)')
    .option('--ssim_weight <x>', 'λ in l1 + λ·(1 − SSIM)', String(D.ssimWeight))
    .option('--ema [decay]', `keep an exponential moving average of the weights (decay, default ${D.emaDecay})`)
    .option('--seed <n>', 'random seed (weights init and data order)', String(D.seed))
    .option('--init <weights>', 'start from these weights (matching tensors only, e.g. x4 from x2)')
    .option('--out <dir>', 'run folder (checkpoints, log, model.safetensors)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--cache_dir <dir>', 'decoded-data cache (default: <out>/../cache)')
    .option('--train_scale_down <f>', 'downscale training images first: 0.5 (all) or jpg=0.5,jpeg=0.5 (by extension)')
    .option('--no_augment', 'no flips/rotations')
    .option('--val_every <iters>', 'validate every N iterations (default: every epoch)')
    .option('--save_every <iters>', 'checkpoint every N iterations (also every epoch and every --save_minutes)', String(D.saveEvery))
    .option('--save_minutes <m>', 'checkpoint at least this often (wall-clock minutes)', String(D.saveMinutes))
    .option('--log_every <iters>', 'JSONL training record every N iterations', String(D.logEvery))
    .option('--max_iters <n>', 'stop (with a checkpoint) after N iterations in total')
    .option('--precision <p>', 'fp32 | bf16 (bfloat16 autocast of the forward pass; ~2× faster on CPUs with AVX512-BF16/AMX)', D.precision)
    .option('--threads <n>', 'engine threads (default: LIGHTSR_THREADS or all cores)')
    .option('--json', 'print the final summary as JSON on stdout')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const given = (flag: string) => cmd.getOptionValueSource(flag) === 'cli';
      const partial: Record<string, unknown> = {};
      for (const [flag, key] of FLAGS) if (o[flag] !== undefined && (given(flag) || !o.resume)) partial[key] = o[flag];
      if (o.ema === true) partial.ema = D.emaDecay;
      if (o.cosine && o.constant) throw new Error('choose one of --cosine and --constant');
      if (o.cosine) partial.schedule = 'cosine';
      else if (o.constant) partial.schedule = 'constant';
      else if (given('lr_step')) partial.schedule = 'step';
      if (o.no_augment) partial.augment = false;
      if (!o.out) throw new Error('--out <dir> is required (the run folder)');

      let cfg: TrainConfig;
      try {
        if (o.resume) {
          cfg = loadResumeConfig(String(o.out), partial as Partial<TrainConfig>); // --max_iters applies to one session
        } else {
          if (!o.model) throw new Error('--model is required (see `lightsr models`)');
          if (!o.train_dir) throw new Error('--train_dir is required (a folder of HR images)');
          cfg = resolveConfig(partial as PartialConfig);
        }
      } catch (err) {
        throw withFlags(err);
      }

      if (resolveBackend() === 'tfjs') throw new Error('training needs the torch backend, but tfjs was chosen (use --backend torch or auto)');
      const ops = await getOps('torch'); // auto included: training has no tfjs fallback
      if (!isTrainOps(ops)) throw new Error('training needs the torch backend (libtorch addon)');
      const s = await runTrainer(ops, cfg, Boolean(o.resume)).catch((err: unknown) => { throw withFlags(err); });
      if (s.status === 'stopped') process.exitCode = 130;
      if (o.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const best = s.best ? `; best val ${s.best.psnr.toFixed(3)} dB / ${s.best.ssim.toFixed(4)} @${s.best.iteration}` : '';
      const bestEma = s.best_ema ? `; EMA best ${s.best_ema.psnr.toFixed(3)} dB @${s.best_ema.iteration}` : '';
      process.stdout.write(
        `${s.status === 'finished' ? 'finished' : s.status === 'stopped' ? 'stopped (resume with --resume)' : 'paused at --max_iters (resume with --resume)'}: ` +
        `${s.model} ×${s.scale}, ${s.iterations}/${s.total_iterations} iterations, ${fmtDuration(s.wall_seconds)} training in total; ` +
        `${s.it_per_sec.toFixed(3)} it/s this session (data wait ${s.data_wait_pct.toFixed(1)}%); last loss ${s.last_loss?.toFixed(5) ?? '-'}${best}${bestEma}\n` +
        `weights: ${s.files.model}${s.files.model_ema ? ` (EMA: ${s.files.model_ema})` : ''}\ncheckpoint: ${s.files.checkpoint}\nlog: ${s.files.log}\n`,
      );
    });
}

/**
 * The run with its progress bar and messages on stderr. SIGINT/SIGTERM ask the trainer to stop: it saves a
 * checkpoint after the current iteration and returns 'stopped' (exit code 130); a second signal exits at once.
 */
async function runTrainer(ops: TrainOps, cfg: TrainConfig, resume: boolean): Promise<TrainSummary> {
  const progress = new ProgressReporter(process.stderr);
  const trainer = await Trainer.open(ops, cfg, { resume, onLog: (m) => progress.line(m), onProgress: (p) => progress.update(p) });
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) {
      process.stderr.write(`\n${sig} again: exiting without a checkpoint\n`);
      process.exit(130);
    }
    signalled = true;
    progress.line(`${sig}: saving a checkpoint after this iteration (press again to quit at once)`);
    trainer.requestStop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await trainer.run();
  } finally {
    progress.end();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Library errors in the CLI's words: the flags of the options they name. */
function withFlags(err: unknown): unknown {
  if (err instanceof ResumeConflictError) {
    err.message = `cannot change ${err.keys.map(flagOf).join(', ')} when resuming (only ${RESUMABLE_OVERRIDES.map(flagOf).join(', ')} may change)`;
  } else if (err instanceof RunExistsError) {
    err.message += ' (--resume continues it; or another --out)';
  } else if (err instanceof OptionError && FLAGS.some(([, k]) => k === err.option)) {
    err.message += ` (${flagOf(err.option as keyof TrainConfig)})`;
  }
  return err;
}

function flagOf(key: keyof TrainConfig): string {
  const f = FLAGS.find(([, k]) => k === key);
  return `--${f ? f[0] : key}`;
}
