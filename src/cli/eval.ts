import type { Command } from 'commander';

// Placeholder until the 'eval' command lands.
export function register(program: Command): void {
  program.command('eval').description('(eval: not implemented yet)').action(() => {
    throw new Error('eval is not implemented yet');
  });
}
