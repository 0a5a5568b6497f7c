// Helpers shared by the bench/*.bench.js scripts (this file is not a benchmark itself).
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

/** The number after `--name` on the command line, else `dflt`. */
export function numArg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** The median (the upper one of the middle two for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A PyTorch baseline run as a server under /usr/bin/python3: it prints one JSON line about itself (`info`),
 * then answers each request line with one line, so that our runs and its runs can alternate.
 */
export async function pythonServer(script, args = []) {
  const name = `bench/${path.basename(script)}`;
  const py = spawn('/usr/bin/python3', [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
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
