import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Tests share 2 cores with libtorch's own thread pool: run files one at a time.
    fileParallelism: false,
  },
});
