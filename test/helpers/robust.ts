// Runs one mutated image (see mutate.ts) through the library or the CLI and checks the invariants of issue 14:
// a clean one-line error naming the file or a valid output of twice the input size; no crash, no hang, no
// partial output, no temp file left, the input untouched. Returns what went wrong instead of asserting, so the
// vitest suite and `npm run fuzz` share it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Upscaler } from '../../src/upscale.js';
import type { Case } from './mutate.js';

/** Output pixels allowed (--max-pixels): a header that lies about the size cannot make a case slow. */
export const OUTPUT_LIMIT = 128 * 128;
/** Per-case bounds: in-process (the images are tiny) and for a CLI process (most of it is start-up). */
export const CASE_MS = 15_000;
export const CLI_MS = 60_000;
/** A refusal from the header alone (bombs) must be this quick. */
export const HEADER_MS = 5_000;

export interface Result {
  /** 'ok', or the kind of error (see errorClass). */
  outcome: string;
  message?: string;
  ms: number;
  /** Output width and height (when ok). */
  size?: [number, number];
  /** Broken invariants; empty when the case passed. */
  problems: string[];
}

/** A short name for an error message, for the outcome table. */
export function errorClass(msg: string): string {
  if (/the file is empty/.test(msg)) return 'error:empty';
  if (/not a supported image/.test(msg)) return 'error:not-image';
  if (/over the limit/.test(msg)) return 'error:limit';
  if (/too large for/.test(msg)) return 'error:format-limit';
  if (/corrupt or unsupported BMP/.test(msg)) return 'error:bad-bmp';
  if (/corrupt or truncated/.test(msg)) return 'error:corrupt';
  if (/has no image size/.test(msg)) return 'error:no-size';
  return 'error:other';
}

/** Errors JavaScript itself throws: a sign that bad input reached code that did not expect it. */
const BUG_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const isTemp = (name: string) => name.startsWith('.') && name.endsWith('.tmp');

/** The displayed size from the header, read independently of lightsr (BMP by hand, the rest by sharp). */
async function headerSize(b: Uint8Array): Promise<{ width: number; height: number } | null> {
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const core = dv.getUint32(14, true) === 12;
    return core
      ? { width: dv.getUint16(18, true), height: Math.abs(dv.getInt16(20, true)) }
      : { width: dv.getInt32(18, true), height: Math.abs(dv.getInt32(22, true)) };
  }
  try {
    const m = await sharp(b).metadata();
    const swap = (m.orientation ?? 1) >= 5 && (m.orientation ?? 1) <= 8;
    return swap ? { width: m.height!, height: m.width! } : { width: m.width!, height: m.height! };
  } catch {
    return null;
  }
}

/** The output decodes completely and is twice the input's header size; returns its size. */
async function checkOutput(c: Case, output: string, problems: string[]): Promise<[number, number] | undefined> {
  if (!existsSync(output)) {
    problems.push('reported success but wrote no output');
    return undefined;
  }
  try {
    const { info } = await sharp(output, { failOn: 'warning' }).raw().toBuffer({ resolveWithObject: true });
    const src = await headerSize(c.bytes);
    if (!src) problems.push(`upscaled an input whose header neither sharp nor a BMP reader can read`);
    else if (info.width !== 2 * src.width || info.height !== 2 * src.height) {
      problems.push(`output is ${info.width}×${info.height}, expected ${2 * src.width}×${2 * src.height} (input ${src.width}×${src.height})`);
    }
    return [info.width, info.height];
  } catch (err) {
    problems.push(`output does not decode: ${(err as Error).message}`);
    return undefined;
  }
}

/** After a case: nothing partial, no temp files, the input unchanged. */
function checkLeftovers(dir: string, input: string, output: string, before: string, ok: boolean, problems: string[]): void {
  if (!ok && existsSync(output)) problems.push('an output file was left after an error');
  const temps = readdirSync(dir).filter(isTemp);
  if (temps.length) problems.push(`temp files left: ${temps.join(', ')}`);
  if (sha(readFileSync(input)) !== before) problems.push('the input file was changed');
}

