import { INTERRUPTED, runDemo } from '../demo/demo.js';
import { databaseFlagsProblem } from './database.js';
import { flagHelp, parseFlagCommand, usageError, type FlagSpec } from './options.js';

export const DEMO_FLAGS: FlagSpec[] = [
  { flag: 'data-dir', type: 'string', help: 'keep the embedded database in this directory (default: a temporary one, removed at the end)' },
  { flag: 'database-url', type: 'string', help: 'write to this Postgres instead of the embedded database (rows are kept)' },
  { flag: 'serve', type: 'boolean', help: 'then keep running and serve the audit viewer on the rows (Ctrl-C stops)' },
  { flag: 'json', type: 'boolean', help: 'print the rows as JSON lines on stdout, the rest on stderr' },
  { flag: 'help', type: 'boolean', help: 'show this help' },
];

export const DEMO_USAGE = `Usage: otel-audit demo [options]

The whole pipeline on this machine, with no collector and no Postgres:
starts the sink on an embedded Postgres (PGlite) on free ports of 127.0.0.1,
runs the example service (examples/express-app/server.js) under
"node --import otel-audit/register" pointed at it, sends a few scripted
requests (create, read, update and delete a user, a failed and a successful
login, a forbidden admin call, a health check), stops the service, prints the
rows that arrived in audit.records and where to look next. It stops what it
started and removes its temporary directory, also on failure and on Ctrl-C.
It reads no DATABASE_URL, PG* or OTEL_* variable.

Options:
${flagHelp(DEMO_FLAGS)}

Exit status: 0 when every row is what the script expects, 1 otherwise or on
failure, 2 on bad usage, 130 when interrupted.
`;

/** `otel-audit demo`: runs once and exits; SIGINT/SIGTERM stop it early, cleaning up. */
export async function demoCommand(argv: readonly string[]): Promise<number> {
  // The demo reads no variable: its flags come from the command line only.
  const parsed = parseFlagCommand('demo', argv, DEMO_FLAGS, DEMO_USAGE, {});
  if ('exit' in parsed) return parsed.exit;
  const flags = parsed.values;
  const dataDir = flags['dataDir'] as string | undefined;
  const databaseUrl = flags['databaseUrl'] as string | undefined;
  const problem = databaseFlagsProblem(databaseUrl, dataDir);
  if (problem) return usageError('demo', problem);
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) {
      // Second signal: no more waiting for a clean stop.
      process.exit(INTERRUPTED);
    }
    controller.abort();
  };
  // A reader that went away (`otel-audit demo | head`) stops the demo the same way.
  const onOutputError = (err: NodeJS.ErrnoException): void => {
    if (!controller.signal.aborted) controller.abort();
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') process.exitCode = 1;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  try {
    return await runDemo({
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(databaseUrl !== undefined ? { databaseUrl } : {}),
      json: flags['json'] === true,
      serve: flags['serve'] === true,
      signal: controller.signal,
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    // The output listeners stay: a write failing after this point must not crash the exit.
  }
}
