/**
 * Forward-only schema migrations: numbered SQL files (`000001.sql`,
 * `000002.sql`, … optionally `000002-some-words.sql`) shipped with the
 * package, applied in order, each in its own transaction that holds a
 * transaction-level advisory lock. Any number of processes may migrate at
 * once: one applies a migration, the others wait for the lock and then find
 * it applied. `<schema>.schema_migrations` (`audit.schema_migrations` for
 * the audit database) records what was applied, with a checksum of the file; a shipped migration whose file no longer matches its
 * checksum stops the migration (edit nothing that shipped: add a new number).
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assetPath } from '../assets.js';
import type { Database, Queryable, Transaction } from './database.js';

/**
 * Key of the advisory lock that serialises schema changes (migrations and
 * partition creation): the ASCII bytes of "otlaudit" as a 64-bit integer.
 */
export const SCHEMA_LOCK_KEY = '8031163201345579380';

export interface Migration {
  /** The number, e.g. 1 for `000001.sql`. */
  id: number;
  /** The file name, e.g. `000001.sql`. */
  name: string;
  sql: string;
  /** SHA-256 (hex) of the file, line endings normalised to LF. */
  checksum: string;
}

export interface MigrateOptions {
  log?: (msg: string) => void;
  /** Directory of the migration files (default: the ones shipped with the package). */
  dir?: string;
  /** Schema of the tracking table `<schema>.schema_migrations` (default `audit`). */
  schema?: string;
  /** Key of the advisory lock held while migrating (default {@link SCHEMA_LOCK_KEY}). */
  lockKey?: string;
}

/** Where a set of migrations keeps its tracking table, and the lock it takes. */
interface MigrationTarget {
  table: string;
  lockKey: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

function targetOf(options: { schema?: string; lockKey?: string }): MigrationTarget {
  const schema = options.schema ?? 'audit';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`otel-audit: invalid schema name "${schema}"`);
  const lockKey = options.lockKey ?? SCHEMA_LOCK_KEY;
  if (!/^-?\d{1,19}$/.test(lockKey)) throw new Error(`otel-audit: invalid advisory lock key "${lockKey}"`);
  return { table: `${schema}.schema_migrations`, lockKey };
}

const FILE_NAME = /^(\d{6})(?:-[A-Za-z0-9_-]+)?\.sql$/;

/** The migrations in dir, in order. Throws on a misnamed, duplicate or missing number. */
export async function loadMigrations(dir: string = assetPath('db', 'migrations')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of files) {
    const match = FILE_NAME.exec(name);
    if (!match?.[1]) {
      throw new Error(`otel-audit: migration file ${join(dir, name)} is not named NNNNNN.sql (six digits)`);
    }
    const sql = await readFile(join(dir, name), 'utf8');
    migrations.push({ id: Number(match[1]), name, sql, checksum: checksum(sql) });
  }
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) {
      throw new Error(
        `otel-audit: migrations in ${dir} must be numbered 000001, 000002, … without gaps or repeats; found ${m.name} where ${pad(i + 1)} belongs`,
      );
    }
  });
  return migrations;
}

function checksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

function pad(id: number): string {
  return String(id).padStart(6, '0');
}

interface AppliedRow {
  id: number;
  name: string;
  checksum: string;
}

