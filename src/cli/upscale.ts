import type { Command } from 'commander';

// Placeholder until the 'upscale' command lands.
export function register(program: Command): void {
  program.command('upscale').description('(upscale: not implemented yet)').action(() => {
    throw new Error('upscale is not implemented yet');
  });
}
