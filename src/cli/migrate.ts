/**
 * `otel-audit migrate`: apply the schema migrations (and create the coming
 * months' partitions) without starting the sink.
 */
import type { Database } from '../db/database.js';
import { ensurePartitions, migrate } from '../db/migrate.js';
import { describeDbError, oneLine, openCliDatabase, parseDbCommand } from './database.js';

const HELP = `Usage: otel-audit migrate [options]

Apply the pending schema migrations to the audit database (schema "audit"),
then create the monthly partitions of audit.records up to 12 months ahead.
Migrations are forward-only and run under an advisory lock: running this
while sinks run, or from several places at once, is safe. The sink applies
them on start as well.

Options:
  --database-url URL  Postgres server to migrate (default: DATABASE_URL)
  --data-dir DIR      the embedded database in DIR, even when DATABASE_URL or
                      PG* variables are set (default: OTEL_AUDIT_DATA_DIR)
  --verbose           say which database; print stack traces of errors
  -h, --help          show this help

The database, first that applies:
  1. --database-url URL or --data-dir DIR
  2. DATABASE_URL, e.g. postgres://audit:secret@db.example.com:5432/audit
  3. PGHOST, PGPORT, PGDATABASE, PGUSER or PGSERVICE (any one set), with
     PGPASSWORD, PGSSLMODE, ... read as libpq reads them
  4. embedded Postgres (PGlite) in OTEL_AUDIT_DATA_DIR, else ./.otel-audit;
     one process at a time: stop a sink that uses it first

Exit status: 0 when the schema is up to date, 1 on failure, 2 on bad usage.
`;

export async function migrateCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseDbCommand('migrate', argv, { verbose: { type: 'boolean' } }, HELP);
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const url = values['database-url'];
  const dataDir = values['data-dir'];
  const verbose = values.verbose === true;

  let db: Database | undefined;
  try {
    db = await openCliDatabase(url, dataDir, (err) => {
      if (verbose) process.stderr.write(`otel-audit migrate: ${oneLine(err)}\n`);
    });
    if (verbose) process.stdout.write(`database: ${db.description}\n`);
    const result = await migrate(db, { log: (msg) => process.stdout.write(`${msg}\n`) });
    const created = await ensurePartitions(db);
    if (created > 0) process.stdout.write(`created ${created} monthly partition${created === 1 ? '' : 's'} of audit.records\n`);
    process.stdout.write(
      result.applied.length > 0
        ? `schema at version ${result.current} (${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} applied)\n`
        : `schema up to date at version ${result.current}\n`,
    );
    return 0;
  } catch (err) {
    process.stderr.write(`otel-audit migrate: ${describeDbError(err, db)}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    if (db) {
      await db.close().catch((err: unknown) => {
        if (verbose) process.stderr.write(`otel-audit migrate: closing the database: ${oneLine(err)}\n`);
      });
    }
  }
}

