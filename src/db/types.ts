/**
 * The one interface over the two databases the sink can write to: a Postgres
 * server (`pg` pool, `postgres.ts`) and the embedded PGlite (`pglite.ts`).
 *
 * Values come back the same from both:
 *
 * | SQL type                       | JS value                                   |
 * |--------------------------------|--------------------------------------------|
 * | int2, int4, float4, float8     | number                                     |
 * | int8, numeric                  | string (exact; PGlite's own default is a number, or a bigint past 2^53) |
 * | timestamptz                    | Date (millisecond precision: microseconds are cut off) |
 * | date, timestamp (no time zone) | string as Postgres prints it, e.g. `2026-11-01` (no time zone to guess) |
 * | json, jsonb                    | parsed JSON                                |
 * | bytea                          | Buffer                                     |
 * | bool                           | boolean                                    |
 * | arrays                         | arrays of the above (numeric[] as strings) |
 * | everything else (text, uuid, inet, interval, point, int8multirange, …) | string (Postgres text output) |
 *
 * Parameters: strings, numbers, booleans, bigints, Dates, Buffers and `null`
 * work alike; JS arrays become Postgres arrays (so
 * `unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::int8[])` takes one JS
 * array per column). Pass **jsonb as JSON text** (`JSON.stringify(value)`),
 * also inside jsonb[]: a plain object works on both, but `pg` turns a JS
 * array into a Postgres array literal, which is not JSON, while PGlite
 * serialises it as JSON.
 *
 * `query()` runs one statement (PGlite always uses the extended protocol,
 * which refuses several); `exec()` runs a script. Both sessions run with
 * `TimeZone` UTC (PGlite's fixed setting; set on every Postgres connection) so
 * `::date`, `date_trunc` and text output of timestamptz agree.
 *
 * Statement errors are passed through as the drivers raise them, with the
 * SQLSTATE in `code` on both. A lost, refused or closed connection is a
 * {@link DatabaseUnavailableError} (or carries a connection errno/SQLSTATE);
 * `isConnectionError` tells the two apart.
 *
 * @see DatabaseUnavailableError in `connection-error.ts`
 */

import type { DataDirHolder } from './data-dir-lock.js';

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned or affected (0 for statements that report none). */
  rowCount: number;
}

export interface Queryable {
  /** One SQL statement with `$1`… parameters. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** The connection a {@link Database.transaction} callback runs on. */
export interface Transaction extends Queryable {
  /** Run a multi-statement SQL script (no parameters) inside the transaction. */
  exec(sql: string): Promise<void>;
  /**
   * Run `sql`, a `COPY … FROM STDIN`, with `data` as its input (in the
   * format the statement names); resolves with the rows copied. Postgres
   * only: PGlite's transactions leave it undefined.
   */
  copyIn?(sql: string, data: Buffer): Promise<number>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Run fn in one transaction on one connection (BEGIN/COMMIT, ROLLBACK on
   * throw). Inside fn use only `tx`: on PGlite the database itself waits for
   * the transaction to end, so `db.query()` there would never return. A
   * transaction that failed inside fn (an error was caught and ignored) does
   * not commit: COMMIT then throws with code 25P02 on both kinds.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Run a multi-statement SQL script (no parameters). */
  exec(sql: string): Promise<void>;
  /** A short description for logs, without any password. */
  readonly description: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Postgres connection URL; wins over everything else. */
  url?: string;
  /** Embedded database directory (default `OTEL_AUDIT_DATA_DIR`, else `./.otel-audit`). */
  dataDir?: string;
  /** Postgres pool size (default 10). */
  poolSize?: number;
  /** Environment to read `DATABASE_URL`, `PG*` and `OTEL_AUDIT_DATA_DIR` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Who opens the embedded database and how others can read it meanwhile: named in the error of a second opener. */
  holder?: DataDirHolder;
  /** Errors that no caller can receive, e.g. an idle pooled connection dropped by the server. */
  onError?: (err: Error) => void;
}
