import type { Command } from 'commander';

// Placeholder until the 'models' command lands.
export function register(program: Command): void {
  program.command('models').description('(models: not implemented yet)').action(() => {
    throw new Error('models is not implemented yet');
  });
}
