// Fetch a network's safetensors weights over HTTP and build the network: the browser twin of loadModel
// (src/models/load.ts, which reads files with node:fs). Same checks: the `.json` card next to the file, else the
// safetensors metadata, must not contradict the requested architecture and scale; then exact name/shape checks.
import type { Ops } from '../../src/engine/ops.js';
import { parseSafetensors } from '../../src/engine/safetensors.js';
import { getEntry, type SRModel } from '../../src/models/registry.js';

/** `weights/<stem>.safetensors`, as in src/upscale/weights.ts: 'hpinet-m' ×4 → 'hpinet_m_x4'. */
export function weightsStem(model: string, scale: number): string {
  return `${model.toLowerCase().replace(/-/g, '_')}_x${scale}`;
}

const norm = (s: string) => s.trim().toLowerCase().replace(/_/g, '-');

function field(meta: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = meta[k];
    if (typeof v === 'string' && v.trim()) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/** Architecture and scale named by a card or metadata record (same keys as loadModel). */
function describe(meta: Record<string, unknown>): { architecture?: string; scale?: string } {
  const arch = field(meta, ['architecture', 'arch', 'model']);
  const variant = field(meta, ['variant']);
  return {
    architecture: arch && variant && !norm(arch).endsWith(`-${norm(variant)}`) ? `${arch}-${variant}` : arch,
    scale: field(meta, ['scale']),
  };
}

async function fetchBytes(url: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`no weights at ${url} (HTTP ${res.status}); this page serves lightsr's trained weights/<model>_x<scale>.safetensors only`);
  const total = Number(res.headers.get('Content-Length') ?? 0);
  if (!res.body || !onProgress) return new Uint8Array(await res.arrayBuffer());
  const parts: Uint8Array[] = [];
  let loaded = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

/** The card `<url>.json` if the server has one (a missing card is fine; a broken one is an error). */
async function fetchCard(url: string): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${url}.json`).catch(() => undefined);
  if (!res || !res.ok) return undefined;
  try {
    const json: unknown = await res.json();
    if (json && typeof json === 'object' && !Array.isArray(json)) return json as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new Error(`${url}.json: model card is not a JSON object`);
}

/** The network `name` ×`scale` in eval mode, with the weights at `url`. */
export async function loadModelFromUrl(
  ops: Ops, name: string, scale: number, url: string, onProgress?: (loaded: number, total: number) => void,
): Promise<SRModel> {
  const entry = getEntry(name);
  if (!entry.scales.includes(scale)) throw new Error(`${entry.name} has no ×${scale} model (available scales: ${entry.scales.join(', ')})`);
  const [bytes, card] = await Promise.all([fetchBytes(url, onProgress), fetchCard(url)]);
  const file = parseSafetensors(bytes, url);
  let said = card ? describe(card) : {};
  let from = `${url}.json`;
  if (!said.architecture && !said.scale) (said = describe(file.metadata)), (from = `${url} (metadata)`);
  if (said.architecture && norm(said.architecture) !== norm(entry.name)) {
    throw new Error(`${url} holds ${said.architecture} weights (per ${from}), not ${entry.name}`);
  }
  if (said.scale !== undefined && Number(said.scale) !== scale) {
    throw new Error(`${url} holds ${entry.name} ×${said.scale} weights (per ${from}), but ×${scale} was requested`);
  }
  const model = entry.create(ops, scale);
  try {
    model.loadStateDict(file.tensors);
  } catch (e) {
    model.dispose();
    throw new Error(`${url} does not fit ${entry.name} ×${scale}: ${(e as Error).message}`);
  }
  return model.eval() as SRModel;
}
