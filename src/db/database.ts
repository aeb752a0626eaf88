/**
 * Opening the database the sink and the commands use: a Postgres server or
 * the embedded PGlite, behind one interface (`types.ts`).
 */
import { resolve } from 'node:path';
import { describeConfig, describeUrl, nonEmpty, PG_SELECTORS, pgConfigFromEnv } from './pg-config.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import type { Database, DatabaseOptions } from './types.js';

export type { Database, DatabaseOptions, Queryable, QueryResult, Transaction } from './types.js';
export { DatabaseUnavailableError, isBrokenConnection, isConnectionError, UNAVAILABLE } from './connection-error.js';

/** The embedded database directory when neither the option nor `OTEL_AUDIT_DATA_DIR` names one. */
const DEFAULT_DATA_DIR = './.otel-audit';

/**
 * Open the database the options and environment select: `url`, else
 * `DATABASE_URL`, else Postgres from `PGHOST`/`PGDATABASE`/`PGUSER`/`PGPORT`/
 * `PGSERVICE` (with `PGPASSWORD`, `PGSSLMODE`, … as libpq reads them), else
 * the embedded PGlite in `dataDir`. Postgres connects lazily: an unreachable
 * server shows up as an error from the first query.
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const env = options.env ?? process.env;
  const url = options.url ?? nonEmpty(env.DATABASE_URL);
  if (url !== undefined) {
    return openPostgres({ connectionString: url }, describeUrl(url), options);
  }
  if (PG_SELECTORS.some((name) => nonEmpty(env[name]) !== undefined)) {
    const config = pgConfigFromEnv(env);
    return openPostgres(config, describeConfig(config), options);
  }
  const dir = resolve(options.dataDir ?? nonEmpty(env.OTEL_AUDIT_DATA_DIR) ?? DEFAULT_DATA_DIR);
  return openPglite(dir, options.holder);
}
