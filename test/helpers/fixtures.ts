// Test fixtures in ../shared, read in place: official weights, official outputs, and the MATLAB-made Set5 files.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const shared = path.resolve(repoRoot, '../shared');

export const SET5 = ['baby', 'bird', 'butterfly', 'head', 'woman'];

/** An official weights file converted to safetensors, e.g. 'imdn_x4.safetensors'. */
export const referenceWeights = (file: string) => path.join(shared, 'reference/weights', file);
/** The official models' outputs on Set5, one folder per model, e.g. 'imdn_x4'. */
export const outputsDir = path.join(shared, 'reference/outputs');
export const referenceOutputs = (model: string) => path.join(outputsDir, model);
/** Set5 HR image as MATLAB wrote it (BMP). */
export const set5Hr = (name: string) => path.join(shared, 'data/bench/Set5_matlab_lr/HR', `${name}.bmp`);
/** Set5 LR image ×`scale` made by MATLAB's imresize (BMP). */
export const set5Lr = (name: string, scale: number) =>
  path.join(shared, `data/bench/Set5_matlab_lr/LR_bicubic/X${scale}/${name}x${scale}.bmp`);

/** A raw little-endian float32 file (the official `*_chw_f32.bin` outputs). */
export function readF32(file: string): Float32Array {
  const buf = readFileSync(file);
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export interface ReferenceScores {
  [image: string]: { psnr_y: number; ssim_y: number };
}

/** `metrics.json` of an official outputs folder: per-image and `mean` scores. */
export const referenceScores = (model: string) =>
  JSON.parse(readFileSync(path.join(referenceOutputs(model), 'metrics.json'), 'utf8')) as ReferenceScores;
