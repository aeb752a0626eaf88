/**
 * Postgres for the benchmarks: one connection for a while, throw-away
 * databases migrated by the real CLI, psql, and what the server is.
 */
import pg from 'pg';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { childEnv, ROOT, runCommand } from './proc.ts';

/** The CLI the benchmarks run, as an installed otel-audit would. */
export const CLI = join(ROOT, 'dist', 'cli.js');
/** The server the benchmarks use unless --pg-url says otherwise. */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432';
/** Names a benchmark puts into SQL unquoted (databases, indexes): lowercase letters, digits and _. */
export const SQL_NAME = /^[a-z_][a-z0-9_]*$/;

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops `database` (connections forced out) and creates it empty, through the server's `postgres` database. */
export async function recreateDatabase(pgUrl: string, database: string): Promise<void> {
  await withClient(`${pgUrl}/postgres`, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${database}`);
  });
}

/** Drops `database`; a failure is printed, not thrown (the benchmark's result stands). */
export async function dropDatabase(pgUrl: string, database: string): Promise<void> {
  await withClient(`${pgUrl}/postgres`, (c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch((err: unknown) => {
    console.error(`could not drop ${database}: ${(err as Error).message}`);
  });
}

/** Applies the shipped migrations with `otel-audit migrate`. */
export function migrateDatabase(dbUrl: string): void {
  const migrate = spawnSync(process.execPath, [CLI, 'migrate', '--database-url', dbUrl], { encoding: 'utf8', env: childEnv() });
  if (migrate.status !== 0) throw new Error(`otel-audit migrate failed:\n${migrate.stdout}${migrate.stderr}`);
}

/** The server's version, e.g. `15.20`. */
export async function serverVersion(c: pg.Client): Promise<string> {
  const v = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  return (v.rows[0]?.v ?? '?').split(' ')[0] ?? '?';
}

/**
 * Runs one psql command on `dbUrl`; rejects with what psql said when it
 * fails, else resolves with its output (with `quiet`, the default, psql
 * leaves out command tags such as `COPY <n>`).
 */
export async function runPsql(dbUrl: string, command: string, { quiet = true, verbose = false } = {}): Promise<string> {
  const flags = quiet ? ['-X', '-q'] : ['-X'];
  const { code, output } = await runCommand('psql', [...flags, '-v', 'ON_ERROR_STOP=1', '-d', dbUrl, '-c', command], verbose);
  if (code !== 0) throw new Error(`psql exited ${code}: ${output.trim()}`);
  return output;
}