function paths(c: Case, dir: string) {
  return { input: path.join(dir, `case-${c.seed}-${c.index}${c.ext}`), output: path.join(dir, `case-${c.seed}-${c.index}.out${c.outExt}`) };
}

/** Remove a case's files when it passed (failed ones stay for inspection). */
function tidy(r: Result, ...files: string[]): Result {
  if (!r.problems.length) for (const f of files) rmSync(f, { force: true });
  return r;
}

function timeout(ms: number): { promise: Promise<never>; cancel: () => void } {
  let t: NodeJS.Timeout;
  const promise = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`TIMEOUT after ${ms} ms`)), ms)));
  return { promise, cancel: () => clearTimeout(t) };
}

/** `up.run(file or bytes, { output })` in this process; `up` must be an Upscaler ×2. */
export async function runLibrary(up: Upscaler, c: Case, dir: string, maxMs = CASE_MS): Promise<Result> {
  const { input, output } = paths(c, dir);
  writeFileSync(input, c.bytes);
  const before = sha(c.bytes);
  const bytes = c.viaBytes ? c.bytes.slice() : undefined;
  const name = bytes ? '<buffer>' : input;
  const problems: string[] = [];
  const t0 = performance.now();
  const limit = timeout(maxMs);
  let error: unknown;
  let result: Awaited<ReturnType<Upscaler['run']>> | undefined;
  try {
    result = await Promise.race([
      up.run(bytes ?? input, { output, maxPixels: c.defaultLimit ? undefined : OUTPUT_LIMIT, tile: c.tile, tilePad: c.tilePad }),
      limit.promise,
    ]);
  } catch (err) {
    error = err;
  } finally {
    limit.cancel();
  }
  const ms = performance.now() - t0;
  let outcome = 'ok';
  let message: string | undefined;
  let size: [number, number] | undefined;
  if (error !== undefined) {
    message = error instanceof Error ? error.message : String(error);
    outcome = errorClass(message);
    if (message.startsWith('TIMEOUT')) problems.push(`hang: no answer within ${maxMs} ms`);
    else if (!(error instanceof Error) || BUG_ERRORS.some((E) => error instanceof E)) problems.push(`threw a ${(error as Error)?.constructor?.name ?? typeof error}: ${message}`);
    if (message.includes('\n')) problems.push(`the error has several lines: ${JSON.stringify(message)}`);
    if (!message.includes(name) && !message.includes(output)) problems.push(`the error does not name the file: ${message}`);
  } else {
    if (result!.outWidth !== 2 * result!.width || result!.outHeight !== 2 * result!.height) problems.push(`result says ${result!.width}×${result!.height} → ${result!.outWidth}×${result!.outHeight}`);
    size = await checkOutput(c, output, problems);
  }
  if (c.kind === 'valid' && outcome !== 'ok') problems.push(`a valid image failed: ${message}`);
  if (c.defaultLimit && outcome === 'ok') problems.push('a huge declared size was upscaled');
  if (c.defaultLimit && ms > HEADER_MS) problems.push(`a huge declared size took ${ms.toFixed(0)} ms to refuse (header only expected)`);
  checkLeftovers(dir, input, output, before, outcome === 'ok', problems);
  if (bytes && sha(bytes) !== before) problems.push('the input buffer was changed');
  return tidy({ outcome, message, ms, size, problems }, input, output);
}

