// Usage: node --import ./test/helpers/ts-register.mjs some/file.ts
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
