import { GAP_CHECK_MAX_INTERVAL_MS, GAP_CHECK_MIN_INTERVAL_MS, parseWindow, SINK_DEFAULTS } from '../sink/config.js';
import { startSink } from '../sink/sink.js';
import type { SinkOptions } from '../sink/types.js';
import type { ServeServer } from '../serve/server.js';
import { flagHelp, parseFlagCommand, usageError, type FlagSpec } from './options.js';
import { serveFromSink, servingHolder, SINK_SERVE_FLAGS, SINK_SERVE_KEYS } from './sink-serve.js';

const env = (name: string): string[] => [`OTEL_AUDIT_SINK_${name}`];

export const SINK_FLAGS: FlagSpec[] = [
  { flag: 'host', env: env('HOST'), type: 'string', help: 'address to bind (0.0.0.0 in a container)', default: SINK_DEFAULTS.host },
  { flag: 'grpc-port', env: env('GRPC_PORT'), type: 'number', help: 'OTLP/gRPC port', default: String(SINK_DEFAULTS.grpcPort) },
  { flag: 'http-port', env: env('HTTP_PORT'), type: 'number', help: 'OTLP/HTTP port (protobuf and JSON)', default: String(SINK_DEFAULTS.httpPort) },
  { flag: 'metrics-port', env: env('METRICS_PORT'), type: 'number', help: 'Prometheus /metrics, /healthz, /readyz', default: String(SINK_DEFAULTS.metricsPort) },
  { flag: 'database-url', env: ['OTEL_AUDIT_SINK_DATABASE_URL', 'DATABASE_URL'], type: 'string', help: 'Postgres connection string; else PG* variables; else the embedded database' },
  { flag: 'data-dir', env: ['OTEL_AUDIT_SINK_DATA_DIR', 'OTEL_AUDIT_DATA_DIR'], type: 'string', help: 'embedded database directory', default: './.otel-audit' },
  { flag: 'token', env: env('TOKEN'), type: 'string', help: 'require "Authorization: Bearer <token>"' },
  { flag: 'tls-cert', env: env('TLS_CERT'), type: 'string', help: 'TLS certificate (PEM file) for both listeners' },
  { flag: 'tls-key', env: env('TLS_KEY'), type: 'string', help: 'TLS private key (PEM file)' },
  { flag: 'max-message-bytes', env: env('MAX_MESSAGE_BYTES'), type: 'number', help: 'largest request, after decompression', default: String(SINK_DEFAULTS.maxMessageBytes) },
  { flag: 'max-value-bytes', env: env('MAX_VALUE_BYTES'), type: 'number', help: 'largest single string value of a record', default: String(SINK_DEFAULTS.maxValueBytes) },
  { flag: 'batch-rows', env: env('BATCH_ROWS'), type: 'number', help: 'rows per database batch', default: String(SINK_DEFAULTS.batchRows) },
  { flag: 'batch-delay-ms', env: env('BATCH_DELAY_MS'), type: 'number', help: 'how long a lone batch waits for more rows', default: String(SINK_DEFAULTS.batchDelayMs) },
  { flag: 'max-queue-rows', env: env('MAX_QUEUE_ROWS'), type: 'number', help: 'rows waiting at most before exports are answered retryable', default: String(SINK_DEFAULTS.maxQueueRows) },
  { flag: 'pool-size', env: env('POOL_SIZE'), type: 'number', help: 'database connections', default: String(SINK_DEFAULTS.poolSize) },
  { flag: 'writers', env: env('WRITERS'), type: 'number', help: 'batches written at once (at most --pool-size)', default: String(SINK_DEFAULTS.writers) },
  { flag: 'write-method', env: env('WRITE_METHOD'), type: 'string', help: 'copy (binary COPY into a staging table) or unnest (array parameters); the embedded database always uses unnest', default: SINK_DEFAULTS.writeMethod },
  { flag: 'gap-window-ms', env: env('GAP_WINDOW_MS'), type: 'number', help: 'a sequence gap open longer than this counts as missing records', default: String(SINK_DEFAULTS.gapWindowMs) },
  { flag: 'gap-check-interval-ms', env: env('GAP_CHECK_INTERVAL_MS'), type: 'number', help: 'least time between two gap checks (/metrics shows the last figures)', default: `half the gap window, ${GAP_CHECK_MIN_INTERVAL_MS} to ${GAP_CHECK_MAX_INTERVAL_MS}` },
  { flag: 'metrics-token', env: env('METRICS_TOKEN'), type: 'string', help: 'require "Authorization: Bearer <token>" on /metrics (/healthz, /readyz stay open); may equal --token' },
  { flag: 'log-level', env: env('LOG_LEVEL'), type: 'string', help: 'fatal, error, warn, info, debug, trace, silent', default: SINK_DEFAULTS.logLevel },
  { flag: 'seal-interval-ms', env: env('SEAL_INTERVAL_MS'), type: 'number', help: 'seal settled records into audit.digests this often (0: never)', default: String(SINK_DEFAULTS.sealIntervalMs) },
  { flag: 'seal-settle-ms', env: env('SEAL_SETTLE_MS'), type: 'number', help: 'seal only records received at least this long ago', default: String(SINK_DEFAULTS.sealSettleMs) },
  { flag: 'outbox-window', env: env('OUTBOX_WINDOW'), type: 'string', help: 'how long a half of an outbox record waits for its partner before it is written alone: 30s, 1500ms, 2m (a bare number is seconds)', default: `${SINK_DEFAULTS.outboxWindowMs / 1000}s` },
  { flag: 'digest-key-file', env: env('DIGEST_KEY_FILE'), type: 'string', help: 'sign digests: Ed25519 private key (PEM) or HMAC secret file' },
  { flag: 'encryption-key-file', env: env('ENCRYPTION_KEY_FILE'), type: 'string', help: 'encrypt personal fields: file holding the 256-bit key-encryption key (64 hex digits, base64 or 32 bytes)' },
  { flag: 'encryption-key', env: env('ENCRYPTION_KEY'), type: 'string', help: 'the key-encryption key itself (prefer the variable or the file to the flag)' },
  { flag: 'encrypt-columns', env: env('ENCRYPT_COLUMNS'), type: 'string', help: 'columns to encrypt, comma-separated (of actor_id, actor_name, client_ip, user_agent, url_path, request, change_before, change_after)', default: 'actor_name,client_ip,user_agent,request,change_before,change_after' },
  { flag: 'encryption-subject', env: env('ENCRYPTION_SUBJECT'), type: 'string', help: 'whose data key encrypts a record: actor or tenant', default: 'actor' },
  { flag: 'encryption', env: env('ENCRYPTION'), type: 'boolean', help: 'require encryption (--encryption: a key must be given); --no-encryption stores personal fields in clear even into a database that holds encrypted ones (without a key the sink refuses such a database)' },
  { flag: 'migrate', env: env('MIGRATE'), type: 'boolean', help: 'apply migrations on start (--no-migrate to skip)', default: String(SINK_DEFAULTS.migrate) },
  ...SINK_SERVE_FLAGS,
  { flag: 'help', type: 'boolean', help: 'show this help' },
];

