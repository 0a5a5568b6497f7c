import type { Command } from 'commander';

// Placeholder until the 'info' command lands.
export function register(program: Command): void {
  program.command('info').description('(info: not implemented yet)').action(() => {
    throw new Error('info is not implemented yet');
  });
}
