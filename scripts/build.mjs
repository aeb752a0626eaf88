// Builds dist/: ESM (`import`) and CommonJS (`require`) bundles of the
// package entries, so that `--import otel-audit/register` and
// `--require otel-audit/register` both work. Dependencies stay external.
// The two copies share their state through globalThis (see src/sdk/global.ts).
import { build } from 'esbuild';

const entryPoints = ['src/index.ts', 'src/register.ts', 'src/cli.ts'];
const common = {
  entryPoints,
  bundle: true,
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: true,
  outdir: 'dist',
  logLevel: 'warning',
};

await build({ ...common, format: 'esm', outExtension: { '.js': '.js' } });
await build({
  ...common,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // CommonJS has no import.meta: give it the file URL of the bundle itself.
  define: { 'import.meta.url': '__otelAuditImportMetaUrl' },
  banner: { js: "const __otelAuditImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
