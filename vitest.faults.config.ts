import { defineConfig } from 'vitest/config';

// `npm run test:faults`: one fault at a time (one of them restarts Postgres).
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 10 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
