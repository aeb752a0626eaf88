import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Slow suites with their own commands: `npm run test:faults`.
    exclude: ['test/faults/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test files spend their time waiting (Postgres, child processes,
    // the collector, the browser), not computing: four files at once, whatever
    // the cores (the default, one fewer than the cores, runs them one by one
    // on a 2-core machine).
    maxWorkers: 4,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
