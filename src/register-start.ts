/**
 * Side-effect entry: `node --import otel-audit/register app.js` (ESM and
 * CommonJS apps) or `node --require otel-audit/register app.js`.
 *
 * Starts OpenTelemetry with audit from the environment (`OTEL_*`,
 * `OTEL_AUDIT_*`, `OTEL_AUDIT_CONFIG`). Never throws into the host: a failure
 * is logged once and the app runs without telemetry. SIGTERM, SIGINT and
 * `beforeExit` flush the audit records before the process exits.
 */
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { startAudit, type AuditHandle } from './sdk/start.js';

const STARTED = Symbol.for('otel-audit.register');
type Holder = { [STARTED]?: AuditHandle | false };

function logLevel(): DiagLogLevel {
  switch ((process.env['OTEL_LOG_LEVEL'] ?? '').trim().toUpperCase()) {
    case 'NONE': return DiagLogLevel.NONE;
    case 'ERROR': return DiagLogLevel.ERROR;
    case 'WARN': return DiagLogLevel.WARN;
    case 'DEBUG': return DiagLogLevel.DEBUG;
    case 'VERBOSE': return DiagLogLevel.VERBOSE;
    case 'ALL': return DiagLogLevel.ALL;
    case 'INFO': return DiagLogLevel.INFO;
    // Warnings and errors only: a healthy start prints nothing.
    default: return DiagLogLevel.WARN;
  }
}

function installShutdown(handle: AuditHandle): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    process.removeListener(signal, onSignal);
    // Only we listened: after flushing, let the signal do what it would have done.
    const reRaise = process.listenerCount(signal) === 0;
    handle
      .shutdown()
      .catch((err: unknown) => diag.error('otel-audit: shutdown failed', err))
      .finally(() => {
        if (reRaise) process.kill(process.pid, signal);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // process.exit() skips beforeExit and every pending promise: whatever was
  // not delivered goes to the spool, synchronously, for the next start.
  process.once('exit', () => handle.flushToSpoolNow());
  process.once('beforeExit', () => {
    handle.shutdown().catch((err: unknown) => diag.error('otel-audit: shutdown failed', err));
  });
}

function register(): void {
  const g = globalThis as Holder;
  if (g[STARTED] !== undefined) return; // both --import and --require, or loaded twice
  g[STARTED] = false;
  // With OTEL_LOG_LEVEL set, the Node SDK installs the same console logger
  // itself (installing one first would make it warn about replacing it).
  const setLogger = (): void => {
    diag.setLogger(new DiagConsoleLogger(), { logLevel: logLevel(), suppressOverrideMessage: true });
  };
  if (process.env['OTEL_LOG_LEVEL'] === undefined) setLogger();
  try {
    if ((process.env['OTEL_SDK_DISABLED'] ?? '').trim().toLowerCase() === 'true') {
      diag.info('otel-audit: OTEL_SDK_DISABLED=true; not starting');
      return;
    }
    const handle = startAudit();
    g[STARTED] = handle;
    installShutdown(handle);
    diag.debug(`otel-audit: started (emitter ${handle.emitterId})`);
  } catch (err) {
    setLogger();
    diag.error('otel-audit: failed to start; this process will not produce telemetry or audit records', err);
  }
}

register();
