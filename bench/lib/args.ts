/**
 * Command lines of the benchmarks: checks of option values, the options
 * every benchmark takes, and --help / usage errors.
 */
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_PG_URL, SQL_NAME } from './pg.ts';

/** A mistake on the command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/** The value of `--<name>` as a positive number (an integer unless `integer` is false), or `fallback` when not given. */
export function positive(name: string, raw: string | undefined, fallback: number, integer = true): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} ${raw}: expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return n;
}

/** parseArgs options that every benchmark takes: profiling, the report, help. */
export const COMMON_OPTIONS = {
  'cpu-prof': { type: 'boolean' },
  'cpu-prof-dir': { type: 'string' },
  top: { type: 'string' },
  write: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CommonOptions {
  /** Where CPU profiles go; undefined without --cpu-prof or --cpu-prof-dir. */
  cpuProfDir: string | undefined;
  /** Rows of the profile summary. */
  top: number;
  /** Replace the results section of bench/README.md. */
  write: boolean;
  verbose: boolean;
}

/** The values of COMMON_OPTIONS, checked (a temp directory for profiles when --cpu-prof has none). */
export function commonOptions(values: { 'cpu-prof'?: boolean; 'cpu-prof-dir'?: string; top?: string; write?: boolean; verbose?: boolean }): CommonOptions {
  const profiling = values['cpu-prof'] === true || values['cpu-prof-dir'] !== undefined;
  return {
    cpuProfDir: profiling ? resolve(values['cpu-prof-dir'] ?? mkdtempSync(join(os.tmpdir(), 'otel-audit-prof-'))) : undefined,
    top: positive('top', values.top, 20),
    write: values.write === true,
    verbose: values.verbose === true,
  };
}

/** parseArgs options of the benchmarks that make a database of their own. */
export const DATABASE_OPTIONS = {
  'pg-url': { type: 'string' },
  database: { type: 'string' },
  'keep-database': { type: 'boolean' },
} as const;

export interface DatabaseOptions {
  /** The server, without a database. */
  pgUrl: string;
  /** The database the benchmark creates (and drops unless keepDatabase). */
  database: string;
  keepDatabase: boolean;
}

/** The values of DATABASE_OPTIONS, checked; `database` when --database is not given. */
export function databaseOptions(values: { 'pg-url'?: string; database?: string; 'keep-database'?: boolean }, database: string): DatabaseOptions {
  const name = values.database ?? database;
  if (!SQL_NAME.test(name)) throw new UsageError(`--database ${name}: use lowercase letters, digits and _`);
  return {
    pgUrl: (values['pg-url'] ?? DEFAULT_PG_URL).replace(/\/+$/, ''),
    database: name,
    keepDatabase: values['keep-database'] === true,
  };
}

/**
 * Parses this process's arguments with `parse` (undefined for --help). Returns
 * the options, or, after --help or a mistake, the exit code once the usage
 * text (with the mistake first) is printed.
 */
export function commandLine<T>(parse: (argv: string[]) => T | undefined, usage: string): T | number {
  let opts: T | undefined;
  try {
    opts = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 2;
  }
  if (opts === undefined) {
    process.stdout.write(usage);
    return 0;
  }
  return opts;
}
