/**
 * `node --require otel-audit/register app.js`: the CommonJS twin of
 * register.ts (built to dist/register.cjs), which starts the SDK
 * synchronously, before the app's first module is loaded.
 */
import { createRequire } from 'node:module';
import { supportedNodeOrSay } from './util/node-support.js';

// Not bundled into this file: on an unsupported Node.js nothing of it loads.
const START = './register-start.cjs';
if (supportedNodeOrSay()) createRequire(import.meta.url)(START);
