// The page: pick images (one or a batch), a model and scale; the worker upscales them one after another, with a
// live preview of finished tiles; compare before/after with zoom and pan; download each result (PNG, WebP or
// JPEG) or all of them in a zip.
// Each job is bound to its own input and options: a new pick or changed options cancel the running job (and the
// rest of the batch), and only messages of the current job are shown.
import { checkSize } from '../../src/pipeline/limits.js';
import { listEntries } from '../../src/models/index.js';
import { weightsStem } from '../../src/pipeline/stem.js';
import { encodeAs, FORMATS, outputName, zip, type Format } from './export.js';
import { MAX_OUTPUT_PIXELS, type BackendChoice, type FromWorker, type UpscaleRequest } from './protocol.js';
import { Viewer } from './viewer.js';

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
const formatSel = $<HTMLSelectElement>('format');
const qualityIn = $<HTMLInputElement>('quality');
const qualityOut = $<HTMLOutputElement>('quality-out');
const formatNote = $('format-note');
const runBtn = $<HTMLButtonElement>('run');
const cancelBtn = $<HTMLButtonElement>('cancel');
const download = $<HTMLAnchorElement>('download');
const downloadAll = $<HTMLButtonElement>('download-all');
const progress = $<HTMLProgressElement>('progress');
const stage = $('stage');
const isolation = $('isolation');
const backendInfo = $('backend-info');
const timeInfo = $('time');
const sizeInfo = $('size');
const errorBox = $('error');
const batchList = $<HTMLOListElement>('batch');
const compare = $('compare');
const before = $<HTMLImageElement>('before');
const after = $<HTMLImageElement>('after');
const preview = $<HTMLCanvasElement>('preview');
const pixelated = $<HTMLInputElement>('pixelated');

const viewer = new Viewer({
  viewport: $('viewport'), layers: $('layers'), after: $('after-layer'), divider: $('divider'), split: $<HTMLInputElement>('split'),
  level: $('zoom-level'), zoomIn: $<HTMLButtonElement>('zoom-in'), zoomOut: $<HTMLButtonElement>('zoom-out'),
  one: $<HTMLButtonElement>('zoom-1'), fit: $<HTMLButtonElement>('zoom-fit'),
});

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });

interface Result {
  png: Blob;
  url: string;
  outWidth: number;
  outHeight: number;
  channels: number;
  tiles: number;
  loadSeconds: number;
  runSeconds: number;
  model: string;
  scale: number;
}

/** One picked file and what became of it. */
interface Item {
  file: File;
  /** Decoded far enough to know its size (undefined until then, or when it is not an image). */
  size?: { width: number; height: number };
  /** Why it cannot be upscaled: not an image, or over the size limit at the current scale. */
  refused?: string;
  status: 'new' | 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';
  /** Why the run failed. */
  failure?: string;
  result?: Result;
  /** The result in the chosen download format (key: format and quality). */
  exported?: { key: string; blob: Blob; url: string; own: boolean };
  beforeUrl?: string;
  row: HTMLLIElement;
}

let items: Item[] = [];
/** The item in the viewer. */
let selected: Item | null = null;
/** The running job: its id, item and options; and the batch it belongs to. */
let job: { id: number; item: Item; model: string; scale: number; cancelling?: boolean; previewShown?: boolean } | null = null;
let batch: { queue: Item[]; total: number; template: Omit<UpscaleRequest, 'id' | 'image'>; started: number; follow: boolean } | null = null;
let jobSeq = 0;
let pickSeq = 0;
/** Weights on this server, by file stem (from weights/manifest.json). */
const available = new Map<string, { bytes: number; set5Psnr?: number; iterations?: number }>();

const isBatch = () => items.length > 1;
const runnable = () => items.filter((it) => it.size && !it.refused && !it.result);

type State = 'idle' | 'running' | 'done' | 'error';
/** The page's state from the items: running, an error to show, all done, or ready. */
function updateState(): void {
  let s: State = 'idle';
  if (job) s = 'running';
  else if (items.some((it) => it.refused || it.status === 'failed')) s = 'error';
  else if (items.length && items.every((it) => it.result)) s = 'done';
  document.body.dataset.state = s;
  runBtn.disabled = !!job || runnable().length === 0 || !available.has(stem());
  cancelBtn.disabled = !job || job.cancelling === true;
  const results = items.filter((it) => it.result).length;
  downloadAll.hidden = results < 2 || !!job;
  downloadAll.textContent = `Download all ${results} (.zip)`;
}

