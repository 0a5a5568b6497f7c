// Output formats of the page's downloads, and a zip of several results.
//
// PNG is the worker's own encoding (exactly the computed pixels, straight alpha). WebP and JPEG are encoded by
// the browser from that PNG through an OffscreenCanvas (convertToBlob with a quality). WebP keeps alpha (the
// canvas stores premultiplied colour, so colour under nearly transparent pixels may shift a little, on top of
// the lossy coding). JPEG has no alpha: transparent pixels are flattened onto white.
import { crc32 } from '../../src/io/crc32.js';

export type Format = 'png' | 'webp' | 'jpeg';

export const FORMATS: Record<Format, { mime: string; ext: string; label: string; alpha: boolean; lossy: boolean }> = {
  png: { mime: 'image/png', ext: 'png', label: 'PNG', alpha: true, lossy: false },
  webp: { mime: 'image/webp', ext: 'webp', label: 'WebP', alpha: true, lossy: true },
  jpeg: { mime: 'image/jpeg', ext: 'jpg', label: 'JPEG', alpha: false, lossy: true },
};

/** `png` (the worker's PNG) in `format`; `quality` in [0, 1] for the lossy ones. */
export async function encodeAs(png: Blob, format: Format, quality: number): Promise<Blob> {
  if (format === 'png') return png;
  const { mime, label } = FORMATS[format];
  const bmp = await createImageBitmap(png, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  try {
    const canvas = new OffscreenCanvas(bmp.width, bmp.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('this browser has no 2D canvas here');
    if (format === 'jpeg') {
      ctx.fillStyle = '#fff'; // JPEG has no alpha: flatten on white
      ctx.fillRect(0, 0, bmp.width, bmp.height);
    }
    ctx.drawImage(bmp, 0, 0);
    const blob = await canvas.convertToBlob({ type: mime, quality });
    // Browsers fall back to PNG for a type they cannot encode.
    if (blob.type !== mime) throw new Error(`this browser cannot encode ${label} (it gave ${blob.type || 'an unknown type'})`);
    return blob;
  } finally {
    bmp.close();
  }
}

/** `<input name without extension>_<model>_x<scale>.<ext>`. */
export function outputName(inputName: string, model: string, scale: number, format: Format): string {
  const base = inputName.replace(/\.[^.]*$/, '') || 'image';
  return `${base}_${model}_x${scale}.${FORMATS[format].ext}`;
}

/**
 * A zip archive (stored, not compressed: the images are compressed already) of `files`. Names are UTF-8;
 * a repeated name gets ` (2)`, ` (3)`… before its extension.
 */
export async function zip(files: { name: string; blob: Blob }[], date = new Date()): Promise<Blob> {
  const enc = new TextEncoder();
  const used = new Set<string>();
  const unique = (name: string) => {
    let n = name;
    for (let k = 2; used.has(n); k++) n = name.replace(/(\.[^.]*)?$/, (ext) => ` (${k})${ext}`);
    used.add(n);
    return n;
  };
  const dosTime = (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1);
  const dosDate = (Math.max(0, date.getFullYear() - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate();
  const parts: BlobPart[] = [];
  const central: Uint8Array<ArrayBuffer>[] = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(unique(f.name));
    const data = new Uint8Array(await f.blob.arrayBuffer());
    if (offset + data.length > 0xfffffffe) throw new Error('the results are too large for one zip file (4 GB): download them one by one');
    const crc = crc32(data);
    // Local file header.
    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true); // version needed: 2.0
    l.setUint16(6, 0x0800, true); // flags: UTF-8 names
    l.setUint16(8, 0, true); // method: stored
    l.setUint16(10, dosTime, true);
    l.setUint16(12, dosDate, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, data.length, true);
    l.setUint32(22, data.length, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);
    // Central directory entry.
    const cd = new Uint8Array(46 + name.length);
    const c = new DataView(cd.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true); // made by: 2.0
    c.setUint16(6, 20, true);
    c.setUint16(8, 0x0800, true);
    c.setUint16(10, 0, true);
    c.setUint16(12, dosTime, true);
    c.setUint16(14, dosDate, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, data.length, true);
    c.setUint32(24, data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true); // where the local header is
    cd.set(name, 46);
    parts.push(local, data);
    central.push(cd);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((n, e) => n + e.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, files.length, true);
  e.setUint16(10, files.length, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end], { type: 'application/zip' });
}
