import { diag } from '@opentelemetry/api';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import * as nodeModule from 'node:module';

/** Modules the instrumentations patch; only these go through the ESM loader hook. */
export const INSTRUMENTED_MODULES = ['http', 'https', 'express', 'fastify', 'koa', 'hono', '@hapi/hapi', 'restify', '@nestjs/core'];

const KEY = Symbol.for('otel-audit.esm-hooks');
type Holder = { [KEY]?: boolean };

/**
 * Register the instrumentation loader hook for ES modules. Without it, an
 * ESM app's `import express from 'express'` is never patched (the
 * require-based patching only sees CommonJS). Uses Node's synchronous
 * in-thread hooks where they work, else `module.register` on the loader
 * thread. Must run before the SDK starts; runs once per process.
 */
export function registerEsmHooks(): void {
  const g = globalThis as Holder;
  if (g[KEY]) return;
  g[KEY] = true;
  if (supportsSyncHooks()) {
    registerSyncHooks({ include: INSTRUMENTED_MODULES });
    keepBuiltinsBuiltin();
    return;
  }
  if (typeof nodeModule.register !== 'function') {
    diag.warn('otel-audit: this Node.js cannot register loader hooks; ES module apps will not be instrumented');
    return;
  }
  const { registerOptions } = createAddHookMessageChannel();
  nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
}

/** A built-in module's URL as resolution returns it: `node:` and a name, nothing after. */
const BUILTIN_URL = /^node:[a-z_/]+$/;

/**
 * Keep every `node:` URL loading as a built-in module. When code runs without a
 * file of its own (`node -e`, `node -p`, a script on stdin, a worker given
 * source), the require of a built-in has no parent URL, and the loader hook
 * above then names its format `commonjs`; Node would read a file named after
 * the module (`ENOENT: open 'module'`) and the host would exit before running a
 * line. This hook runs first (the last one registered does) and restores the
 * built-in format. Wrapped ES module URLs carry a query and are left alone.
 */
function keepBuiltinsBuiltin(): void {
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (result.format !== 'builtin' && BUILTIN_URL.test(result.url)) return { ...result, format: 'builtin' };
      return result;
    },
  });
}