/** The messages of refused and failed items, or none. */
function showErrors(): void {
  const msgs = items.flatMap((it) => (it.refused ? [it.refused] : it.status === 'failed' && it.failure ? [isBatch() ? `${it.file.name}: ${it.failure}` : it.failure] : []));
  showError(msgs.length ? msgs.join('\n') : null);
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
const kb = (n: number) => (n < 1048576 ? `${(n / 1024).toFixed(0)} KB` : `${(n / 1048576).toFixed(1)} MB`);
const seconds = (s: number) => (s < 60 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

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

// ---- items ----

function forgetExport(it: Item): void {
  if (it.exported?.own) URL.revokeObjectURL(it.exported.url);
  it.exported = undefined;
}

/** Drop an item's result (new options). */
function forgetResult(it: Item): void {
  forgetExport(it);
  if (it.result) URL.revokeObjectURL(it.result.url);
  it.result = undefined;
  it.failure = undefined;
  it.status = 'new';
}

/** Drop the running job (new input or options): the worker stops it; its later messages are ignored. */
function dropJob(why: string): void {
  if (!job) return;
  worker.postMessage({ type: 'cancel', id: job.id });
  job = null;
  endBatch();
  stage.textContent = `cancelled (${why})`;
}

/** The batch stops: the running item and those still waiting go back to 'cancelled'. */
function endBatch(): void {
  for (const it of items) if (it.status === 'running' || it.status === 'waiting') it.status = 'cancelled';
  batch = null;
  clearPreview();
  for (const it of items) renderRow(it);
}

/** Size check of every item at the current scale; the viewer's item decides the size line. */
function checkItems(): void {
  const s = Number(scaleSel.value);
  for (const it of items) {
    if (!it.size) continue; // not an image: refused on pick for good
    try {
      checkSize(it.file.name, it.size.width, it.size.height, s, MAX_OUTPUT_PIXELS);
      it.refused = undefined;
    } catch (e) {
      it.refused = (e as Error).message;
    }
    renderRow(it);
  }
  showSize();
  showErrors();
}

function showSize(): void {
  const it = selected;
  if (!it?.size) {
    sizeInfo.textContent = '—';
    return;
  }
  const { width: w, height: h } = it.size;
  const r = it.result;
  const s = r ? r.scale : Number(scaleSel.value);
  sizeInfo.textContent = it.refused ? `${w}×${h}` : `${w}×${h} → ${r ? r.outWidth : w * s}×${r ? r.outHeight : h * s}`;
}

function renderRow(it: Item): void {
  if (!isBatch()) return;
  const row = it.row;
  row.dataset.status = it.refused ? 'refused' : it.status;
  row.setAttribute('aria-current', String(it === selected));
  const [name, state, get] = row.children as unknown as [HTMLButtonElement, HTMLSpanElement, HTMLButtonElement];
  name.setAttribute('aria-pressed', String(it === selected));
  state.textContent = it.refused
    ? it.refused
    : it.status === 'done' && it.result
      ? `done, ${it.result.runSeconds.toFixed(1)} s`
      : it.status === 'failed'
        ? `failed: ${it.failure}`
        : it.status === 'running'
          ? 'running…'
          : it.status === 'waiting'
            ? 'waiting'
            : it.status === 'cancelled'
              ? 'cancelled'
              : it.size
                ? `${it.size.width}×${it.size.height}`
                : 'reading…';
  get.hidden = !it.result;
}

function makeRow(it: Item): HTMLLIElement {
  const row = document.createElement('li');
  const name = document.createElement('button');
  name.type = 'button';
  name.className = 'name';
  name.textContent = it.file.name;
  name.title = `show ${it.file.name}`;
  name.onclick = () => {
    if (batch) batch.follow = false; // the user looks at this one: the view stops following the batch
    select(it);
  };
  const state = document.createElement('span');
  state.className = 'state';
  const get = document.createElement('button');
  get.type = 'button';
  get.className = 'get';
  get.textContent = 'Download';
  get.hidden = true;
  get.onclick = () => void saveItem(it);
  row.append(name, state, get);
  return row;
}

/** Show `it` in the viewer: its result, the live preview of its running job, or nothing yet. */
function select(it: Item | null): void {
  const prev = selected;
  selected = it;
  if (prev && prev !== it) renderRow(prev);
  if (it) renderRow(it);
  if (it?.beforeUrl) before.src = it.beforeUrl;
  else before.removeAttribute('src');
  showSize();
  showTimes();
  const r = it?.result;
  if (r) {
    after.src = r.url;
    after.hidden = false;
    preview.hidden = true;
    compare.hidden = false;
    viewer.setImage(r.outWidth, r.outHeight);
  } else if (it && job?.item === it && job.previewShown) {
    after.hidden = true;
    after.removeAttribute('src');
    preview.hidden = false;
    compare.hidden = false;
    viewer.setImage(job.item.size!.width * job.scale, job.item.size!.height * job.scale);
  } else {
    after.hidden = true;
    after.removeAttribute('src');
    compare.hidden = true;
  }
  showFormatNote();
  void showDownload();
}

function showTimes(): void {
  const r = selected?.result;
  timeInfo.textContent = r ? `${r.runSeconds.toFixed(2)} s` + (r.loadSeconds > 0.005 ? ` (+ ${r.loadSeconds.toFixed(2)} s set-up)` : '') : '—';
  if (r) timeInfo.dataset.seconds = String(r.runSeconds);
  else delete timeInfo.dataset.seconds;
}

function clearPreview(): void {
  preview.hidden = true;
  preview.width = preview.height = 0;
  if (job) job.previewShown = false;
}

async function pick(files: File[]): Promise<void> {
  if (!files.length) return;
  const seq = ++pickSeq;
  stage.textContent = '';
  dropJob('new input');
  for (const it of items) {
    forgetResult(it);
    if (it.beforeUrl) URL.revokeObjectURL(it.beforeUrl);
  }
  items = files.map((file) => {
    const it = { file, status: 'new' } as Item;
    it.row = makeRow(it);
    return it;
  });
  batchList.replaceChildren(...(isBatch() ? items.map((it) => it.row) : []));
  batchList.hidden = !isBatch();
  const total = files.reduce((n, f) => n + f.size, 0);
  dropText.textContent = isBatch() ? `${files.length} files (${kb(total)})` : `${files[0].name} (${(files[0].size / 1024).toFixed(0)} KB)`;
  resetFigures();
  showError(null);
  select(items[0]);
  updateState();
  await Promise.all(items.map(async (it) => {
    try {
      const bmp = await createImageBitmap(it.file);
      it.size = { width: bmp.width, height: bmp.height };
      bmp.close();
    } catch {
      it.refused = `cannot decode '${it.file.name}' as an image (use PNG, JPEG, WebP, GIF, BMP or AVIF)`;
    }
  }));
  if (seq !== pickSeq) return;
  for (const it of items) if (it.size) it.beforeUrl = URL.createObjectURL(it.file);
  select(items.find((it) => it.size) ?? items[0]);
  checkItems();
  updateState();
}

/** Forget the figures of the last job (a new input, options or job). */
function resetFigures(): void {
  backendInfo.textContent = '—';
  delete backendInfo.dataset.kind;
  progress.value = 0;
  progress.max = 1;
  showTimes();
}

fileInput.onchange = () => void pick(Array.from(fileInput.files ?? []));
// Keyboard: Enter or Space on the drop zone opens the file chooser.
drop.onkeydown = (e) => {
  if (e.key !== 'Enter' && e.key !== ' ') return;
  e.preventDefault();
  fileInput.click();
};
// Drop anywhere on the page; paste images from the clipboard.
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
  void pick(Array.from(e.dataTransfer?.files ?? []));
});
document.addEventListener('paste', (e) => {
  const files = Array.from(e.clipboardData?.files ?? []).filter((x) => x.type.startsWith('image/'));
  if (files.length) void pick(files);
});

