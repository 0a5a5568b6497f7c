import { Command } from 'commander';

// Each command lives in its own file and exports `register(program)`.
const commands = ['upscale', 'eval', 'train', 'info', 'models', 'convert'] as const;

export async function main(argv: string[]): Promise<void> {
  const program = new Command('lightsr')
    .description('Lightweight single-image super-resolution: IMDN, HPINet, SHSR, HFDN, RFDN, RDB+CA+ESA')
    .option('--backend <name>', 'engine backend: torch | tfjs | auto', 'auto')
    .hook('preAction', (cmd) => {
      const b = cmd.opts().backend as string;
      if (b) process.env.LIGHTSR_BACKEND = b;
    });
  for (const name of commands) {
    const mod = (await import(`./${name}.js`)) as { register(p: Command): void };
    mod.register(program);
  }
  await program.parseAsync(argv);
}
