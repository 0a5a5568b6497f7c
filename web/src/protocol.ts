// Messages between the page and the inference worker.
import type { TfjsKind } from '../../src/backends/tfjs/index.js';

/** Output size limit of the page (checked on pick and in the worker): the float result alone takes 12 bytes per output pixel. */
export const MAX_OUTPUT_PIXELS = 64e6;

/** 'auto' tries WebGPU, then WebGL, then wasm. */
export type BackendChoice = 'auto' | TfjsKind;

export interface UpscaleRequest {
  type: 'upscale';
  id: number;
  image: Blob;
  model: string;
  scale: number;
  /** Absolute URL of the safetensors file; its card is `<url>.json`. */
  weightsUrl: string;
  backend: BackendChoice;
  tile: number;
  tilePad: number;
  selfEnsemble: boolean;
  exact: boolean;
}

export type ToWorker = UpscaleRequest | { type: 'cancel'; id: number };

export interface BackendAttempt {
  kind: TfjsKind;
  /** Why it could not start (absent for the one that runs). */
  error?: string;
}

export type FromWorker =
  | { type: 'stage'; id: number; text: string }
  | { type: 'backend'; id: number; kind: TfjsKind; description: string; attempts: BackendAttempt[] }
  /** `eta`: estimated seconds left (NaN when unknown). */
  | { type: 'progress'; id: number; done: number; total: number; eta: number }
  /** A finished tile's part of the output (live preview; the final image replaces it), `width`×`height` RGBA at (x, y) of an `outWidth`×`outHeight` image. */
  | { type: 'preview'; id: number; outWidth: number; outHeight: number; x: number; y: number; width: number; height: number; data: Uint8ClampedArray<ArrayBuffer> }
  | {
      type: 'done';
      id: number;
      png: ArrayBuffer;
      width: number;
      height: number;
      outWidth: number;
      outHeight: number;
      /** Of the result: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (2 and 4 have transparency). */
      channels: number;
      tiles: number;
      /** Seconds: weights + network set-up (0 when cached), and the upscale itself (decode to PNG). */
      loadSeconds: number;
      runSeconds: number;
    }
  | { type: 'error'; id: number; message: string; cancelled?: boolean };
