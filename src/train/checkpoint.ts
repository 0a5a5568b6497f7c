// Training checkpoints: ONE safetensors file holding the weights (`model.*`), the EMA weights (`ema.*`) and the
// optimiser state (`optim.*`), with everything else (iteration, schedule, engine and data RNG, best scores, the
// run's configuration) as JSON in `__metadata__["lightsr.train"]`. One file means one atomic rename:
// a checkpoint is either the old one or the new one, never a mix.
import fs from 'node:fs';
import type { DType, Tensor, TrainOps } from '../engine/ops.js';
import { type HostTensor, NonFiniteWeightsError, type StateDict } from '../engine/host.js';
import { readSafetensorsSync, writeSafetensorsSync } from '../engine/safetensors.js';
import { OptionError } from '../option-error.js';

export const CHECKPOINT_VERSION = 1;

export interface BestScore {
  psnr: number;
  ssim: number;
  iteration: number;
}

export interface TrainState {
  version: number;
  /** Optimiser steps taken so far. */
  iteration: number;
  /** Position of the next batch (epoch 0-based, iteration within the epoch). */
  epoch: number;
  iterInEpoch: number;
  /** Data pipeline RNG state: batches are a pure function of (seed, epoch, iterInEpoch). */
  data: { seed: number; epoch: number; iterInEpoch: number };
  /** Engine generator state (base64), e.g. for Gumbel noise in HPINet training. */
  engineRng: string;
  lr: number;
  ema: { decay: number; updates: number } | null;
  best: BestScore | null;
  bestEma: BestScore | null;
  /** Last validation, if any. */
  lastVal: { iteration: number; psnr: number; ssim: number; psnrEma?: number; ssimEma?: number } | null;
  /** Seconds spent training (all sessions together). */
  wallSeconds: number;
  /** Optimiser tensors' dtypes (stored as F32 in the file). */
  optimDtypes: Record<string, DType>;
  /** The run's resolved configuration. */
  config: Record<string, unknown>;
}

export interface CheckpointData {
  state: TrainState;
  model: StateDict;
  ema: StateDict | null;
  optim: Map<string, HostTensor>;
}

const META_KEY = 'lightsr.train';

/** Copy an optimiser's state to host memory (int tensors become float, dtypes remembered). */
export function optimizerToHost(o: TrainOps, state: Map<string, Tensor>): { tensors: Map<string, HostTensor>; dtypes: Record<string, DType> } {
  const tensors = new Map<string, HostTensor>();
  const dtypes: Record<string, DType> = {};
  for (const [k, t] of state) {
    const v = o.readSync(t);
    tensors.set(k, { shape: [...t.shape], data: v instanceof Float32Array ? v : Float32Array.from(v) });
    dtypes[k] = t.dtype;
    o.dispose(t);
  }
  return { tensors, dtypes };
}

/** Host optimiser state → engine tensors for Optimizer.loadStateDict (caller disposes them). */
export function optimizerFromHost(o: TrainOps, tensors: Map<string, HostTensor>, dtypes: Record<string, DType>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [k, h] of tensors) {
    const dt = dtypes[k] ?? 'float32';
    out.set(k, dt === 'float32' ? o.tensor(h.data, h.shape) : o.intTensor(Int32Array.from(h.data), h.shape));
  }
  return out;
}

export function saveCheckpoint(file: string, c: CheckpointData): void {
  const sd: StateDict = new Map();
  for (const [k, t] of c.model) sd.set(`model.${k}`, t);
  if (c.ema) for (const [k, t] of c.ema) sd.set(`ema.${k}`, t);
  for (const [k, t] of c.optim) sd.set(`optim.${k}`, t);
  writeSafetensorsSync(file, sd, { format: 'lightsr-train-checkpoint', [META_KEY]: JSON.stringify(c.state) });
}

export function loadCheckpoint(file: string): CheckpointData {
  if (!fs.existsSync(file)) throw new Error(`no checkpoint to resume from: ${file} does not exist`);
  let read;
  try {
    read = readSafetensorsSync(file);
  } catch (e) {
    if (!(e instanceof NonFiniteWeightsError)) throw e;
    throw new OptionError('lr', `cannot resume: ${e.message}; start the run again with a lower learning rate (or from good weights)`);
  }
  const { tensors, metadata } = read;
  const raw = metadata[META_KEY];
  if (!raw) throw new Error(`${file} is not a lightsr training checkpoint (no "${META_KEY}" metadata)`);
  let state: TrainState;
  try {
    state = JSON.parse(raw) as TrainState;
  } catch (e) {
    throw new Error(`${file}: checkpoint state is not valid JSON (${(e as Error).message})`);
  }
  if (state.version !== CHECKPOINT_VERSION) throw new Error(`${file}: checkpoint version ${state.version} is not supported (expected ${CHECKPOINT_VERSION})`);
  const model: StateDict = new Map();
  const ema: StateDict = new Map();
  const optim = new Map<string, HostTensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith('model.')) model.set(k.slice(6), t);
    else if (k.startsWith('ema.')) ema.set(k.slice(4), t);
    else if (k.startsWith('optim.')) optim.set(k.slice(6), t);
  }
  return { state, model, ema: state.ema ? ema : null, optim };
}

export const encodeBytes = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
export const decodeBytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
