import type { Command } from 'commander';

// Placeholder until the 'train' command lands.
export function register(program: Command): void {
  program.command('train').description('(train: not implemented yet)').action(() => {
    throw new Error('train is not implemented yet');
  });
}
