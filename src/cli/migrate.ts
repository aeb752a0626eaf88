/**
 * `otel-audit migrate`: apply the schema migrations (and create the coming
 * months' partitions) without starting the sink.
 */
import type { Database } from '../db/database.js';
import { ensurePartitions, migrate } from '../db/migrate.js';
import { migrateOutbox, OUTBOX_SCHEMA } from '../db/outbox-migrate.js';
import { nonEmpty, PG_SELECTORS } from '../db/pg-config.js';
import { describeDbError, oneLine, openCliDatabase, parseDbCommand, usageError } from './database.js';

const HELP = `Usage: otel-audit migrate [options]

Apply the pending schema migrations to the audit database (schema "audit"),
then create the monthly partitions of audit.records up to 12 months ahead.
Migrations are forward-only and run under an advisory lock: running this
while sinks run, or from several places at once, is safe. The sink applies
them on start as well.

With --outbox, apply instead the migrations of the transactional outbox
(schema "${OUTBOX_SCHEMA}", table ${OUTBOX_SCHEMA}.records, tracked in
${OUTBOX_SCHEMA}.schema_migrations) to the business database that
audit.inTransaction() writes to; the audit database is not needed.

Options:
  --outbox            migrate the outbox schema of a business database
                      (needs a Postgres server: --database-url, DATABASE_URL
                      or PG* variables)
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
  const parsed = parseDbCommand('migrate', argv, { verbose: { type: 'boolean' }, outbox: { type: 'boolean' } }, HELP);
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const url = values['database-url'];
  const dataDir = values['data-dir'];
  const verbose = values.verbose === true;
  const outbox = values.outbox === true;
  if (outbox && dataDir !== undefined) return usageError('migrate', '--outbox migrates a business database on a Postgres server; --data-dir names the embedded audit database');
  if (outbox && url === undefined && nonEmpty(process.env['DATABASE_URL']) === undefined && !PG_SELECTORS.some((n) => nonEmpty(process.env[n]) !== undefined)) {
    return usageError('migrate', '--outbox needs the business database: --database-url URL, DATABASE_URL or PG* variables');
  }

  let db: Database | undefined;
  try {
    db = await openCliDatabase(url, dataDir, (err) => {
      if (verbose) process.stderr.write(`otel-audit migrate: ${oneLine(err)}\n`);
    });
    if (verbose) process.stdout.write(`database: ${db.description}\n`);
    const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
    if (outbox) {
      const result = await migrateOutbox(db, { log });
      process.stdout.write(
        result.applied.length > 0
          ? `outbox schema ${OUTBOX_SCHEMA} at version ${result.current} (${result.applied.length} migration${result.applied.length === 1 ? '' : 's'} applied)\n`
          : `outbox schema ${OUTBOX_SCHEMA} up to date at version ${result.current}\n`,
      );
      return 0;
    }
    const result = await migrate(db, { log });
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

