// Trained weights are written as <name>.safetensors with the model card twice: the short keys that
// src/models/load.ts checks (`architecture`, `scale`) in the safetensors __metadata__, and the full card as a
// JSON sidecar `<name>.safetensors.json` (which load.ts reads first).
import fs from 'node:fs';
import os from 'node:os';
import type { StateDict } from '../engine/host.js';
import { writeSafetensorsSync } from '../engine/safetensors.js';

export interface ModelCard {
  format: 'lightsr-weights';
  architecture: string;
  scale: number;
  /** 'model' = raw weights, 'ema' = exponential moving average. */
  weights: 'model' | 'ema';
  params: number;
  iteration: number;
  epoch: number;
  wall_seconds: number;
  created: string;
  data: Record<string, unknown>;
  recipe: Record<string, unknown>;
  validation: { dataset: string; iteration: number; psnr: number; ssim: number; protocol: string } | null;
  hardware: { cpu: string; cores: number; threads: number; backend: string; platform: string };
  lightsr: string;
}

export function hardwareInfo(backend: string, threads: number): ModelCard['hardware'] {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model?.trim() ?? 'unknown', cores: cpus.length, threads, backend, platform: `${os.platform()} ${os.arch()}, Node ${process.version}` };
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Write weights + card (sidecar first, so a reader never sees new weights with an old card's scale). */
export function writeWeights(file: string, sd: StateDict, card: ModelCard): void {
  writeJsonAtomic(`${file}.json`, card);
  writeSafetensorsSync(file, sd, {
    format: 'lightsr-weights',
    architecture: card.architecture,
    scale: String(card.scale),
    weights: card.weights,
    iteration: String(card.iteration),
    ...(card.validation ? { val_psnr: card.validation.psnr.toFixed(4), val_dataset: card.validation.dataset } : {}),
  });
}

export { writeJsonAtomic };
