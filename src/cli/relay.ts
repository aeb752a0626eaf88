/**
 * `otel-audit relay`: sends the rows of the transactional outbox
 * (`audit_outbox.records` in a business database) as audit log records
 * over OTLP/gRPC, deleting each batch once it is acknowledged.
 */
import { OUTBOX_SCHEMA } from '../db/outbox-migrate.js';
import { openRelay, RELAY_DEFAULTS } from '../relay/relay.js';
import { oneLine } from './database.js';
import { flagHelp, parseFlagCommand, usageError, type FlagSpec } from './options.js';

const env = (name: string): string[] => [`OTEL_AUDIT_RELAY_${name}`];

const FLAGS: FlagSpec[] = [
  { flag: 'database-url', env: ['OTEL_AUDIT_RELAY_DATABASE_URL', 'DATABASE_URL'], type: 'string', help: 'the business database holding the outbox; else PG* variables' },
  {
    flag: 'endpoint',
    env: ['OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    type: 'string',
    help: 'OTLP/gRPC endpoint (the collector, or a sink)',
    default: 'http://localhost:4317',
  },
  { flag: 'grace', env: env('GRACE'), type: 'string', help: 'leave rows younger than this (e.g. 2s, 500ms)', default: `${RELAY_DEFAULTS.graceMs / 1000}s` },
  { flag: 'batch-size', env: env('BATCH_SIZE'), type: 'number', help: 'rows per batch: one export, one transaction', default: String(RELAY_DEFAULTS.batchSize) },
  { flag: 'concurrency', env: env('CONCURRENCY'), type: 'number', help: 'batches in flight at once', default: String(RELAY_DEFAULTS.concurrency) },
  { flag: 'poll-interval', env: env('POLL_INTERVAL'), type: 'string', help: 'pause after a batch that was not full', default: `${RELAY_DEFAULTS.pollIntervalMs}ms` },
  { flag: 'timeout', env: ['OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT'], type: 'number', help: 'timeout of one export, ms', default: String(RELAY_DEFAULTS.exportTimeoutMs) },
  { flag: 'help', type: 'boolean', help: 'show this help' },
];

const USAGE = `Usage: otel-audit relay [options]

Transactional outbox relay. Takes the rows that audit.inTransaction() wrote
to ${OUTBOX_SCHEMA}.records in the business database, oldest first, once
they are older than the grace period, with FOR UPDATE SKIP LOCKED; sends
them as audit log records over OTLP/gRPC (to the collector, or straight to
"otel-audit sink"); deletes them once the export is acknowledged, in the
same transaction. Several relays may run at once. When the endpoint or the
database is down, rows stay in the outbox and the relay retries with
backoff, one line per outage. SIGTERM or SIGINT: the batches in flight
finish, then it exits.

Create the outbox first: otel-audit migrate --outbox --database-url URL

Options (each also an environment variable):
${flagHelp(FLAGS)}

TLS, headers and compression of the export follow OTEL_EXPORTER_OTLP_LOGS_*
and OTEL_EXPORTER_OTLP_*, as for the SDK's audit records.

Exit status: 0 after a clean stop, 1 when it cannot start, 2 on bad usage.
`;

/** `2s`, `500ms`, `1.5s`, or plain milliseconds. */
export function parseMs(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(text.trim());
  if (!m) throw new Error(`--${flag} needs a duration such as 2s or 500ms, got "${text}"`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

export async function relayCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseFlagCommand('relay', argv, FLAGS, USAGE);
  if ('exit' in parsed) return parsed.exit;
  const f = parsed.values;
  let graceMs: number;
  let pollIntervalMs: number;
  try {
    graceMs = parseMs('grace', String(f['grace'] ?? `${RELAY_DEFAULTS.graceMs}ms`));
    pollIntervalMs = parseMs('poll-interval', String(f['pollInterval'] ?? `${RELAY_DEFAULTS.pollIntervalMs}ms`));
  } catch (err) {
    return usageError('relay', (err as Error).message);
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let relay;
  try {
    relay = openRelay({
      ...(typeof f['databaseUrl'] === 'string' ? { databaseUrl: f['databaseUrl'] } : {}),
      ...(typeof f['endpoint'] === 'string' ? { endpoint: f['endpoint'] } : {}),
      ...(typeof f['batchSize'] === 'number' ? { batchSize: f['batchSize'] } : {}),
      ...(typeof f['concurrency'] === 'number' ? { concurrency: f['concurrency'] } : {}),
      ...(typeof f['timeout'] === 'number' ? { exportTimeoutMs: f['timeout'] } : {}),
      graceMs,
      pollIntervalMs,
      log,
    });
  } catch (err) {
    // A bad value (--batch-size 0) is a usage error; anything else means it cannot start.
    if (err instanceof RangeError) return usageError('relay', err.message.replace(/^otel-audit relay: /, ''));
    process.stderr.write(`otel-audit relay: cannot start: ${oneLine(err).replace(/^otel-audit relay: /, '')}\n`);
    return 1;
  }
  const running = relay;
  process.stdout.write(`otel-audit relay: moving ${OUTBOX_SCHEMA}.records to ${running.endpoint} (grace ${graceMs} ms)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      void running.stop().finally(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.stdout.write(`otel-audit relay: stopped; ${running.stats.sent} records sent in ${running.stats.batches} batches\n`);
  return 0;
}
