import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/app-process.js';
import { REPO } from '../helpers/processes.js';

const run = promisify(execFile);

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0).reverse()) fn();
});

/** Packages only the sink, the database and the commands use. */
const NOT_IN_THE_SDK = /\/node_modules\/(?:pg|pg-[a-z-]+|@electric-sql\/pglite|prom-client|pino|pino-[a-z-]+|protobufjs)\//;
/** This package's entries other than the register hook. */
const OTHER_ENTRIES = new RegExp(`^${pathToFileURL(join(REPO, 'dist')).href}/(?:cli|index)\\.c?js$`);
/** Source directories the SDK never needs. */
const NOT_SDK_SOURCES = /(?:^|\/)src\/(?:sink|db|compliance|cli|demo)\//;

/** A throwaway directory with the file the child writes its module list to. */
function outFile(): string {
  const dir = tempDir('register-modules');
  cleanup.push(dir.remove);
  return join(dir.path, 'loaded.txt');
}

async function runNode(args: string[], out: string): Promise<string[]> {
  await run(process.execPath, args, {
    cwd: REPO,
    env: {
      PATH: process.env['PATH'] ?? '',
      OTEL_SERVICE_NAME: 'modules-test',
      // Nothing listens there: start-up only.
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'none',
      OTEL_AUDIT_SPOOL_DIR: join(out, '..', 'spool'),
    },
    timeout: 30_000,
  });
  return readFileSync(out, 'utf8').split('\n').filter(Boolean);
}

/** Every module (ES and CommonJS) that `--import ./dist/register.js` loads, as URLs, seen by a module loader hook. */
async function loadedByImport(): Promise<string[]> {
  const out = outFile();
  const hook = join(out, '..', 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, seen.join('\\n')));
`,
  );
  return runNode(['--import', hook, '--import', './dist/register.js', '-e', 'setTimeout(() => {}, 50)'], out);
}

/** Every CommonJS module that `--require ./dist/register.cjs` loads (the whole SDK is CommonJS then), as file URLs. */
async function loadedByRequire(): Promise<string[]> {
  const out = outFile();
  // A script file, not -e: import-in-the-middle's loader hook cannot load builtins for -e code.
  const script = join(out, '..', 'app.cjs');
  writeFileSync(
    script,
    `setTimeout(() => require('node:fs').writeFileSync(${JSON.stringify(out)}, Object.keys(require.cache).map((f) => require('node:url').pathToFileURL(f).href).join('\\n')), 50);\n`,
  );
  return runNode(['--require', './dist/register.cjs', script], out);
}

describe('the register hook loads the SDK and nothing of the sink, database, compliance or commands (nor what the app does not use)', () => {
  for (const [name, loadedBy, entry] of [
    ['--import', loadedByImport, 'dist/register.js'],
    ['--require', loadedByRequire, 'dist/register.cjs'],
  ] as const) {
    it(`${name} ${entry}`, async () => {
      const loaded = await loadedBy();
      // The hook saw the entry itself and the OpenTelemetry SDK: it did record loads.
      expect(loaded.some((u) => u.endsWith(entry))).toBe(true);
      expect(loaded.some((u) => u.includes('/node_modules/@opentelemetry/sdk-node/'))).toBe(true);
      expect(loaded.filter((u) => NOT_IN_THE_SDK.test(u))).toEqual([]);
      expect(loaded.filter((u) => OTHER_ENTRIES.test(u))).toEqual([]);
      // Loaded when the app loads fastify (koa), not before.
      expect(loaded.filter((u) => u.includes('/node_modules/@fastify/otel/'))).toEqual([]);
      expect(loaded.filter((u) => u.includes('/node_modules/@opentelemetry/instrumentation-koa/'))).toEqual([]);
      expect(loaded.filter((u) => /\/node_modules\/@opentelemetry\/instrumentation-(?:hapi|nestjs-core)\//.test(u))).toEqual([]);
    });
  }

  it('the register bundles are built from SDK sources only', () => {
    for (const [map, source] of [
      ['dist/register.js.map', 'src/register.ts'],
      ['dist/register.cjs.map', 'src/register-cjs.ts'],
      ['dist/register-start.js.map', 'src/register-start.ts'],
      ['dist/register-start.cjs.map', 'src/register-start.ts'],
    ] as const) {
      const sources = (JSON.parse(readFileSync(join(REPO, map), 'utf8')) as { sources: string[] }).sources;
      expect(sources.some((s) => s.endsWith(source))).toBe(true);
      expect(sources.filter((s) => NOT_SDK_SOURCES.test(s))).toEqual([]);
    }
  });
});