export const SINK_USAGE = `Usage: otel-audit sink [options]

OTLP receiver (gRPC, and HTTP with protobuf or JSON) that writes audit
records (log records with event name "audit", and spans carrying audit.action)
to Postgres, schema "audit". An export is answered OK only after its records
are committed; when the database is down it answers UNAVAILABLE / 503 so the
client retries. Input that cannot be stored is kept in audit.rejected.

The embedded database (PGlite) admits one process at a time: while the sink
runs, other commands cannot open it. With --serve the sink itself serves the
query API and the viewer of "otel-audit serve" on its database, so the rows
can be read while it writes them.

Options (each also an environment variable):
${flagHelp(SINK_FLAGS)}
`;

/** `otel-audit sink`: runs until SIGTERM/SIGINT, then shuts down gracefully. */
export async function sinkCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseFlagCommand('sink', argv, SINK_FLAGS, SINK_USAGE);
  if ('exit' in parsed) return parsed.exit;
  const flags = parsed.values;
  const options: SinkOptions = {};
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && k !== 'help' && k !== 'outboxWindow' && !SINK_SERVE_KEYS.has(k)) (options as Record<string, unknown>)[k] = v;
  if (typeof flags['outboxWindow'] === 'string') {
    try {
      options.outboxWindowMs = parseWindow(flags['outboxWindow']);
    } catch (err) {
      return usageError('sink', `--outbox-window: ${(err as Error).message}`);
    }
  }
  const serve = flags['serve'] === true;
  if (serve) options.holder = servingHolder(options.host ?? SINK_DEFAULTS.host, flags);
  let sink;
  try {
    sink = await startSink(options);
  } catch (err) {
    process.stderr.write(`otel-audit sink: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  const running = sink;
  let viewer: ServeServer | undefined;
  if (serve) {
    try {
      viewer = await serveFromSink(running, options.host ?? SINK_DEFAULTS.host, flags);
    } catch (err) {
      process.stderr.write(`otel-audit sink: cannot serve the query API: ${(err as Error).message}\n`);
      await running.close();
      return 1;
    }
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      running.log.info({ signal }, 'shutting down');
      // The viewer reads the sink's database: it stops first.
      void Promise.resolve(viewer?.close())
        .then(() => running.close())
        .finally(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
