// Zoom and pan of the before/after view.
//
// The layers (input stretched to the output size, and the result or its live preview on top) are one element of
// the output's size in CSS px, placed with `translate(tx, ty) scale(k)`. Zoom is shown in device pixels per image
// pixel: 100 % ("1:1") is k = 1 / devicePixelRatio, with the translation snapped to whole device pixels and
// nearest-neighbour sampling from 100 % up, so each image pixel lands on exactly one screen pixel.
// The before/after split is a position in the viewport (a share of its width), so it stays where it is while
// zooming and panning; the result layer is clipped at that position.
//
// Input: wheel (around the cursor), pinch (two pointers), drag to pan, drag the divider to move the split;
// buttons −, +, 1:1, fit; keys on the focused view: + / − zoom, 1 is 1:1, 0 or F fits, arrows pan
// (Shift: farther); the split is also a range input (arrows, Home, End).

/** Zoom steps of the buttons and keys, in device pixels per image pixel. */
const LEVELS = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32, 64];
const MAX_ZOOM = 64;

export interface ViewerElements {
  viewport: HTMLElement;
  layers: HTMLElement;
  /** The result layer (clipped at the split). */
  after: HTMLElement;
  divider: HTMLElement;
  split: HTMLInputElement;
  level: HTMLElement;
  zoomIn: HTMLButtonElement;
  zoomOut: HTMLButtonElement;
  one: HTMLButtonElement;
  fit: HTMLButtonElement;
}

export class Viewer {
  /** Image size, output px. */
  private w = 0;
  private h = 0;
  /** CSS px per image px, and the image origin in the viewport (CSS px). */
  private k = 1;
  private tx = 0;
  private ty = 0;
  /** Split position, % of the viewport width. */
  private splitPct = 50;
  /** Follow the viewport's size with "fit" (until the user zooms or pans). */
  private fitted = true;
  private readonly pointers = new Map<number, { x: number; y: number }>();
  private pinch: { d: number; k: number; ix: number; iy: number } | null = null;

  constructor(private readonly el: ViewerElements) {
    const vp = el.viewport;
    el.zoomIn.onclick = () => this.step(1);
    el.zoomOut.onclick = () => this.step(-1);
    el.one.onclick = () => this.oneToOne();
    el.fit.onclick = () => this.fit();
    el.split.oninput = () => this.setSplit(Number(el.split.value));
    this.splitPct = Number(el.split.value);
    vp.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    vp.addEventListener('keydown', (e) => this.onKey(e));
    vp.addEventListener('pointerdown', (e) => this.onDown(e));
    vp.addEventListener('pointermove', (e) => this.onMove(e));
    for (const t of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) vp.addEventListener(t, (e) => this.onUp(e));
    new ResizeObserver(() => (this.fitted ? this.fit() : this.apply())).observe(vp);
    addEventListener('resize', () => this.apply()); // devicePixelRatio changes (browser zoom) come with a resize
  }

  /** Device pixels per image pixel. */
  get zoom(): number {
    return this.k * devicePixelRatio;
  }

  /** Show an image of `width`×`height` output px; a new size starts at "fit", the same size keeps the view. */
  setImage(width: number, height: number): void {
    if (width === this.w && height === this.h) return this.apply();
    this.w = width;
    this.h = height;
    this.el.layers.style.width = `${width}px`;
    this.el.layers.style.height = `${height}px`;
    this.fit();
  }

  private get vw(): number {
    return this.el.viewport.clientWidth;
  }

  private get vh(): number {
    return this.el.viewport.clientHeight;
  }

  private fitK(): number {
    if (!this.w || !this.h || !this.vw || !this.vh) return 1 / devicePixelRatio;
    return Math.min(this.vw / this.w, this.vh / this.h);
  }

  /** The whole image in view. */
  fit(): void {
    this.k = this.fitK();
    this.tx = (this.vw - this.w * this.k) / 2;
    this.ty = (this.vh - this.h * this.k) / 2;
    this.fitted = true;
    this.apply();
  }

  /** One image pixel per device pixel, around the centre of the view. */
  oneToOne(): void {
    this.zoomTo(1 / devicePixelRatio, this.vw / 2, this.vh / 2);
  }

  /** The next zoom level up (+1) or down (−1), around the centre of the view. */
  step(dir: 1 | -1): void {
    const z = this.zoom;
    const next = dir > 0 ? (LEVELS.find((l) => l > z * 1.001) ?? MAX_ZOOM) : ([...LEVELS].reverse().find((l) => l < z / 1.001) ?? 0);
    this.zoomTo(next / devicePixelRatio, this.vw / 2, this.vh / 2);
  }

  /** Zoom to `k` CSS px per image px keeping the image point under viewport point (cx, cy) in place. */
  zoomTo(k: number, cx: number, cy: number): void {
    const kMin = Math.min(this.fitK(), 1 / devicePixelRatio);
    const nk = Math.min(MAX_ZOOM / devicePixelRatio, Math.max(kMin, k));
    const ix = (cx - this.tx) / this.k;
    const iy = (cy - this.ty) / this.k;
    this.k = nk;
    this.tx = cx - ix * nk;
    this.ty = cy - iy * nk;
    this.fitted = false;
    this.apply();
  }

  panBy(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
    this.fitted = false;
    this.apply();
  }

  setSplit(pct: number): void {
    this.splitPct = Math.min(100, Math.max(0, pct));
    this.el.split.value = String(this.splitPct);
    this.apply();
  }

