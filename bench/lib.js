// Helpers shared by the bench/*.bench.js scripts (this file is not a benchmark itself).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** The word after `--name` on the command line, else `dflt`. */
export function strArg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** The number after `--name` on the command line, else `dflt`. */
export function numArg(name, dflt) {
  const s = strArg(name, undefined);
  return s === undefined ? dflt : Number(s);
}

/** The median (the upper one of the middle two for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A PyTorch baseline run as a server under /usr/bin/python3: it prints one JSON line about itself (`info`),
 * then answers each request line with one line, so that our runs and its runs can alternate.
 */
export async function pythonServer(script, args = []) {
  const name = `bench/${path.basename(script)}`;
  // Same OpenMP wait policy as lightsr (which sets PASSIVE unless told otherwise), so that neither side's idle
  // threads spin on the cores while the other side runs.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const py = spawn('/usr/bin/python3', [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = readline.createInterface({ input: py.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`${name} stopped (see its error above)`);
    return value;
  };
  const info = JSON.parse(await next());
  return {
    info,
    /** Send one request line; resolves to the reply line. */
    ask: async (line) => {
      py.stdin.write(`${line}\n`);
      return next();
    },
    close: () => py.stdin.end(),
  };
}

/** The image files (PNG, BMP) of a folder, sorted by name. */
export const imageFiles = (dir) => readdirSync(dir).filter((n) => /\.(png|bmp)$/i.test(n)).sort();

/** Wall and process CPU milliseconds of `await run()`, and the mean of the image it returns (to cross-check). */
export async function timedMean(run) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = await run();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  let sum = 0;
  for (const v of out.data) sum += v;
  return { ms, cpu: (c.user + c.system) / 1000, mean: sum / out.data.length };
}

/**
 * One warm-up of each side (output means must agree within 1e-4), then `repeat` alternating runs (ours, theirs,
 * ours, …) so that load from other processes hits both alike. Each side returns {ms, cpu, mean}; resolves to the
 * medians {ours, ref, oursCpu, refCpu}.
 */
export async function alternate(label, ours, theirs, repeat) {
  const [a, b] = [await ours(), await theirs()];
  if (Math.abs(a.mean - b.mean) > 1e-4) throw new Error(`${label}: outputs differ (mean ${a.mean} vs PyTorch ${b.mean})`);
  const o = [];
  const p = [];
  for (let r = 0; r < repeat; r++) {
    o.push(await ours());
    p.push(await theirs());
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  return { ours: med(o, 'ms'), ref: med(p, 'ms'), oursCpu: med(o, 'cpu'), refCpu: med(p, 'cpu') };
}
