import { readFileSync } from 'node:fs';
import { parseDuration } from '../compliance/retention.js';
import { loadKeyProvider } from '../crypto/kek.js';
import { startServe } from '../serve/server.js';
import { parseTokens, type TokenSpec } from '../serve/tokens.js';
import { SERVE_DEFAULTS, type ServeOptions } from '../serve/types.js';
import { flagHelp, parseFlagCommand, type FlagSpec } from './options.js';

const env = (name: string): string[] => [`OTEL_AUDIT_SERVE_${name}`];

export const SERVE_FLAGS: FlagSpec[] = [
  { flag: 'host', env: env('HOST'), type: 'string', help: 'address to bind', default: SERVE_DEFAULTS.host },
  { flag: 'port', env: env('PORT'), type: 'number', help: 'HTTP port of the API and the viewer (0: any free port)', default: String(SERVE_DEFAULTS.port) },
  { flag: 'database-url', env: ['OTEL_AUDIT_SERVE_DATABASE_URL', 'DATABASE_URL'], type: 'string', help: 'Postgres connection string; else PG* variables; else the embedded database' },
  { flag: 'data-dir', env: ['OTEL_AUDIT_SERVE_DATA_DIR', 'OTEL_AUDIT_DATA_DIR'], type: 'string', help: 'embedded database directory', default: './.otel-audit' },
  { flag: 'tokens', env: env('TOKENS_FILE'), type: 'string', help: 'JSON file of bearer tokens (or the JSON itself in OTEL_AUDIT_SERVE_TOKENS)' },
  { flag: 'trace-url', env: env('TRACE_URL'), type: 'string', help: 'trace link template, e.g. http://jaeger:16686/trace/{trace_id}' },
  { flag: 'export-dir', env: env('EXPORT_DIR'), type: 'string', help: 'where exports are written', default: 'a temporary directory, removed on exit' },
  { flag: 'export-ttl', env: env('EXPORT_TTL'), type: 'string', help: 'how long an export can be downloaded before its files are removed (36h, 7d, …)', default: '24h' },
  { flag: 'pool-size', env: env('POOL_SIZE'), type: 'number', help: "the viewer's own database connections", default: String(SERVE_DEFAULTS.poolSize) },
  { flag: 'statement-timeout-ms', env: env('STATEMENT_TIMEOUT_MS'), type: 'number', help: 'longest a query of the viewer may run', default: String(SERVE_DEFAULTS.statementTimeoutMs) },
  {
    flag: 'encryption-key-file',
    env: [...env('ENCRYPTION_KEY_FILE'), 'OTEL_AUDIT_ENCRYPTION_KEY_FILE', 'OTEL_AUDIT_SINK_ENCRYPTION_KEY_FILE'],
    type: 'string',
    help: 'the key-encryption key of a sink that encrypts personal fields: tokens with "decrypt" read them in clear',
  },
  {
    flag: 'encryption-key',
    env: [...env('ENCRYPTION_KEY'), 'OTEL_AUDIT_ENCRYPTION_KEY', 'OTEL_AUDIT_SINK_ENCRYPTION_KEY'],
    type: 'string',
    help: 'the key-encryption key itself (prefer the variable or the file to the flag)',
  },
  { flag: 'migrate', env: env('MIGRATE'), type: 'boolean', help: 'apply migrations on start (--no-migrate to skip)', default: 'true' },
  { flag: 'help', type: 'boolean', help: 'show this help' },
];

export const SERVE_USAGE = `Usage: otel-audit serve [options]

The query API and the audit viewer on one HTTP port: list records with
filters (time, tenant, actor, action, resource, module, outcome, service,
trace id, text) newest first by cursor, one record with its before/after
diff, its seal and its trace link, statistics, and exports (file +
manifest). Open http://HOST:PORT/#token=TOKEN in a browser.

Every request needs "Authorization: Bearer <token>". Each token runs as a
database role (SET LOCAL ROLE), so row-level security decides which tenants
it sees; every search, view and export is itself an audit record
(audit.view, audit.export) naming the token.

Token file (JSON):
  [{"name": "alice", "token": "<16+ chars>", "role": "viewer_acme", "tenants": ["acme"]},
   {"name": "audit-team", "sha256": "<hex SHA-256 of the token>", "role": "audit_auditor"}]
A role with "tenants" must be in audit_reader (its tenant grants are set to
the list when this login may); audit_auditor and audit_admin read every
tenant and take no "tenants". "decrypt": true lets a token read encrypted
personal fields in clear when the server has the key-encryption key
(--encryption-key-file); every other token sees them as "[encrypted]", or
"[erased]" once the subject was erased.

Options (each also an environment variable):
${flagHelp(SERVE_FLAGS)}
`;

/** --export-ttl: a duration of whole hours, days or weeks. */
function parseExportTtl(text: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new Error(`--export-ttl "${text}" is not a duration like 24h, 7d or 2w`);
  }
}

/** The tokens of --tokens FILE, else of OTEL_AUDIT_SERVE_TOKENS. */
export function loadTokens(file: string | undefined, envText: string | undefined): TokenSpec[] {
  if (file !== undefined) return parseTokens(readFileSync(file, 'utf8'), file);
  if (envText !== undefined && envText !== '') return parseTokens(envText, 'OTEL_AUDIT_SERVE_TOKENS');
  return [];
}

/** `otel-audit serve`: runs until SIGTERM/SIGINT. */
export async function serveCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseFlagCommand('serve', argv, SERVE_FLAGS, SERVE_USAGE);
  if ('exit' in parsed) return parsed.exit;
  const flags = parsed.values;
  const str = (k: string): string | undefined => flags[k] as string | undefined;
  const num = (k: string): number | undefined => flags[k] as number | undefined;
  let options: ServeOptions;
  try {
    options = {
      tokens: loadTokens(str('tokens'), process.env.OTEL_AUDIT_SERVE_TOKENS),
      ...(str('host') !== undefined ? { host: str('host') } : {}),
      ...(num('port') !== undefined ? { port: num('port') } : {}),
      ...(str('databaseUrl') !== undefined ? { databaseUrl: str('databaseUrl') } : {}),
      ...(str('dataDir') !== undefined ? { dataDir: str('dataDir') } : {}),
      ...(str('traceUrl') !== undefined ? { traceUrl: str('traceUrl') } : {}),
      ...(str('exportDir') !== undefined ? { exportDir: str('exportDir') } : {}),
      ...(str('exportTtl') !== undefined ? { exportTtlMs: parseExportTtl(str('exportTtl') as string) } : {}),
      ...(num('poolSize') !== undefined ? { poolSize: num('poolSize') } : {}),
      ...(num('statementTimeoutMs') !== undefined ? { statementTimeoutMs: num('statementTimeoutMs') } : {}),
      ...(flags['migrate'] === false ? { migrate: false } : {}),
    };
    // The same variables as export and erase read (encryption-key.ts), after serve's own.
    const kek = loadKeyProvider({ file: str('encryptionKeyFile'), key: str('encryptionKey') });
    if (kek) options.kek = kek;
  } catch (err) {
    process.stderr.write(`otel-audit serve: ${(err as Error).message}\n`);
    return 2;
  }
  let server;
  try {
    server = await startServe(options);
  } catch (err) {
    process.stderr.write(`otel-audit serve: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`otel-audit serve: viewer and API at ${server.url}/ (${server.db.description}); exports in ${server.exportDir}\n`);
  const running = server;
  await new Promise<void>((resolve) => {
    const stop = (): void => void running.close().finally(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
