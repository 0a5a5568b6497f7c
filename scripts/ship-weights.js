#!/usr/bin/env node
// Ship a finished training run as default weights: weights/<model>_x<s>.safetensors + .json card, with the
// run's validation curve and Set5/Set14/B100 PSNR/SSIM measured by `lightsr eval` (same code path).
//   node scripts/ship-weights.js RUN_DIR [--use best|ema|model]   (needs `npm run build` first)
// best (default): whichever of the raw and EMA weights scored higher in the run's own validation.
// Rounds: when the run started (--init) from weights that have a card beside them (e.g. the shipped
// weights/imdn_x4.safetensors), the new card continues that card's history: `rounds`, total iterations and wall
// time, and one validation curve over all rounds (iterations counted from the first round).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensorsSync, writeSafetensorsSync } from '../dist/engine/safetensors.js';
import { runEval } from '../dist/eval/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runDir = args.find((a) => !a.startsWith('--'));
const use = args.includes('--use') ? args[args.indexOf('--use') + 1] : 'best';
if (!runDir || !['best', 'ema', 'model'].includes(use)) {
  console.error('usage: node scripts/ship-weights.js RUN_DIR [--use best|ema|model]');
  process.exit(2);
}
const valPsnr = (f) => (fs.existsSync(`${f}.json`) ? JSON.parse(fs.readFileSync(`${f}.json`, 'utf8')).validation?.psnr ?? -Infinity : -Infinity);
const [raw, ema] = ['model.safetensors', 'model_ema.safetensors'].map((f) => path.join(runDir, f));
const src = use === 'model' ? raw : use === 'ema' ? ema : valPsnr(ema) >= valPsnr(raw) ? ema : raw;
if (!fs.existsSync(src) || !fs.existsSync(`${src}.json`)) {
  console.error(`ship-weights: ${src} (+ .json card) not found: has the run validated at least once?`);
  process.exit(1);
}
const card = JSON.parse(fs.readFileSync(`${src}.json`, 'utf8'));
const name = `${card.architecture}_x${card.scale}`;
const dst = path.join(root, 'weights', `${name}.safetensors`);

// Learning curve: every validation of the run (raw and EMA weights), for docs/learning_curve.png.
const curve = fs.readFileSync(path.join(runDir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean)
  .map((l) => JSON.parse(l)).filter((r) => r.type === 'val')
  .map((r) => ({ iter: r.iter, psnr: r.psnr, ssim: r.ssim, psnr_ema: r.psnr_ema, ssim_ema: r.ssim_ema }));
const summary = fs.existsSync(path.join(runDir, 'summary.json')) ? JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) : {};

// Paths in the card relative to the repository, as a user of a checkout would type them.
const rel = (p) => (typeof p === 'string' && path.isAbsolute(p) ? path.relative(root, p) : p);
card.data.train_dir = rel(card.data.train_dir);
if (card.validation) card.validation.dataset = rel(card.validation.dataset);
const initFile = card.recipe?.init;
if (initFile) card.recipe.init = rel(initFile);

// Earlier rounds of the same network and scale, from the card of the --init weights.
const initCardFile = initFile ? `${initFile}.json` : null;
const prev = initCardFile && fs.existsSync(initCardFile) ? JSON.parse(fs.readFileSync(initCardFile, 'utf8')) : null;
const continues = prev && prev.architecture === card.architecture && prev.scale === card.scale;
const roundOf = (c, n) => ({
  round: n, iterations: c.iteration, wall_seconds: c.wall_seconds, init: c.recipe?.init ? path.basename(c.recipe.init) : null,
  schedule: c.recipe?.schedule, patch_hr: c.data?.patch_hr, batch: c.data?.batch, seed: c.recipe?.seed,
  set5_psnr: c.benchmarks?.results?.Set5?.psnr ?? c.validation?.psnr,
  // Throughput over the whole round (training steps, validation and checkpoints included) and where it ran.
  it_per_s: c.iteration && c.wall_seconds ? +(c.iteration / c.wall_seconds).toFixed(3) : null,
  precision: c.recipe?.precision ?? 'fp32', cpu: c.hardware?.cpu ?? null, threads: c.hardware?.threads ?? null,
});
const perSecond = (r) => (r.it_per_s !== undefined || !r.iterations || !r.wall_seconds ? r : { ...r, it_per_s: +(r.iterations / r.wall_seconds).toFixed(3) });
const prevRounds = (continues ? prev.rounds ?? [roundOf(prev, 1)] : []).map(perSecond);
const offset = continues ? prev.total_iterations ?? prev.iteration : 0;

fs.mkdirSync(path.dirname(dst), { recursive: true });
const { tensors } = readSafetensorsSync(src);
const history = {
  rounds: [...prevRounds, roundOf(card, prevRounds.length + 1)],
  total_iterations: offset + card.iteration,
  total_wall_seconds: (continues ? prev.total_wall_seconds ?? prev.wall_seconds : 0) + card.wall_seconds,
};
const fullCurve = [...(continues ? prev.validation_curve ?? [] : []),
  ...curve.map((v) => ({ ...v, iter: v.iter + offset, round: history.rounds.length }))];
const tmpCard = { ...card, ...history, validation_curve: fullCurve, run_summary: summary.status ? { status: summary.status, iterations: summary.iterations, wall_seconds: summary.wall_seconds, it_per_sec: summary.it_per_sec } : undefined };
fs.writeFileSync(`${dst}.json.tmp`, JSON.stringify(tmpCard, null, 2));
fs.renameSync(`${dst}.json.tmp`, `${dst}.json`);
writeSafetensorsSync(dst, tensors, { format: 'lightsr-weights', architecture: card.architecture, scale: String(card.scale), weights: card.weights, iteration: String(history.total_iterations) });

const data = ['Set5', 'Set14', 'B100'];
console.error(`${name}: evaluating on ${data.join(', ')} …`);
const rows = await runEval({ model: card.architecture, scales: [card.scale], data, weights: [dst] });
tmpCard.benchmarks = {
  command: `lightsr eval --model ${card.architecture} --scale ${card.scale} --data ${data.join(',')} --weights weights/${name}.safetensors`,
  protocol: 'Y (BT.601, float), border = scale, SR quantised to uint8, LR = the datasets\' MATLAB bicubic files',
  results: Object.fromEntries(rows[0].datasets.map((d) => [d.dataset, { psnr: +d.psnr.toFixed(4), ssim: +d.ssim.toFixed(5) }])),
};
history.rounds.at(-1).set5_psnr = tmpCard.benchmarks.results.Set5.psnr;
fs.writeFileSync(`${dst}.json.tmp`, JSON.stringify(tmpCard, null, 2));
fs.renameSync(`${dst}.json.tmp`, `${dst}.json`);
console.log(JSON.stringify({ weights: path.relative(root, dst), round: history.rounds.length, ...tmpCard.benchmarks.results }));
