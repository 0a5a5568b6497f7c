import type { Command } from 'commander';

// Placeholder until the 'convert' command lands.
export function register(program: Command): void {
  program.command('convert').description('(convert: not implemented yet)').action(() => {
    throw new Error('convert is not implemented yet');
  });
}