  /** Keep the image in view (centred along an axis where it is smaller than the view), then draw. */
  private apply(): void {
    const { vw, vh, w, h, k } = this;
    if (!w || !h) return;
    const sw = w * k;
    const sh = h * k;
    this.tx = sw <= vw ? (vw - sw) / 2 : Math.min(0, Math.max(vw - sw, this.tx));
    this.ty = sh <= vh ? (vh - sh) / 2 : Math.min(0, Math.max(vh - sh, this.ty));
    // Snap the image origin to a device pixel (the viewport itself may sit at a fractional position).
    const dpr = devicePixelRatio;
    const r = this.el.viewport.getBoundingClientRect();
    const ox = r.left + this.el.viewport.clientLeft;
    const oy = r.top + this.el.viewport.clientTop;
    const tx = Math.round((ox + this.tx) * dpr) / dpr - ox;
    const ty = Math.round((oy + this.ty) * dpr) / dpr - oy;
    this.el.layers.style.transform = `translate(${tx}px, ${ty}px) scale(${k})`;
    const zoom = this.zoom;
    // Nearest neighbour from 1:1 up: image pixels stay sharp squares (and exact at 1:1).
    this.el.viewport.classList.toggle('magnified', zoom >= 0.999);
    const splitX = (this.splitPct / 100) * vw;
    const clip = Math.min(w, Math.max(0, (splitX - tx) / k));
    this.el.after.style.clipPath = `inset(0 0 0 ${clip}px)`;
    this.el.divider.style.left = `${splitX}px`;
    const pct = zoom * 100;
    this.el.level.textContent = `${pct < 10 ? pct.toFixed(1) : Math.round(pct)} %`;
    this.el.viewport.dataset.zoom = String(zoom);
    this.el.zoomIn.disabled = zoom >= MAX_ZOOM * 0.999;
    this.el.zoomOut.disabled = k <= Math.min(this.fitK(), 1 / dpr) * 1.001;
  }

  private local(e: { clientX: number; clientY: number }): { x: number; y: number } {
    const r = this.el.viewport.getBoundingClientRect();
    return { x: e.clientX - r.left - this.el.viewport.clientLeft, y: e.clientY - r.top - this.el.viewport.clientTop };
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    const px = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaMode === 2 ? e.deltaY * this.vh : e.deltaY;
    const { x, y } = this.local(e);
    this.zoomTo(this.k * Math.exp(-px * 0.002), x, y);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const far = e.shiftKey ? 0.5 : 0.1;
    const moves: Record<string, () => void> = {
      '+': () => this.step(1),
      '=': () => this.step(1),
      '-': () => this.step(-1),
      _: () => this.step(-1),
      '1': () => this.oneToOne(),
      '0': () => this.fit(),
      f: () => this.fit(),
      F: () => this.fit(),
      ArrowLeft: () => this.panBy(this.vw * far, 0),
      ArrowRight: () => this.panBy(-this.vw * far, 0),
      ArrowUp: () => this.panBy(0, this.vh * far),
      ArrowDown: () => this.panBy(0, -this.vh * far),
    };
    const f = moves[e.key];
    if (!f) return;
    e.preventDefault();
    f();
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    const onDivider = e.target instanceof Node && this.el.divider.contains(e.target);
    this.el.viewport.focus({ preventScroll: true });
    this.el.viewport.setPointerCapture(e.pointerId);
    this.pointers.set(e.pointerId, this.local(e));
    if (onDivider && this.pointers.size === 1) {
      this.el.viewport.dataset.drag = 'split';
    } else if (this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      const mx = (a.x + b.x) / 2;
      const my = (a.y + b.y) / 2;
      this.pinch = { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, k: this.k, ix: (mx - this.tx) / this.k, iy: (my - this.ty) / this.k };
      this.el.viewport.dataset.drag = 'pinch';
    } else {
      this.el.viewport.dataset.drag = 'pan';
    }
    e.preventDefault();
  }

  private onMove(e: PointerEvent): void {
    const prev = this.pointers.get(e.pointerId);
    if (!prev) return;
    const p = this.local(e);
    this.pointers.set(e.pointerId, p);
    const mode = this.el.viewport.dataset.drag;
    if (mode === 'split') {
      this.setSplit((100 * p.x) / this.vw);
    } else if (mode === 'pinch' && this.pinch && this.pointers.size === 2) {
      const [a, b] = [...this.pointers.values()];
      const mx = (a.x + b.x) / 2;
      const my = (a.y + b.y) / 2;
      const k = (this.pinch.k * Math.hypot(a.x - b.x, a.y - b.y)) / this.pinch.d;
      const kMin = Math.min(this.fitK(), 1 / devicePixelRatio);
      this.k = Math.min(MAX_ZOOM / devicePixelRatio, Math.max(kMin, k));
      // The image point that was under the pinch's centre follows the centre.
      this.tx = mx - this.pinch.ix * this.k;
      this.ty = my - this.pinch.iy * this.k;
      this.fitted = false;
      this.apply();
    } else if (mode === 'pan') {
      this.panBy(p.x - prev.x, p.y - prev.y);
    }
  }

  private onUp(e: PointerEvent): void {
    if (!this.pointers.delete(e.pointerId)) return;
    this.pinch = null;
    // Lifting one finger of a pinch continues as a pan with the other.
    if (this.pointers.size === 1 && this.el.viewport.dataset.drag === 'pinch') this.el.viewport.dataset.drag = 'pan';
    if (this.pointers.size === 0) delete this.el.viewport.dataset.drag;
  }
}
