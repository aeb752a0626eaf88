import { defineConfig } from 'tsup';

// Two builds from one source: ESM (`import`) and CommonJS (`require`), so that
// `--import otel-audit/register` and `--require otel-audit/register` both work.
// Shared state between the two copies lives on globalThis (see src/sdk/global.ts).
export default defineConfig({
  entry: ['src/index.ts', 'src/register.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  outDir: 'dist',
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.js' }),
  target: 'node22',
  platform: 'node',
  sourcemap: true,
  shims: true,
  splitting: false,
  clean: false,
  dts: false,
});
