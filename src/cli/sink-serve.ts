/**
 * `otel-audit sink --serve`: the query API and the viewer of `otel-audit
 * serve`, served from the sink's own process on the sink's database. The
 * embedded database admits one process at a time, so this is how its rows
 * can be read while the sink writes them.
 */
import type { DataDirHolder } from '../db/data-dir-lock.js';
import { makeRunToken } from '../serve/run-token.js';
import { startServe, type ServeServer } from '../serve/server.js';
import { SERVE_DEFAULTS } from '../serve/types.js';
import type { Sink } from '../sink/sink.js';
import { loadTokens } from './serve.js';
import type { FlagSpec, FlagValues } from './options.js';

export const SINK_SERVE_FLAGS: FlagSpec[] = [
  { flag: 'serve', env: ['OTEL_AUDIT_SINK_SERVE'], type: 'boolean', help: 'also serve the query API and the viewer (as otel-audit serve does) from this process, on its database', default: 'false' },
  { flag: 'serve-port', env: ['OTEL_AUDIT_SINK_SERVE_PORT'], type: 'number', help: 'HTTP port of the API and the viewer, on --host (0: any free port)', default: String(SERVE_DEFAULTS.port) },
  {
    flag: 'serve-tokens',
    env: ['OTEL_AUDIT_SINK_SERVE_TOKENS_FILE', 'OTEL_AUDIT_SERVE_TOKENS_FILE'],
    type: 'string',
    help: 'token file of the viewer, as otel-audit serve --tokens (or the JSON itself in OTEL_AUDIT_SERVE_TOKENS)',
    default: 'a token made for this run (role audit_auditor), printed with the address',
  },
  { flag: 'serve-trace-url', env: ['OTEL_AUDIT_SINK_SERVE_TRACE_URL', 'OTEL_AUDIT_SERVE_TRACE_URL'], type: 'string', help: 'trace link template, e.g. http://127.0.0.1:16686/trace/{trace_id}' },
];

/** The option keys of {@link SINK_SERVE_FLAGS} (not options of the sink itself). */
export const SINK_SERVE_KEYS: ReadonlySet<string> = new Set(['serve', 'servePort', 'serveTokens', 'serveTraceUrl']);

/** The address the viewer will have, when the port is known before it listens. */
function plannedUrl(host: string, port: number): string | undefined {
  if (port === 0) return undefined;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Who holds the embedded database: a sink serving its rows, and where. */
export function servingHolder(host: string, flags: FlagValues): DataDirHolder {
  const url = plannedUrl(host, (flags['servePort'] as number | undefined) ?? SERVE_DEFAULTS.port);
  return {
    name: 'otel-audit sink --serve',
    hint: `it serves the query API and the viewer ${url !== undefined ? `at ${url}/` : '(its start-up line gives the address)'}: read the rows there (GET /api/records, or an export from the viewer) with one of its tokens`,
  };
}

/**
 * Serve the API and the viewer on the sink's database (the same PGlite
 * instance; on a Postgres server, a pool of the viewer's own). Says where on
 * stdout, with the token when one was made for this run.
 */
export async function serveFromSink(sink: Sink, host: string, flags: FlagValues): Promise<ServeServer> {
  const str = (k: string): string | undefined => flags[k] as string | undefined;
  let tokens = loadTokens(str('serveTokens'), process.env.OTEL_AUDIT_SERVE_TOKENS);
  let runToken: string | undefined;
  if (tokens.length === 0) {
    const made = makeRunToken('sink');
    tokens = [made.spec];
    runToken = made.token;
  }
  const server = await startServe({
    // PGlite admits this process only: the viewer shares the sink's instance.
    // A Postgres server gets the viewer's own pool, so its reads never hold up the sink's writes.
    ...(sink.db.kind === 'pglite' ? { db: sink.db } : str('databaseUrl') !== undefined ? { databaseUrl: str('databaseUrl') } : {}),
    host,
    port: (flags['servePort'] as number | undefined) ?? SERVE_DEFAULTS.port,
    tokens,
    ...(str('serveTraceUrl') !== undefined ? { traceUrl: str('serveTraceUrl') } : {}),
    // The sink migrated its database (or was told not to): nothing to apply here.
    migrate: false,
    log: (line) => sink.log.warn({ component: 'serve' }, line),
  });
  const open = runToken !== undefined ? `${server.url}/#token=${runToken} (a token made for this run, role audit_auditor)` : `${server.url}/`;
  process.stdout.write(`otel-audit sink: query API and viewer at ${open}\n`);
  return server;
}
