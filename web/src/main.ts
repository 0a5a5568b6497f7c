// The page: pick an image, model and scale; the worker upscales it; compare before/after; download the PNG.
// Each job is bound to its own input and options: a new file or changed options cancel the running job, and
// only messages of the current job are shown.
import { checkSize } from '../../src/pipeline/limits.js';
import { listEntries } from '../../src/models/index.js';
import { weightsStem } from '../../src/pipeline/stem.js';
import { MAX_OUTPUT_PIXELS, type BackendChoice, type FromWorker, type UpscaleRequest } from './protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const fileInput = $<HTMLInputElement>('file');
const drop = $<HTMLLabelElement>('drop');
const dropText = $('drop-text');
const modelSel = $<HTMLSelectElement>('model');
const scaleSel = $<HTMLSelectElement>('scale');
const weightsStatus = $('weights-status');
const backendSel = $<HTMLSelectElement>('backend');
const tileIn = $<HTMLInputElement>('tile');
const padIn = $<HTMLInputElement>('tile-pad');
const ensembleIn = $<HTMLInputElement>('self-ensemble');
const exactIn = $<HTMLInputElement>('exact');
const runBtn = $<HTMLButtonElement>('run');
const cancelBtn = $<HTMLButtonElement>('cancel');
const download = $<HTMLAnchorElement>('download');
const progress = $<HTMLProgressElement>('progress');
const stage = $('stage');
const isolation = $('isolation');
const backendInfo = $('backend-info');
const timeInfo = $('time');
const sizeInfo = $('size');
const errorBox = $('error');
const compare = $('compare');
const before = $<HTMLImageElement>('before');
const after = $<HTMLImageElement>('after');
const split = $<HTMLInputElement>('split');
const pixelated = $<HTMLInputElement>('pixelated');

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });

/** The picked input, decoded far enough to know its size. */
let input: { file: File; width: number; height: number } | null = null;
/** The input fits the size limit at the current scale. */
let inputOk = false;
/** The running job: its id and the input and name it belongs to. */
let job: { id: number; file: File; model: string; cancelling?: boolean } | null = null;
let jobSeq = 0;
let pickSeq = 0;
let resultUrl: string | undefined;
let beforeUrl: string | undefined;
/** Weights on this server, by file stem (from weights/manifest.json). */
const available = new Map<string, { bytes: number; set5Psnr?: number; iterations?: number }>();

type State = 'idle' | 'running' | 'done' | 'error';
function setState(s: State): void {
  document.body.dataset.state = s;
  runBtn.disabled = s === 'running' || !input || !inputOk || !available.has(stem());
  cancelBtn.disabled = s !== 'running' || !job || job.cancelling === true;
}

function showError(msg: string | null): void {
  errorBox.hidden = msg === null;
  errorBox.textContent = msg ?? '';
}

// Cross-origin isolation decides whether wasm can use threads.
isolation.dataset.isolated = String(crossOriginIsolated);
isolation.textContent = crossOriginIsolated
  ? `cross-origin isolated: wasm can use ${navigator.hardwareConcurrency || 1} threads`
  : 'not cross-origin isolated: wasm runs on one thread (the server must send COOP/COEP headers, see web/README.md)';

const stem = () => weightsStem(modelSel.value, Number(scaleSel.value));
const weightsUrl = () => new URL(`weights/${stem()}.safetensors`, document.baseURI).href;

/** Models and scales: only those with weights on the server. */
async function loadManifest(): Promise<void> {
  try {
    const res = await fetch('weights/manifest.json');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const m = (await res.json()) as { weights: { stem: string; bytes: number; set5Psnr?: number; iterations?: number }[] };
    for (const w of m.weights) available.set(w.stem, w);
  } catch (e) {
    showError(`cannot read the list of weights on this server (weights/manifest.json): ${(e as Error).message}`);
  }
  const models = listEntries().filter((e) => e.scales.some((s) => available.has(weightsStem(e.name, s))));
  modelSel.replaceChildren(...models.map((e) => new Option(`${e.name} — ${e.title}`, e.name)));
  if (models.some((e) => e.name === 'imdn')) modelSel.value = 'imdn';
  if (models.length === 0) weightsStatus.textContent = 'no trained weights on this server';
  fillScales();
}

