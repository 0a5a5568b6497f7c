// The file name of a default weights file (browser-safe: the web page fetches weights/<stem>.safetensors).

/** Registry name and scale → file stem, e.g. 'hpinet-m' ×4 → 'hpinet_m_x4'. */
export function weightsStem(model: string, scale: number): string {
  return `${model.toLowerCase().replace(/-/g, '_')}_x${scale}`;
}
