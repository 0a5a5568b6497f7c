// Browser image decoding to a RawImage, with the pixel values the CLI gets from sharp: EXIF orientation applied,
// no colour management, and straight (not premultiplied) alpha. A 2D canvas stores premultiplied colour, which
// loses precision where alpha is low, so images with transparency are read back through WebGL instead.
import type { RawImage } from '../image/types.js';

/** An RGBA buffer (a canvas's ImageData, or any `{width, height, data}`) as RGB when fully opaque, else RGBA. */
export function fromRgba(img: { width: number; height: number; data: Uint8Array | Uint8ClampedArray }): RawImage {
  const { width, height } = img;
  const rgba = new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  if (rgba.length !== width * height * 4) throw new Error(`expected ${width}×${height} RGBA pixels, got ${rgba.length} bytes`);
  if (!opaque(rgba)) return { width, height, channels: 4, bitDepth: 8, data: rgba };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { width, height, channels: 3, bitDepth: 8, data: rgb };
}

function opaque(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

/** Decode an image file with the browser's decoders (PNG, JPEG, WebP, GIF frame 1, BMP, AVIF). */
export async function decodeBlob(blob: Blob): Promise<RawImage> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new Error('cannot decode this file as an image (use PNG, JPEG, WebP, GIF, BMP or AVIF)');
  }
  try {
    const { width, height } = bmp;
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('this browser has no 2D canvas here');
    ctx.drawImage(bmp, 0, 0);
    const img = fromRgba(ctx.getImageData(0, 0, width, height));
    if (img.channels === 3) return img;
    const exact = straightRgba(bmp);
    return exact ? fromRgba({ width, height, data: exact }) : img;
  } finally {
    bmp.close();
  }
}

/** The bitmap's straight-alpha RGBA bytes via a WebGL2 texture (null where WebGL2 or the size is unavailable). */
function straightRgba(bmp: ImageBitmap): Uint8Array | null {
  const { width, height } = bmp;
  const gl = new OffscreenCanvas(width, height).getContext('webgl2', { premultipliedAlpha: false });
  if (!gl) return null;
  try {
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > max || height > max) return null;
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bmp);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return null;
    const out = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out); // row 0 = texture row 0 = image top
    return gl.getError() === gl.NO_ERROR ? out : null;
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}
