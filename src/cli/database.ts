/**
 * How the database commands (verify, retention, ...) choose and open the
 * database: `--database-url URL` or `--data-dir DIR`, else the variables the
 * sink reads (DATABASE_URL, PG*, OTEL_AUDIT_DATA_DIR).
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { isConnectionError, openDatabase, type Database } from '../db/database.js';
import { warnPasswordInArgv } from './options.js';

export { urlHasPassword, warnPasswordInArgv } from './options.js';

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

const DB_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

type DbCommandConfig<T extends ParseArgsOptionsConfig> = { args: string[]; options: T & typeof DB_OPTIONS; strict: true; allowPositionals: false };
export type DbCommandValues<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<DbCommandConfig<T>>>['values'];

/** A usage error of command `name`: the message and where to find the usage; exit status 2. */
export function usageError(name: string, message: string): number {
  process.stderr.write(`otel-audit ${name}: ${message}\nRun "otel-audit ${name} --help" for usage.\n`);
  return 2;
}

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
  let values: DbCommandValues<T>;
  try {
    ({ values } = parseArgs<DbCommandConfig<T>>({ args: [...argv], options: { ...options, ...DB_OPTIONS }, strict: true, allowPositionals: false }));
  } catch (err) {
    return { exit: usageError(name, (err as Error).message) };
  }
  const v = values as { help?: boolean; 'database-url'?: string; 'data-dir'?: string };
  if (v.help) {
    process.stdout.write(help);
    return { exit: 0 };
  }
  const problem = databaseFlagsProblem(v['database-url'], v['data-dir']);
  if (problem) return { exit: usageError(name, problem) };
  warnPasswordInArgv(name, v['database-url']);
  return { values };
}
