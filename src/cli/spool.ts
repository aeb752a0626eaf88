/**
 * `otel-audit spool replay`: send the records a stopped instance left in its
 * spool directory, with the endpoint and headers the SDK would use.
 */
import { resolve } from 'node:path';
import { defaultAuditEndpoint } from '../sdk/config.js';
import { envText } from '../sdk/env.js';
import { OtlpTransport } from '../sdk/delivery/otlp-transport.js';
import { replaySpool, SpoolBusyError } from '../sdk/delivery/replay.js';
import { flagHelp, parseFlagCommand, usageError, type FlagSpec } from './options.js';

/** Records per export call, as the SDK's default batch. */
const DEFAULT_BATCH_SIZE = 512;
/** Timeout of one export call, ms, as the SDK's default. */
const DEFAULT_TIMEOUT_MS = 10_000;

const FLAGS: FlagSpec[] = [
  { flag: 'dir', env: ['OTEL_AUDIT_SPOOL_DIR'], type: 'string', help: 'the spool directory', default: './.otel-audit/spool' },
  {
    flag: 'endpoint',
    env: ['OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    type: 'string',
    help: 'OTLP/gRPC endpoint: a collector or the sink',
    default: 'http://localhost:4317',
  },
  { flag: 'timeout-ms', env: ['OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT'], type: 'number', help: 'timeout of one export call', default: String(DEFAULT_TIMEOUT_MS) },
  { flag: 'batch-size', env: ['OTEL_AUDIT_BATCH_SIZE'], type: 'number', help: 'records per export call', default: String(DEFAULT_BATCH_SIZE) },
  { flag: 'help', type: 'boolean', help: 'show this help' },
];

const HELP = `Usage: otel-audit spool replay [options]

Send the audit records in a spool directory that no running process uses
(the disk of a stopped or dead instance, a volume mounted elsewhere), oldest
first, over OTLP/gRPC, exactly as the SDK would send them. A batch is
removed from the spool only once the receiver acknowledged it; the sink
stores each record once, so running it again adds nothing.

The directory is locked as the SDK locks it: while a process using it runs,
the command refuses (that process sends the records itself), and a service
started meanwhile leaves the records being replayed alone.

Options (each also an environment variable):
${flagHelp(FLAGS)}

Headers, TLS and compression come from OTEL_EXPORTER_OTLP_LOGS_HEADERS,
OTEL_EXPORTER_OTLP_HEADERS and the other OTEL_EXPORTER_OTLP_[LOGS_]*
variables, as for the SDK.

Exit status: 0 when the spool is empty, 1 when records are left (the
receiver could not be reached) or the directory is in use, 2 on bad usage.
`;

const USAGE = `Usage: otel-audit spool <command> [options]

Commands:
  replay     send the records of a spool directory no running process uses

Run "otel-audit spool replay --help" for its options.
`;

export async function spoolCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'replay') return usageError('spool', `unknown command "${sub}" (only "replay")`);
  const parsed = parseFlagCommand('spool replay', rest.map((a) => (a === '-h' ? '--help' : a)), FLAGS, HELP);
  if ('exit' in parsed) return parsed.exit;
  const flags = parsed.values;
  const dir = resolve(String(flags['dir'] ?? envText(process.env, 'OTEL_AUDIT_SPOOL_DIR') ?? '.otel-audit/spool'));
  const endpoint = typeof flags['endpoint'] === 'string' ? flags['endpoint'] : defaultAuditEndpoint(process.env);
  const timeoutMs = typeof flags['timeoutMs'] === 'number' && flags['timeoutMs'] > 0 ? flags['timeoutMs'] : DEFAULT_TIMEOUT_MS;
  const batchSize = typeof flags['batchSize'] === 'number' && flags['batchSize'] >= 1 ? Math.floor(flags['batchSize']) : DEFAULT_BATCH_SIZE;
  try {
    const r = await replaySpool(new OtlpTransport({ url: endpoint, timeoutMs }), { dir, batchSize });
    const refused = r.refused > 0 ? `, ${r.refused} refused by the receiver as invalid` : '';
    process.stdout.write(`sent ${r.sent} audit records from ${dir} to ${endpoint}${refused}; ${r.left} left in the spool\n`);
    if (r.error) {
      process.stderr.write(`otel-audit spool replay: cannot deliver to ${endpoint}: ${r.error.message.split('\n')[0]}; run it again when the receiver is up\n`);
    }
    return r.left === 0 ? 0 : 1;
  } catch (err) {
    const message = err instanceof SpoolBusyError ? err.message : `cannot replay ${dir}: ${(err as Error).message}`;
    process.stderr.write(`otel-audit spool replay: ${message}\n`);
    return 1;
  }
}
