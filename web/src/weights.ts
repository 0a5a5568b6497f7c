// Fetch a network's safetensors weights over HTTP and build the network: the browser twin of loadModel
// (src/models/load.ts, which reads files with node:fs), with the same checks (src/models/card.ts): the `.json`
// card next to the file, else the safetensors metadata, must not contradict the requested architecture and
// scale; then exact name/shape checks.
import type { Ops } from '../../src/engine/ops.js';
import { parseSafetensors } from '../../src/engine/safetensors.js';
import { buildModel, checkCard, parseCard, pickCard } from '../../src/models/card.js';
import { getEntry, type SRModel } from '../../src/models/registry.js';

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
  return parseCard(await res.text(), `${url}.json`);
}

/** The network `name` ×`scale` in eval mode, with the weights at `url`. */
export async function loadModelFromUrl(
  ops: Ops, name: string, scale: number, url: string, onProgress?: (loaded: number, total: number) => void,
): Promise<SRModel> {
  const entry = getEntry(name, scale);
  const [bytes, card] = await Promise.all([fetchBytes(url, onProgress), fetchCard(url)]);
  const file = parseSafetensors(bytes, url);
  checkCard(pickCard(card, `${url}.json`, file.metadata, `${url} (metadata)`), url, entry.name, scale);
  return buildModel(ops, entry, scale, file.tensors, url);
}
