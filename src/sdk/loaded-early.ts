import { createRequire, isBuiltin } from 'node:module';
import { sep } from 'node:path';

/**
 * The frameworks among `names` whose CommonJS module is already loaded: an
 * ES module app's static `import express from 'express'` runs before the
 * app's first line, so a `startAudit()` in that line comes too late to patch
 * it (a CommonJS package imported from ES modules is still in the require
 * cache). Built-in modules are not looked at.
 */
export function frameworksLoadedEarly(names: readonly string[], loaded: readonly string[] = Object.keys(createRequire(import.meta.url).cache)): string[] {
  const marks = names.filter((n) => !isBuiltin(n)).map((n) => [n, `${sep}node_modules${sep}${n.split('/').join(sep)}${sep}`] as const);
  return marks.filter(([, mark]) => loaded.some((file) => file.includes(mark))).map(([name]) => name);
}

const WARNED = Symbol.for('otel-audit.loaded-early-warned');
type Holder = { [WARNED]?: boolean };

/**
 * Warn once when a framework the SDK patches was loaded before the SDK
 * started: its requests would give no audit record, silently.
 */
export function warnFrameworksLoadedEarly(names: readonly string[], loaded?: readonly string[]): string[] {
  const early = frameworksLoadedEarly(names, loaded);
  const g = globalThis as Holder;
  if (early.length === 0 || g[WARNED]) return early;
  g[WARNED] = true;
  // On stderr, not through diag: a programmatic start has no diag logger
  // unless OTEL_LOG_LEVEL is set, and this must not be silent.
  process.stderr.write(
    `otel-audit: ${early.join(', ')} ${early.length === 1 ? 'was' : 'were'} loaded before startAudit(), so ${early.length === 1 ? 'its' : 'their'} requests are not audited. ` +
      'Start with `node --import otel-audit/register app.js`, or call startAudit() first and load the app after it (`await import(...)`, or `require(...)`).\n',
  );
  return early;
}