/** `node bin/lightsr.js upscale IN -o OUT -s 2 --weights W` as a child process. */
export async function runCliCase(c: Case, dir: string, bin: string, weights: string, maxMs = CLI_MS): Promise<Result> {
  const { input, output } = paths(c, dir);
  writeFileSync(input, c.bytes);
  const before = sha(c.bytes);
  const args = [
    bin, 'upscale', input, '-o', output, '-s', '2', '--weights', weights, '-t', String(c.tile), '--tile-pad', String(c.tilePad),
    ...(c.defaultLimit ? [] : ['--max-pixels', String(OUTPUT_LIMIT)]),
  ];
  const { code, signal, stdout, stderr, killed, ms } = await runProcess(args, maxMs);
  const problems: string[] = [];
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  let outcome = 'ok';
  let message: string | undefined;
  let size: [number, number] | undefined;
  if (killed) problems.push(`hang: killed after ${maxMs} ms`);
  else if (signal) problems.push(`crash: died of ${signal}`);
  else if (code !== 0 && code !== 1) problems.push(`exit code ${code} (0 or 1 expected)`);
  if (code === 0) {
    if (lines.length) problems.push(`exit 0 with stderr: ${lines.join(' | ')}`);
    size = await checkOutput(c, output, problems);
  } else {
    message = lines.join(' | ');
    outcome = errorClass(message);
    if (lines.length !== 1) problems.push(`stderr has ${lines.length} lines, one expected: ${message.slice(0, 500)}`);
    if (!lines[0]?.startsWith(`lightsr: ${input}: `)) problems.push(`the error does not start with 'lightsr: ${input}: ': ${lines[0]}`);
    if (lines.some((l) => /^\s+at\s/.test(l))) problems.push('a stack trace on stderr');
  }
  if (stdout !== '') problems.push(`unexpected stdout: ${stdout.slice(0, 200)}`);
  if (c.kind === 'valid' && outcome !== 'ok') problems.push(`a valid image failed: ${message}`);
  if (c.defaultLimit && outcome === 'ok') problems.push('a huge declared size was upscaled');
  checkLeftovers(dir, input, output, before, code === 0, problems);
  return tidy({ outcome, message, ms, size, problems }, input, output);
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by us after `maxMs`. */
  killed: boolean;
  ms: number;
}

/** `node ARGS`, killed (SIGKILL) after `maxMs`. */
export async function runProcess(args: string[], maxMs: number): Promise<ProcessResult> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  let killed = false;
  const timer = setTimeout(() => (killed = child.kill('SIGKILL')), maxMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (co, si) => resolve([co, si])));
  clearTimeout(timer);
  return { code, signal, stdout, stderr, killed, ms: performance.now() - t0 };
}

/** Outcome counts per format × kind, printable as a table. */
export class Tally {
  private readonly rows = new Map<string, Map<string, number>>();
  readonly outcomes = new Set<string>();

  add(c: Case, r: Result): void {
    const key = `${c.format}\t${c.kind}`;
    const row = this.rows.get(key) ?? new Map<string, number>();
    row.set(r.outcome, (row.get(r.outcome) ?? 0) + 1);
    this.rows.set(key, row);
    this.outcomes.add(r.outcome);
  }

  count(filter: (format: string, kind: string, outcome: string) => boolean = () => true): number {
    let n = 0;
    for (const [key, row] of this.rows) {
      const [f, k] = key.split('\t');
      for (const [o, m] of row) if (filter(f, k, o)) n += m;
    }
    return n;
  }

  table(): string {
    const cols = [...this.outcomes].sort((a, b) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a < b ? -1 : 1));
    const head = ['format', 'kind', 'cases', ...cols];
    const body = [...this.rows.keys()].sort().map((key) => {
      const row = this.rows.get(key)!;
      return [...key.split('\t'), String([...row.values()].reduce((a, b) => a + b, 0)), ...cols.map((o) => String(row.get(o) ?? ''))];
    });
    body.push(['all', '', String(this.count()), ...cols.map((o) => String(this.count((_f, _k, oo) => oo === o)))]);
    const width = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
    return [head, ...body].map((r) => r.map((v, i) => v.padEnd(width[i])).join('  ').trimEnd()).join('\n');
  }
}
