// Image types shared by I/O, resampling, metrics, tiling and training.

/** Decoded pixels, interleaved HWC, as stored in the file (8- or 16-bit). */
export interface RawImage {
  width: number;
  height: number;
  /** 1 = gray, 2 = gray+alpha, 3 = RGB, 4 = RGBA */
  channels: 1 | 2 | 3 | 4;
  bitDepth: 8 | 16;
  data: Uint8Array | Uint16Array;
}

/** Planar float image CHW (what networks consume), values in [0,1] unless stated. */
export interface PlanarImage {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}
