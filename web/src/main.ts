// The page: pick an image, model and scale; the worker upscales it; compare before/after; download the PNG.
import { listEntries } from '../../src/models/index.js';
import { weightsStem } from '../../src/pipeline/stem.js';
import type { BackendChoice, FromWorker, UpscaleRequest } from './protocol.js';

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
let file: File | null = null;
let jobId = 0;
let busy = false;
let urls: { before?: string; after?: string } = {};

type State = 'idle' | 'running' | 'done' | 'error';
function setState(s: State): void {
  document.body.dataset.state = s;
  busy = s === 'running';
  runBtn.disabled = busy || !file;
  cancelBtn.disabled = !busy;
}

function showError(msg: string | null): void {
  errorBox.hidden = msg === null;
  errorBox.textContent = msg ?? '';
}

// Models and scales from the registry.
for (const e of listEntries()) modelSel.add(new Option(`${e.name} — ${e.title}`, e.name));
modelSel.value = 'imdn';
function fillScales(): void {
  const entry = listEntries().find((e) => e.name === modelSel.value)!;
  const prev = Number(scaleSel.value) || 4;
  scaleSel.replaceChildren(...entry.scales.map((s) => new Option(`×${s}`, String(s))));
  scaleSel.value = String(entry.scales.includes(prev) ? prev : entry.scales[entry.scales.length - 1]);
}

function weightsUrl(): string {
  return new URL(`weights/${weightsStem(modelSel.value, Number(scaleSel.value))}.safetensors`, document.baseURI).href;
}

/** Tell whether the server has weights for the current choice (a HEAD request). */
let checkSeq = 0;
async function checkWeights(): Promise<void> {
  const seq = ++checkSeq;
  const url = weightsUrl();
  weightsStatus.textContent = '';
  const res = await fetch(url, { method: 'HEAD' }).catch(() => null);
  if (seq !== checkSeq) return;
  if (res?.ok) {
    const n = Number(res.headers.get('Content-Length') ?? 0);
    weightsStatus.textContent = n ? `weights: ${(n / 1048576).toFixed(1)} MB` : 'weights: available';
  } else {
    weightsStatus.textContent = 'no trained weights on this server';
  }
}

modelSel.onchange = () => {
  fillScales();
  void checkWeights();
};
scaleSel.onchange = () => void checkWeights();
fillScales();
void checkWeights();

function pick(f: File | undefined): void {
  if (!f) return;
  file = f;
  dropText.textContent = `${f.name} (${(f.size / 1024).toFixed(0)} KB)`;
  if (urls.before) URL.revokeObjectURL(urls.before);
  urls.before = URL.createObjectURL(f);
  before.src = urls.before;
  showError(null);
  setState(busy ? 'running' : 'idle');
}
fileInput.onchange = () => pick(fileInput.files?.[0]);
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add('over');
};
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  pick(e.dataTransfer?.files[0]);
};

function intField(input: HTMLInputElement, name: string): number {
  const v = input.value.trim();
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number ≥ 0, got '${v}'`);
  return Number(v);
}

runBtn.onclick = () => {
  if (!file || busy) return;
  let req: UpscaleRequest;
  try {
    req = {
      type: 'upscale', id: ++jobId, image: file, model: modelSel.value, scale: Number(scaleSel.value),
      weightsUrl: weightsUrl(), backend: backendSel.value as BackendChoice,
      tile: intField(tileIn, 'Tile'), tilePad: intField(padIn, 'Tile pad'),
      selfEnsemble: ensembleIn.checked, exact: exactIn.checked,
    };
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  showError(null);
  download.hidden = true;
  progress.value = 0;
  progress.removeAttribute('value'); // indeterminate until the first tile
  timeInfo.textContent = '—';
  setState('running');
  worker.postMessage(req);
};
cancelBtn.onclick = () => worker.postMessage({ type: 'cancel', id: jobId });

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  if (m.id !== jobId) return;
  switch (m.type) {
    case 'stage':
      stage.textContent = m.text;
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
      progress.max = m.total;
      progress.value = m.done;
      stage.textContent = `tile ${m.done} / ${m.total}`;
      break;
    case 'done': {
      const name = (file?.name ?? 'image').replace(/\.[^.]*$/, '');
      if (urls.after) URL.revokeObjectURL(urls.after);
      urls.after = URL.createObjectURL(new Blob([m.png], { type: 'image/png' }));
      after.src = urls.after;
      download.href = urls.after;
      download.download = `${name}_${modelSel.value}_x${m.outWidth / m.width}.png`;
      download.hidden = false;
      compare.style.width = `${m.outWidth}px`; // the input is shown stretched to the output size
      compare.hidden = false;
      progress.max = 1;
      progress.value = 1;
      stage.textContent = `done (${m.tiles} tile${m.tiles === 1 ? '' : 's'})`;
      timeInfo.textContent = `${m.runSeconds.toFixed(2)} s` + (m.loadSeconds > 0.005 ? ` (+ ${m.loadSeconds.toFixed(2)} s set-up)` : '');
      timeInfo.dataset.seconds = String(m.runSeconds);
      sizeInfo.textContent = `${m.width}×${m.height} → ${m.outWidth}×${m.outHeight}`;
      setState('done');
      break;
    }
    case 'error':
      stage.textContent = m.cancelled ? 'cancelled' : 'failed';
      progress.value = 0;
      if (!m.cancelled) showError(m.message);
      setState(m.cancelled ? 'idle' : 'error');
      break;
  }
};
worker.onerror = (e) => {
  showError(`the worker crashed: ${e.message}`);
  setState('error');
};

function setSplit(): void {
  compare.style.setProperty('--split', `${split.value}%`);
}
split.oninput = setSplit;
setSplit();
pixelated.onchange = () => compare.classList.toggle('pixelated', pixelated.checked);
document.body.dataset.ready = 'true';
