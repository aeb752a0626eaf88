// Builds dist/: ESM (`import`) and CommonJS (`require`) bundles of the
// package entries, so that `--import otel-audit/register` and
// `--require otel-audit/register` both work. Dependencies stay external.
// The two copies share their state through globalThis (see src/sdk/global.ts).
import { chmodSync, copyFileSync } from 'node:fs';
import { build } from 'esbuild';

// The register entry is a version check that loads register-start (the SDK)
// only on a Node.js it supports; its CommonJS twin is register-cjs.ts.
const shared = ['src/index.ts', 'src/register-start.ts', 'src/cli.ts'];
// The outbox relay (startRelay) and the Postgres driver it needs load on
// its first call: the entries keep `import('./relay/relay.js')` as it is,
// and the relay is an ESM entry of its own, dist/relay/relay.js.
const lazyRelay = {
  name: 'lazy-relay',
  setup(b) {
    b.onResolve({ filter: /^\.\/relay\.js$/ }, (args) =>
      args.importer.endsWith('start-relay.ts') ? { path: './relay/relay.js', external: true } : undefined,
    );
  },
};
const common = {
  plugins: [lazyRelay],
  bundle: true,
  platform: 'node',
  target: 'node22',
  packages: 'external',
  sourcemap: true,
  outdir: 'dist',
  logLevel: 'warning',
};

await build({ ...common, entryPoints: [...shared, 'src/register.ts', 'src/relay/relay.ts'], format: 'esm', outExtension: { '.js': '.js' } });
// The command line runs as a program (`otel-audit`, the package's bin).
chmodSync('dist/cli.js', 0o755);
await build({
  ...common,
  entryPoints: [...shared, { in: 'src/register-cjs.ts', out: 'register' }],
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // CommonJS has no import.meta: give it the file URL of the bundle itself.
  define: { 'import.meta.url': '__otelAuditImportMetaUrl' },
  banner: { js: "const __otelAuditImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The audit viewer (otel-audit serve): one script for the browser, with its
// page and style sheet, into dist/viewer. Nothing is fetched at run time.
await build({
  entryPoints: ['src/serve/viewer/viewer.ts'],
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  sourcemap: true,
  outfile: 'dist/viewer/viewer.js',
  logLevel: 'warning',
});
for (const file of ['index.html', 'viewer.css']) copyFileSync(`src/serve/viewer/${file}`, `dist/viewer/${file}`);

// The browser entry (otel-audit/browser), for a web app's own bundler:
// ES module for browsers, its OpenTelemetry packages left to the app.
await build({
  entryPoints: ['src/browser/index.ts'],
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  outfile: 'dist/browser/index.js',
  logLevel: 'warning',
});
