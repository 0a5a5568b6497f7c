import { Command } from 'commander';
import { onFallback, parseBackend, resolveBackend } from '../engine/select.js';

// Each command lives in its own file and exports `register(program)`.
const commands = ['upscale', 'eval', 'train', 'info', 'models', 'convert', 'export'] as const;

export async function main(argv: string[]): Promise<void> {
  const program = new Command('lightsr')
    .description('Lightweight single-image super-resolution: IMDN, HPINet, SHSR, HFDN, RFDN, RDB+CA+ESA')
    .option('--backend <name>', 'engine backend: torch | tfjs | onnx | auto (default: $LIGHTSR_BACKEND, else auto; onnx: inference only)')
    .hook('preAction', (cmd) => {
      // --backend > LIGHTSR_BACKEND > auto, checked before any work; the commands read the result from the env.
      const flag = cmd.opts().backend as string | undefined;
      process.env.LIGHTSR_BACKEND = flag !== undefined ? parseBackend(flag, '--backend') : resolveBackend();
    });
  let warned = false;
  onFallback((reason) => {
    if (warned) return;
    warned = true;
    process.stderr.write(`lightsr: running on the slower tfjs backend: ${reason}\n`);
  });
  for (const name of commands) {
    const mod = (await import(`./${name}.js`)) as { register(p: Command): void };
    mod.register(program);
  }
  await program.parseAsync(argv);
}