async function lockSchema(tx: Queryable, lockKey = SCHEMA_LOCK_KEY): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${lockKey})`);
}

async function hasMigrationsTable(q: Queryable, table: string): Promise<boolean> {
  const { rows } = await q.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
  return rows[0]?.present === true;
}

async function readApplied(q: Queryable, table: string): Promise<Map<number, AppliedRow>> {
  if (!(await hasMigrationsTable(q, table))) return new Map();
  const { rows } = await q.query<AppliedRow>(`SELECT id, name, checksum FROM ${table} ORDER BY id`);
  return new Map(rows.map((r) => [r.id, r]));
}

/** Create the tracking table (and its schema) if missing. Call with the schema lock held. */
async function bootstrap(tx: Transaction, table: string): Promise<void> {
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
  // the database even when the schema exists, which a writer role may lack.
  if (await hasMigrationsTable(tx, table)) return;
  const schema = table.slice(0, table.indexOf('.'));
  await tx.exec(`
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${table} (
      id          integer     PRIMARY KEY,
      name        text        NOT NULL,
      checksum    text        NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    );
  `);
}

function verify(applied: Map<number, AppliedRow>, migrations: Migration[], log: (msg: string) => void): void {
  for (const m of migrations) {
    const row = applied.get(m.id);
    if (row && row.checksum !== m.checksum) {
      throw new Error(
        `otel-audit: migration ${m.name} differs from the one applied to this database as ${row.name} ` +
          `(checksum ${row.checksum.slice(0, 12)}… applied, ${m.checksum.slice(0, 12)}… on disk): ` +
          'a shipped migration must never be edited; put the change in a new numbered migration',
      );
    }
  }
  const newer = [...applied.values()].filter((r) => r.id > migrations.length);
  if (newer.length > 0) {
    log(`database has migrations this version does not know: ${newer.map((r) => r.name).join(', ')} (newer otel-audit?)`);
  }
}

/**
 * Apply the pending migrations in order. Returns the names applied by this
 * call and the schema version (highest migration number) afterwards.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<{ applied: string[]; current: number }> {
  const log = options.log ?? (() => {});
  const target = targetOf(options);
  const migrations = await loadMigrations(options.dir);
  const applied: string[] = [];
  for (;;) {
    const step = await db.transaction(async (tx) => {
      await lockSchema(tx, target.lockKey);
      await bootstrap(tx, target.table);
      const done = await readApplied(tx, target.table);
      verify(done, migrations, log);
      const current = Math.max(0, ...done.keys());
      const next = migrations.find((m) => !done.has(m.id));
      if (!next) return { next: undefined, current };
      const started = Date.now();
      try {
        await tx.exec(next.sql);
      } catch (err) {
        throw new Error(`otel-audit: migration ${next.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(`INSERT INTO ${target.table} (id, name, checksum) VALUES ($1, $2, $3)`, [
        next.id,
        next.name,
        next.checksum,
      ]);
      log(`applied ${next.name} (${Math.round(Date.now() - started)} ms)`);
      return { next, current: Math.max(current, next.id) };
    });
    if (!step.next) return { applied, current: step.current };
    applied.push(step.next.name);
  }
}

/**
 * Create the monthly partitions of `audit.records` from last month through
 * `monthsAhead` months after this one (UTC), if missing. Returns how many were
 * created. Needs migration 000001.
 */
export async function ensurePartitions(db: Database, monthsAhead = 12): Promise<number> {
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0) {
    throw new RangeError(`otel-audit: monthsAhead must be a non-negative integer, got ${monthsAhead}`);
  }
  return db.transaction(async (tx) => {
    // Under the schema lock: two processes creating the same partition would
    // otherwise collide on the catalog.
    await lockSchema(tx);
    const { rows } = await tx.query<{ created: number }>(
      `SELECT audit.ensure_partitions(
         (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date, $1::integer) AS created`,
      [monthsAhead + 2],
    );
    return rows[0]?.created ?? 0;
  });
}

/**
 * Where the schema stands, for readiness checks: `applied` is the schema
 * version (highest applied migration, 0 for none), `latest` the highest
 * migration this version ships, `pending` how many of those are not applied.
 * Takes no lock.
 */
export async function schemaStatus(
  db: Database,
  options: { dir?: string; schema?: string } = {},
): Promise<{ applied: number; latest: number; pending: number }> {
  const migrations = await loadMigrations(options.dir);
  const done = await readApplied(db, targetOf(options).table);
  return {
    applied: Math.max(0, ...done.keys()),
    latest: migrations.length,
    pending: migrations.filter((m) => !done.has(m.id)).length,
  };
}
