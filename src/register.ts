/**
 * Side-effect entry: `node --import otel-audit/register app.js` (ESM and
 * CommonJS apps) or `node --require otel-audit/register app.js` (its
 * CommonJS twin is register-cjs.ts).
 *
 * Checks the Node.js version before anything of OpenTelemetry is loaded: on
 * a Node.js the SDK does not support it says so in one line and the app runs
 * untraced. Otherwise it starts the SDK (register-start.ts), before the app's
 * first module is loaded.
 */
import { supportedNodeOrSay } from './util/node-support.js';

// Not bundled into this file: on an unsupported Node.js nothing of it loads.
const START = './register-start.js';
if (supportedNodeOrSay()) await import(START);
