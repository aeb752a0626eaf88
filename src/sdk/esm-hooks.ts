import { diag } from '@opentelemetry/api';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { register as registerSyncHooks, supportsSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import * as nodeModule from 'node:module';

/** Modules the instrumentations patch; only these go through the ESM loader hook. */
export const INSTRUMENTED_MODULES = ['http', 'https', 'express', 'fastify'];

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
    return;
  }
  if (typeof nodeModule.register !== 'function') {
    diag.warn('otel-audit: this Node.js cannot register loader hooks; ES module apps will not be instrumented');
    return;
  }
  const { registerOptions } = createAddHookMessageChannel();
  nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
}
