/**
 * How the database commands (verify, retention, ...) choose and open the
 * database: `--database-url URL` or `--data-dir DIR`, else the variables the
 * sink reads (DATABASE_URL, PG*, OTEL_AUDIT_DATA_DIR).
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { isConnectionError, openDatabase, type Database } from '../db/database.js';
import { parseCommand, usageError, warnPasswordInArgv, type CommandValues } from './options.js';

export { urlHasPassword, usageError, warnPasswordInArgv } from './options.js';

/** Environment variables that select a Postgres server. */
const SERVER_VARIABLES = ['DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE'];

export const DATABASE_HELP = `  --database-url URL  Postgres server (default: DATABASE_URL, else PG* variables)
  --data-dir DIR      the embedded database in DIR (default: OTEL_AUDIT_DATA_DIR, else ./.otel-audit)`;

/** A usage problem of the database flags, or undefined. */
export function databaseFlagsProblem(url: string | undefined, dataDir: string | undefined): string | undefined {
  if (url !== undefined && dataDir !== undefined) return '--database-url and --data-dir exclude each other';
  if (url === '' || dataDir === '') return '--database-url and --data-dir need a value';
  return undefined;
}

export async function openCliDatabase(url: string | undefined, dataDir: string | undefined, onError?: (err: Error) => void): Promise<Database> {
  let env: Record<string, string | undefined> = process.env;
  if (dataDir !== undefined) {
    // The flag asks for the embedded database: server variables must not win.
    env = { ...process.env };
    for (const name of SERVER_VARIABLES) delete env[name];
  }
  return openDatabase({ ...(url !== undefined ? { url } : {}), ...(dataDir !== undefined ? { dataDir } : {}), env, poolSize: 2, ...(onError ? { onError } : {}) });
}

/** The error as one line; connection failures to several addresses have an empty message. */
export function oneLine(err: unknown): string {
  let text: string;
  if (err instanceof AggregateError && err.errors.length > 0) {
    text = err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    text = err.message || (typeof code === 'string' ? code : err.name);
  } else {
    text = String(err);
  }
  // Whitespace runs that hold a line break become one space (one pass, no backtracking).
  return text.replace(/\s+/g, (ws) => (ws.includes('\n') ? ' ' : ws)).trim();
}

/** An error of a database command, as one line naming the database when it could not be reached. */
export function describeDbError(err: unknown, db: Database | undefined): string {
  const where = db ? ` (${db.description})` : '';
  return `${isConnectionError(err) ? `cannot reach the database${where}: ` : ''}${oneLine(err)}`;
}

/**
 * Runs a command's work on its database: opened from the flags, closed
 * afterwards; an error becomes one line on stderr (`otel-audit <command>: …`)
 * and the exit code `failCode`.
 */
export async function withCliDatabase(
  command: string,
  url: string | undefined,
  dataDir: string | undefined,
  run: (db: Database) => Promise<number>,
  failCode = 1,
): Promise<number> {
  let db: Database | undefined;
  try {
    db = await openCliDatabase(url, dataDir);
    return await run(db);
  } catch (err) {
    process.stderr.write(`otel-audit ${command}: ${describeDbError(err, db)}\n`);
    return failCode;
  } finally {
    await db?.close().catch(() => undefined);
  }
}

const DB_OPTIONS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export type DbCommandValues<T extends ParseArgsOptionsConfig> = CommandValues<T & typeof DB_OPTIONS>;

/**
 * Parse the flags of a database command (its own plus --help, --database-url
 * and --data-dir). Returns the values, or the exit status when there is
 * nothing more to do: 0 after printing the help, 2 after a usage error.
 */
export function parseDbCommand<T extends ParseArgsOptionsConfig>(
  name: string,
  argv: readonly string[],
  options: T,
  help: string,
): { values: DbCommandValues<T> } | { exit: number } {
  const parsed = parseCommand(name, argv, { ...options, ...DB_OPTIONS }, help);
  if ('exit' in parsed) return parsed;
  const v = parsed.values as { 'database-url'?: string; 'data-dir'?: string };
  const problem = databaseFlagsProblem(v['database-url'], v['data-dir']);
  if (problem) return { exit: usageError(name, problem) };
  warnPasswordInArgv(name, v['database-url']);
  return parsed;
}