function fillScales(): void {
  const entry = listEntries().find((e) => e.name === modelSel.value);
  const scales = entry ? entry.scales.filter((s) => available.has(weightsStem(entry.name, s))) : [];
  const prev = Number(scaleSel.value) || 4;
  scaleSel.replaceChildren(...scales.map((s) => new Option(`×${s}`, String(s))));
  if (scales.length) scaleSel.value = String(scales.includes(prev) ? prev : scales[scales.length - 1]);
  showWeights();
}

function showWeights(): void {
  const w = available.get(stem());
  if (!w) return;
  const psnr = w.set5Psnr ? `, Set5 ${w.set5Psnr.toFixed(2)} dB` : '';
  const its = w.iterations ? `, ${w.iterations} iterations` : '';
  weightsStatus.textContent = `weights: ${(w.bytes / 1048576).toFixed(1)} MB${psnr}${its}`;
}

/** Forget the result and the figures of the last job (a new input, options or job). */
function clearResult(): void {
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  resultUrl = undefined;
  after.removeAttribute('src');
  compare.hidden = true;
  download.hidden = true;
  download.removeAttribute('href');
  backendInfo.textContent = '—';
  delete backendInfo.dataset.kind;
  timeInfo.textContent = '—';
  delete timeInfo.dataset.seconds;
  progress.value = 0;
  progress.max = 1;
}

/** Drop the running job for a new input or options: the worker stops it; its later messages are ignored. */
function dropJob(why: string): void {
  if (!job) return;
  worker.postMessage({ type: 'cancel', id: job.id });
  job = null;
  stage.textContent = `cancelled (${why})`;
  setState('idle');
}

/** The input's size and the output's, or the reason it cannot be upscaled with the current scale. */
function checkInput(): boolean {
  inputOk = false;
  if (!input) return false;
  const s = Number(scaleSel.value);
  try {
    checkSize(input.file.name, input.width, input.height, s, MAX_OUTPUT_PIXELS);
  } catch (e) {
    sizeInfo.textContent = `${input.width}×${input.height}`;
    showError((e as Error).message);
    return false;
  }
  sizeInfo.textContent = `${input.width}×${input.height} → ${input.width * s}×${input.height * s}`;
  showError(null);
  inputOk = true;
  return true;
}

async function pick(f: File | undefined): Promise<void> {
  if (!f) return;
  const seq = ++pickSeq;
  stage.textContent = '';
  dropJob('new input');
  clearResult();
  input = null;
  inputOk = false;
  sizeInfo.textContent = '—';
  dropText.textContent = `${f.name} (${(f.size / 1024).toFixed(0)} KB)`;
  showError(null);
  setState('idle');
  let size: { width: number; height: number };
  try {
    const bmp = await createImageBitmap(f);
    size = { width: bmp.width, height: bmp.height };
    bmp.close();
  } catch {
    if (seq !== pickSeq) return;
    before.removeAttribute('src');
    showError(`cannot decode '${f.name}' as an image (use PNG, JPEG, WebP, GIF, BMP or AVIF)`);
    setState('error');
    return;
  }
  if (seq !== pickSeq) return;
  if (beforeUrl) URL.revokeObjectURL(beforeUrl);
  beforeUrl = URL.createObjectURL(f);
  before.src = beforeUrl;
  input = { file: f, ...size };
  setState(checkInput() ? 'idle' : 'error');
}

fileInput.onchange = () => void pick(fileInput.files?.[0]);
// Keyboard: Enter or Space on the drop zone opens the file chooser.
drop.onkeydown = (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  fileInput.click();
};
// Drop anywhere on the page; paste an image from the clipboard.
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
document.addEventListener('dragleave', (e) => {
  if (!e.relatedTarget) drop.classList.remove('over');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  void pick(e.dataTransfer?.files[0]);
});
document.addEventListener('paste', (e) => {
  const f = Array.from(e.clipboardData?.files ?? []).find((x) => x.type.startsWith('image/'));
  if (f) void pick(f);
});

