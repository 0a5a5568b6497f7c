// The whole `lightsr` CLI from the TypeScript sources, as bin/lightsr.js runs dist/: for child-process tests
// (node --import ./test/helpers/ts-register.mjs test/helpers/main-cli.ts ARGS).
import { main } from '../../src/cli/main.js';

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`lightsr: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