/** Changed options: the running job and the results no longer match them. */
function optionsChanged(): void {
  dropJob('options changed');
  for (const it of items) forgetResult(it);
  resetFigures();
  select(selected);
  checkItems();
  updateState();
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

// ---- running ----

runBtn.onclick = () => {
  const todo = runnable();
  if (job || !todo.length) return;
  let template: Omit<UpscaleRequest, 'id' | 'image'>;
  try {
    template = {
      type: 'upscale', model: modelSel.value, scale: Number(scaleSel.value), weightsUrl: weightsUrl(),
      backend: backendSel.value as BackendChoice, tile: intField(tileIn, 'Tile'), tilePad: intField(padIn, 'Tile pad'),
      selfEnsemble: ensembleIn.checked, exact: exactIn.checked,
    };
  } catch (e) {
    showError((e as Error).message);
    return;
  }
  for (const it of items) if (it.status === 'failed' || it.status === 'cancelled') (it.status = 'new'), (it.failure = undefined);
  for (const it of todo) it.status = 'waiting';
  batch = { queue: todo, total: todo.length, template, started: performance.now(), follow: true };
  resetFigures();
  showErrors();
  next();
};

/** Start the batch's next item, or finish the batch. */
function next(): void {
  const b = batch;
  if (!b) return;
  const it = b.queue.shift();
  if (!it) return void finishBatch();
  const req: UpscaleRequest = { ...b.template, id: ++jobSeq, image: it.file };
  job = { id: req.id, item: it, model: req.model, scale: req.scale };
  it.status = 'running';
  clearPreview();
  if (b.follow || !selected?.result) select(it);
  else renderRow(it);
  progress.removeAttribute('value'); // indeterminate until the first tile
  stage.textContent = prefix() + 'starting…';
  updateState();
  worker.postMessage(req);
}

/** "file 2 / 3 · " in a batch. */
function prefix(): string {
  if (!batch || batch.total < 2) return '';
  return `file ${batch.total - batch.queue.length} / ${batch.total} · `;
}

async function finishBatch(): Promise<void> {
  const b = batch!;
  batch = null;
  job = null;
  const done = items.filter((it) => it.result).length;
  const failed = items.filter((it) => it.status === 'failed').length;
  if (b.total > 1) {
    stage.textContent = `done: ${done} of ${b.total} files in ${seconds((performance.now() - b.started) / 1000)}` + (failed ? `, ${failed} failed` : '');
  }
  progress.max = 1;
  progress.value = 1;
  showErrors();
  await showDownload(); // the download is ready when the page says 'done'
  updateState();
}

// Cancel: the worker stops between tiles and answers 'cancelled'; the rest of the batch is not run.
cancelBtn.onclick = () => {
  if (!job || job.cancelling) return;
  job.cancelling = true;
  worker.postMessage({ type: 'cancel', id: job.id });
  stage.textContent = 'cancelling…';
  cancelBtn.disabled = true;
};

/** Preview canvases above this many pixels are drawn at a lower resolution (the result replaces them anyway). */
const PREVIEW_MAX_PIXELS = 16e6;

/** Paint a finished tile of the running job (the result replaces the preview when done). */
function paintPreview(m: Extract<FromWorker, { type: 'preview' }>): void {
  if (!job || job.cancelling) return;
  const f = Math.min(1, Math.sqrt(PREVIEW_MAX_PIXELS / (m.outWidth * m.outHeight)));
  if (!job.previewShown) {
    preview.width = Math.max(1, Math.round(m.outWidth * f)); // also clears it
    preview.height = Math.max(1, Math.round(m.outHeight * f));
    job.previewShown = true;
    if (selected === job.item) select(job.item);
  }
  const ctx = preview.getContext('2d')!;
  const tile = new ImageData(m.data, m.width, m.height);
  if (f === 1) return ctx.putImageData(tile, m.x, m.y);
  const id = job.id;
  void createImageBitmap(tile).then((bmp) => {
    if (job?.id === id && job.previewShown) ctx.drawImage(bmp, m.x * f, m.y * f, m.width * f, m.height * f);
    bmp.close();
  });
}

worker.onmessage = (ev: MessageEvent<FromWorker>) => {
  const m = ev.data;
  if (!job || m.id !== job.id) return; // a cancelled or replaced job
  const it = job.item;
  switch (m.type) {
    case 'stage':
      if (!job.cancelling) stage.textContent = prefix() + m.text;
      break;
    case 'backend': {
      const skipped = m.attempts.filter((a) => a.error).map((a) => `${a.kind} unavailable: ${a.error}`);
      backendInfo.textContent = m.description;
      backendInfo.title = skipped.join('\n');
      backendInfo.dataset.kind = m.kind;
      backendInfo.dataset.tried = m.attempts.map((a) => a.kind).join(',');
      break;
    }
    case 'progress': {
      if (job.cancelling) break;
      const b = batch!;
      if (b.total > 1) {
        const filesDone = b.total - b.queue.length - 1;
        progress.max = b.total * 1000;
        progress.value = Math.round((filesDone + m.done / m.total) * 1000);
      } else {
        progress.max = m.total;
        progress.value = m.done;
      }
      stage.textContent = prefix() + `tile ${m.done} / ${m.total}` + (Number.isFinite(m.eta) && m.done < m.total ? `, about ${seconds(m.eta)} left` : '');
      break;
    }
    case 'preview':
      paintPreview(m);
      break;
    case 'done': {
      it.result = {
        png: new Blob([m.png], { type: 'image/png' }), url: '', outWidth: m.outWidth, outHeight: m.outHeight, channels: m.channels,
        tiles: m.tiles, loadSeconds: m.loadSeconds, runSeconds: m.runSeconds, model: job.model, scale: job.scale,
      };
      it.result.url = URL.createObjectURL(it.result.png);
      it.status = 'done';
      job = null;
      clearPreview();
      if (!isBatch()) stage.textContent = `done (${m.tiles} tile${m.tiles === 1 ? '' : 's'})`;
      if (selected === it) select(it);
      else renderRow(it);
      next();
      break;
    }
    case 'error':
      job = null;
      clearPreview();
      if (m.cancelled) {
        endBatch();
        stage.textContent = 'cancelled';
        select(selected);
        updateState();
        break;
      }
      it.status = 'failed';
      it.failure = m.message;
      stage.textContent = 'failed';
      if (selected === it) select(it);
      else renderRow(it);
      showErrors();
      next(); // the other files of a batch still run
      break;
  }
};
worker.onerror = (e) => {
  job = null;
  endBatch();
  showError(`the worker crashed: ${e.message}`);
  document.body.dataset.state = 'error';
};

// ---- downloads ----

const format = () => formatSel.value as Format;
const quality = () => Number(qualityIn.value) / 100;
const exportKey = () => (format() === 'png' ? 'png' : `${format()}|${qualityIn.value}`);

/** The result of `it` in the chosen format (cached until the format or quality changes). */
async function exported(it: Item): Promise<{ blob: Blob; url: string; name: string }> {
  for (;;) {
    const r = it.result;
    if (!r) throw new Error(`'${it.file.name}' has no result any more`);
    const key = exportKey();
    const fmt = format();
    if (it.exported?.key === key) return { ...it.exported, name: outputName(it.file.name, r.model, r.scale, fmt) };
    const blob = await encodeAs(r.png, fmt, quality());
    if (it.result !== r || exportKey() !== key) continue; // changed meanwhile
    forgetExport(it);
    // PNG is the result itself (its URL is the result's, not revoked with the export).
    it.exported = { key, blob, url: blob === r.png ? r.url : URL.createObjectURL(blob), own: blob !== r.png };
  }
}

/** The download link of the item in the viewer. */
async function showDownload(): Promise<void> {
  const it = selected;
  download.hidden = true;
  download.removeAttribute('href');
  if (!it?.result) return;
  try {
    const e = await exported(it);
    if (selected !== it || !it.result) return;
    download.href = e.url;
    download.download = e.name;
    download.textContent = `Download ${FORMATS[format()].label} (${kb(e.blob.size)})`;
    download.hidden = false;
  } catch (err) {
    showError((err as Error).message);
  }
}

/** Download one item's result (batch rows). */
async function saveItem(it: Item): Promise<void> {
  if (!it.result) return;
  try {
    const e = await exported(it);
    save(e.url, e.name);
  } catch (err) {
    showError((err as Error).message);
  }
}

function save(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

downloadAll.onclick = async () => {
  const done = items.filter((it) => it.result);
  if (!done.length) return;
  downloadAll.disabled = true;
  const label = downloadAll.textContent;
  downloadAll.textContent = 'zipping…';
  try {
    const files = [];
    for (const it of done) {
      const e = await exported(it);
      files.push({ name: e.name, blob: e.blob });
    }
    const r = done[0].result!;
    const url = URL.createObjectURL(await zip(files));
    save(url, `lightsr_${r.model}_x${r.scale}_${files.length}_images.zip`);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    showError((err as Error).message);
  } finally {
    downloadAll.disabled = false;
    downloadAll.textContent = label;
  }
};

/** JPEG: a note that transparency is flattened (and whether the result in view has any). */
function showFormatNote(): void {
  const f = FORMATS[format()];
  const c = selected?.result?.channels;
  formatNote.hidden = f.alpha;
  formatNote.textContent = f.alpha ? '' : `${f.label} has no transparency: transparent areas are flattened on white` + (c === 2 || c === 4 ? ' (this result has some).' : '.');
}

/** Format or quality changed: exports are redone (the results stay). */
function formatChanged(): void {
  const f = FORMATS[format()];
  qualityIn.disabled = !f.lossy;
  qualityOut.value = qualityIn.value;
  showFormatNote();
  for (const it of items) forgetExport(it);
  void showDownload();
}
formatSel.onchange = formatChanged;
qualityIn.oninput = () => (qualityOut.value = qualityIn.value);
qualityIn.onchange = formatChanged;

pixelated.onchange = () => compare.classList.toggle('pixelated', pixelated.checked);
formatChanged();
void loadManifest().then(() => {
  updateState();
  document.body.dataset.ready = 'true';
});