/** Changed options: the running job no longer matches them. */
function optionsChanged(): void {
  dropJob('options changed');
  clearResult();
  setState(input && !checkInput() ? 'error' : 'idle');
}
modelSel.onchange = () => {
  fillScales();
  optionsChanged();
};
scaleSel.onchange = () => {
  showWeights();
  optionsChanged();
};
for (const el of [backendSel, tileIn, padIn, ensembleIn, exactIn]) el.addEventListener('change', optionsChanged);

function intField(el: HTMLInputElement, name: string): number {
  const v = el.value.trim();
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number ≥ 0, got '${v}'`);
  return Number(v);
}

runBtn.onclick = () => {
  if (!input || job || !checkInput()) return;
  let req: UpscaleRequest;
  try {
    req = {
      type: 'upscale', id: ++jobSeq, image: input.file, model: modelSel.value, scale: Number(scaleSel.value),
      weightsUrl: weightsUrl(), backend: backendSel.value as BackendChoice,
      tile: intField(tileIn, 'Tile'), tilePad: intField(padIn, 'Tile pad'),
      selfEnsemble: ensembleIn.checked, exact: exactIn.checked,
    };
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  job = { id: req.id, file: input.file, model: req.model };
  clearResult();
  showError(null);
  progress.removeAttribute('value'); // indeterminate until the first tile
  stage.textContent = 'starting…';
  setState('running');
  worker.postMessage(req);
};
// Cancel: the worker stops between tiles and answers 'cancelled'.
cancelBtn.onclick = () => {
  if (!job || job.cancelling) return;
  job.cancelling = true;
  worker.postMessage({ type: 'cancel', id: job.id });
  stage.textContent = 'cancelling…';
  cancelBtn.disabled = true;
};

const seconds = (s: number) => (s < 60 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  if (!job || m.id !== job.id) return; // a cancelled or replaced job
  switch (m.type) {
    case 'stage':
      if (!job.cancelling) stage.textContent = m.text;
      break;
    case 'backend': {
      const skipped = m.attempts.filter((a) => a.error).map((a) => `${a.kind} unavailable: ${a.error}`);
      backendInfo.textContent = m.description;
      backendInfo.title = skipped.join('\n');
      backendInfo.dataset.kind = m.kind;
      backendInfo.dataset.tried = m.attempts.map((a) => a.kind).join(',');
      break;
    }
    case 'progress':
      if (job.cancelling) break;
      progress.max = m.total;
      progress.value = m.done;
      stage.textContent = `tile ${m.done} / ${m.total}` + (Number.isFinite(m.eta) && m.done < m.total ? `, about ${seconds(m.eta)} left` : '');
      break;
    case 'done': {
      const name = job.file.name.replace(/\.[^.]*$/, '') || 'image';
      const scale = m.outWidth / m.width;
      resultUrl = URL.createObjectURL(new Blob([m.png], { type: 'image/png' }));
      after.src = resultUrl;
      download.href = resultUrl;
      download.download = `${name}_${job.model}_x${scale}.png`;
      download.hidden = false;
      compare.style.width = `${m.outWidth}px`; // the input is shown stretched to the output size
      compare.hidden = false;
      progress.max = 1;
      progress.value = 1;
      stage.textContent = `done (${m.tiles} tile${m.tiles === 1 ? '' : 's'})`;
      timeInfo.textContent = `${m.runSeconds.toFixed(2)} s` + (m.loadSeconds > 0.005 ? ` (+ ${m.loadSeconds.toFixed(2)} s set-up)` : '');
      timeInfo.dataset.seconds = String(m.runSeconds);
      sizeInfo.textContent = `${m.width}×${m.height} → ${m.outWidth}×${m.outHeight}`;
      job = null;
      setState('done');
      break;
    }
    case 'error':
      job = null;
      if (m.cancelled) {
        stage.textContent = 'cancelled';
        setState('idle');
        break;
      }
      clearResult();
      stage.textContent = 'failed';
      showError(m.message);
      setState('error');
      break;
  }
};
worker.onerror = (e) => {
  job = null;
  clearResult();
  showError(`the worker crashed: ${e.message}`);
  setState('error');
};

function setSplit(): void {
  compare.style.setProperty('--split', `${split.value}%`);
}
split.oninput = setSplit;
setSplit();
pixelated.onchange = () => compare.classList.toggle('pixelated', pixelated.checked);
void loadManifest().then(() => {
  setState('idle');
  document.body.dataset.ready = 'true';
});
