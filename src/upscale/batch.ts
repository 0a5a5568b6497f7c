// Which files to upscale and where each result goes: a single file, or a folder walked recursively with
// the output tree mirroring the input tree.
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';

export type CliFormat = 'png' | 'jpg' | 'webp';

/** Extensions read when walking a folder (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff'];
/** Extensions kept as they are when no format is forced; others (bmp, tiff) become .png. */
const WRITABLE = new Set(['.png', '.jpg', '.jpeg', '.webp']);

export interface Job {
  input: string;
  output: string;
  /** Another input of this batch that maps to the same output (e.g. a.bmp and a.png → a.png). */
  clash?: string;
}

export interface JobPlan {
  jobs: Job[];
  /** True when INPUT was a folder. */
  folder: boolean;
}

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

/** Output name for an input name: the forced format's extension, else the input's when writable, else .png. */
export function outputName(name: string, format?: CliFormat): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  if (format) return `${stem}.${format}`;
  return WRITABLE.has(ext.toLowerCase()) ? name : `${stem}.png`;
}

async function statOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** Plan the jobs for `lightsr upscale INPUT -o OUTPUT`. */
export async function planJobs(input: string, output: string, format?: CliFormat): Promise<JobPlan> {
  const st = await statOrNull(input);
  if (!st) throw new Error(`input '${input}' not found`);
  if (st.isFile()) {
    const out = await statOrNull(output);
    const toFolder = out?.isDirectory() || /[\\/]$/.test(output);
    return { folder: false, jobs: [{ input, output: toFolder ? path.join(output, outputName(path.basename(input), format)) : output }] };
  }
  if (!st.isDirectory()) throw new Error(`input '${input}' is neither a file nor a folder`);
  const out = await statOrNull(output);
  if (out && !out.isDirectory()) throw new Error(`output '${output}' must be a folder when the input is a folder`);

  const outRoot = path.resolve(output);
  const inRoot = path.resolve(input);
  // An output folder nested inside the input folder holds results, not inputs.
  const skipDir = (p: string) => outRoot !== inRoot && inside(outRoot, inRoot) && inside(path.resolve(p), outRoot);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fsp.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // hidden files, and temp files of interrupted writes
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!skipDir(p)) await walk(p);
      } else if (e.isFile() && isImage(e.name)) files.push(p);
    }
  };
  await walk(input);
  const seen = new Map<string, string>();
  const jobs = files.map((f): Job => {
    const job: Job = { input: f, output: path.join(output, outputName(path.relative(input, f), format)) };
    const first = seen.get(job.output);
    if (first) job.clash = first;
    else seen.set(job.output, f);
    return job;
  });
  return { folder: true, jobs };
}
