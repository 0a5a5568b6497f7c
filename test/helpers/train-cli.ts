// `lightsr train` alone (the other commands are not loaded), for child-process tests run from the TS sources.
import { Command } from 'commander';
import { register } from '../../src/cli/train.js';

const program = new Command('lightsr');
register(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`lightsr: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
