// Weights over HTTP (browser-safe; also works with Node's fetch): the safetensors bytes, with download progress,
// and the JSON card at `<url>.json` when the server has one.
import type { WeightsBytes } from '../pipeline/core.js';

async function fetchBytes(url: string, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new Error(`no weights at ${url} (HTTP ${res.status})`);
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

/** The card's text if the server has one (a missing card is fine; a broken one fails when it is parsed). */
async function fetchCard(url: string): Promise<string | undefined> {
  const res = await fetch(`${url}.json`).catch(() => undefined);
  return res?.ok ? res.text() : undefined;
}

/** Safetensors weights (and card) from `url`, ready for `Pipeline.create`. */
export async function fetchWeights(url: string, onProgress?: (loaded: number, total: number) => void): Promise<WeightsBytes> {
  const [bytes, card] = await Promise.all([fetchBytes(url, onProgress), fetchCard(url)]);
  return card === undefined ? { bytes, name: url } : { bytes, name: url, card };
}
