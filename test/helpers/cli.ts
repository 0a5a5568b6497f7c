// Run a lightsr command in-process, as bin/lightsr.js would: commander with the command registered (as
// src/cli/main.ts does), stdout and stderr captured, an error reported as `lightsr: <message>` and exit code 1.
import { Command } from 'commander';
import { vi } from 'vitest';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The error the command threw, if any. */
  error?: Error;
}

/** `lightsr ARGS` (ARGS starts with the command's name) with `env` set for the duration of the call. */
export async function runCli(register: (program: Command) => void, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const prevCode = process.exitCode;
  process.exitCode = undefined;
  const run: CliRun = { code: 0, stdout: '', stderr: '' };
  try {
    const program = new Command('lightsr').exitOverride();
    register(program);
    await program.parseAsync(['node', 'lightsr', ...args]);
    run.code = Number(process.exitCode ?? 0);
  } catch (e) {
    run.error = e as Error;
    stderr += `lightsr: ${run.error.message}\n`;
    run.code = 1;
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.exitCode = prevCode;
  }
  return { ...run, stdout, stderr };
}

/** The stdout of `lightsr ARGS`; rejects with the command's own error when it fails. */
export async function cliOutput(register: (program: Command) => void, args: string[]): Promise<string> {
  const r = await runCli(register, args);
  if (r.error) throw r.error;
  return r.stdout;
}
