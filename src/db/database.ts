/**
 * One interface over the two databases the sink can write to: a Postgres
 * server (`pg` pool) and the embedded PGlite (Postgres compiled to WASM, in a
 * local data directory).
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
 * Errors are passed through as the drivers raise them; database errors carry
 * the SQLSTATE in `code` on both. {@link isConnectionError} tells whether an
 * error means "the database is unreachable" (retry later) rather than "this
 * statement is wrong".
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { copyIn } from './copy-in.js';

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
  /** Errors that no caller can receive, e.g. an idle pooled connection dropped by the server. */
  onError?: (err: Error) => void;
}

const PG_SELECTORS = ['PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE'] as const;

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
  const dir = resolve(options.dataDir ?? nonEmpty(env.OTEL_AUDIT_DATA_DIR) ?? './.otel-audit');
  return openPglite(dir);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

// ---------------------------------------------------------------------------
// Postgres (pg.Pool)

const OID = {
  DATE: 1082,
  TIMESTAMP: 1114,
  INTERVAL: 1186,
  POINT: 600,
  CIRCLE: 718,
  TEXT_ARRAY: 1009,
  DATE_ARRAY: 1182,
  TIMESTAMP_ARRAY: 1115,
  NUMERIC_ARRAY: 1231,
  INTERVAL_ARRAY: 1187,
  POINT_ARRAY: 1017,
} as const;

const keepText = (value: string): string => value;
// pg-types' TypeId enum lists element types only; array OIDs are plain numbers.
const parseTextArray = pg.types.getTypeParser(OID.TEXT_ARRAY as number) as (value: string) => unknown;

/** pg's parsers, except where PGlite (as configured below) would differ. */
function pgTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (format === 'binary') return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  switch (oid) {
    case OID.DATE:
    case OID.TIMESTAMP:
      // pg would read these as local time of this process; keep the text.
      return keepText;
    case OID.INTERVAL:
    case OID.POINT:
    case OID.CIRCLE:
      // pg builds objects of its own for these; PGlite gives the text.
      return keepText;
    case OID.DATE_ARRAY:
    case OID.TIMESTAMP_ARRAY:
    case OID.NUMERIC_ARRAY: // pg reads numeric[] as floats (losing precision), unlike numeric
    case OID.INTERVAL_ARRAY:
    case OID.POINT_ARRAY:
      return parseTextArray;
    default:
      return pg.types.getTypeParser(oid) as (value: string) => unknown;
  }
}

function openPostgres(config: pg.PoolConfig, description: string, options: DatabaseOptions): Database {
  const report = options.onError ?? defaultOnError;
  const pool = new pg.Pool({
    ...config,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    fallback_application_name: 'otel-audit',
    types: { getTypeParser: pgTypeParser },
  });
  // A pooled client that is idle when its connection fails (server restart,
  // network cut, admin terminate) emits `error` on the pool; with no listener
  // Node would treat it as an unhandled `error` event and crash the process.
  // The pool has already discarded that client; the next query reconnects.
  pool.on('error', (err) => report(err));

  /** Clients whose session is set up (time zone). */
  const ready = new WeakSet<pg.PoolClient>();

  /**
   * Run fn on a pooled client. A client whose connection failed is
   * destroyed on release instead of going back to the pool.
   */
  async function withClient<T>(fn: (client: pg.PoolClient, markBroken: (err: Error) => void) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    const markBroken = (err: Error): void => {
      broken ??= err;
    };
    // While a client is checked out the pool does not listen for its errors,
    // and an `error` event without a listener would crash the process. The
    // query in progress rejects with the same error; here it only marks the
    // client broken.
    client.on('error', markBroken);
    try {
      if (!ready.has(client)) {
        // Same session time zone as PGlite.
        await client.query("SET TIME ZONE 'UTC'");
        ready.add(client);
      }
      return await fn(client, markBroken);
    } catch (err) {
      if (isConnectionError(err)) markBroken(asError(err));
      throw err;
    } finally {
      client.removeListener('error', markBroken);
      client.release(broken);
    }
  }

  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    description,
    query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      return withClient(async (client) => normalisePg<R>(await client.query(sql, params)));
    },
    async exec(sql: string): Promise<void> {
      // No parameters: pg uses the simple query protocol, which runs scripts.
      await withClient((client) => client.query(sql));
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      return withClient(async (client, markBroken) => {
        let finished = false;
        const ensureOpen = (): void => {
          if (finished) throw new Error('otel-audit: query on a transaction that has already ended');
        };
        const tx: Transaction = {
          async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
            ensureOpen();
            return normalisePg<R>(await client.query(sql, params));
          },
          async exec(sql: string): Promise<void> {
            ensureOpen();
            await client.query(sql);
          },
          async copyIn(sql: string, data: Buffer): Promise<number> {
            ensureOpen();
            return copyIn(client, sql, data);
          },
        };
        await client.query('BEGIN');
        let value: T;
        try {
          value = await fn(tx);
        } catch (err) {
          finished = true;
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            markBroken(asError(rollbackErr));
          }
          throw err;
        }
        finished = true;
        const commit = await client.query('COMMIT');
        if (commit.command === 'ROLLBACK') {
          // Postgres answers COMMIT of a failed transaction with ROLLBACK, not an error.
          throw Object.assign(new Error('otel-audit: the transaction failed and was rolled back instead of committed'), {
            code: '25P02',
          });
        }
        return value;
      });
    },
    close(): Promise<void> {
      closed ??= pool.end();
      return closed;
    },
  };
}

function normalisePg<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
}

function defaultOnError(err: Error): void {
  process.stderr.write(`otel-audit: database connection error: ${err.message}\n`);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Postgres connection settings from libpq's variables (and `PGSERVICE`'s service file). */
function pgConfigFromEnv(env: Record<string, string | undefined>): pg.PoolConfig {
  const service = nonEmpty(env.PGSERVICE);
  const fromService = service === undefined ? {} : readServiceFile(service, env);
  // libpq: service file entries win over the environment.
  const get = (key: string, variable: string): string | undefined => fromService[key] ?? nonEmpty(env[variable]);
  const config: pg.PoolConfig = {};
  const host = get('host', 'PGHOST') ?? fromService.hostaddr ?? nonEmpty(env.PGHOSTADDR);
  if (host !== undefined) config.host = host;
  const port = get('port', 'PGPORT');
  if (port !== undefined) config.port = Number(port);
  const user = get('user', 'PGUSER');
  if (user !== undefined) config.user = user;
  const password = get('password', 'PGPASSWORD');
  if (password !== undefined) config.password = password;
  const database = get('dbname', 'PGDATABASE');
  if (database !== undefined) config.database = database;
  const appName = get('application_name', 'PGAPPNAME');
  if (appName !== undefined) config.application_name = appName;
  const pgOptions = get('options', 'PGOPTIONS');
  if (pgOptions !== undefined) config.options = pgOptions;
  const sslmode = get('sslmode', 'PGSSLMODE');
  if (sslmode !== undefined) {
    // As pg reads PGSSLMODE: verification happens for every mode that asks for TLS.
    config.ssl = sslmode === 'disable' || sslmode === 'allow' ? false : sslmode === 'no-verify' ? { rejectUnauthorized: false } : true;
  }
  return config;
}

/**
 * The `[service]` section of the connection service file: `PGSERVICEFILE`,
 * else `~/.pg_service.conf`, else `$PGSYSCONFDIR/pg_service.conf` (libpq's
 * search order). pg itself does not read service files.
 */
function readServiceFile(service: string, env: Record<string, string | undefined>): Record<string, string> {
  const candidates = [
    nonEmpty(env.PGSERVICEFILE),
    join(nonEmpty(env.HOME) ?? homedir(), '.pg_service.conf'),
    nonEmpty(env.PGSYSCONFDIR) === undefined ? undefined : join(env.PGSYSCONFDIR ?? '', 'pg_service.conf'),
  ];
  for (const file of candidates) {
    if (file === undefined) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const section = parseServiceSection(text, service);
    if (section !== undefined) return section;
  }
  throw new Error(`otel-audit: PGSERVICE=${service}: no such service in ${candidates.filter(Boolean).join(', ')}`);
}

function parseServiceSection(text: string, service: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1];
      if (current === service) found ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (current === service && found && eq > 0) {
      found[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
  }
  return found;
}

/** `postgres://user@host:port/db`: the URL without password or query string. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    const socketHost = u.searchParams.get('host');
    const host = u.host || (socketHost ?? '');
    return `${u.protocol}//${user}${host}${u.pathname}`;
  } catch {
    return 'postgres (connection URL not shown)';
  }
}

function describeConfig(config: pg.PoolConfig): string {
  const user = config.user ?? process.env.USER ?? '';
  const host = config.host ?? 'localhost';
  const port = config.port ?? 5432;
  const database = config.database ?? user;
  return `postgres://${user ? `${user}@` : ''}${host}:${port}/${database} (from PG* variables)`;
}

// ---------------------------------------------------------------------------
// Embedded PGlite

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, 'pgdata');
  const releaseLock = lockDataDir(join(dir, 'pgdata.lock'), dataDir);
  let lite: PGlite;
  try {
    // Loaded on demand: the WASM module is large and unused with a Postgres server.
    const { PGlite: Lite } = await import('@electric-sql/pglite');
    lite = await Lite.create({
      dataDir,
      parsers: {
        20: keepText, // int8: PGlite gives a number, or a bigint past 2^53; pg gives a string
        1700: keepText, // numeric (also for numeric[])
        [OID.DATE]: keepText,
        [OID.TIMESTAMP]: keepText,
        17: parseBytea, // bytea: Buffer like pg, not Uint8Array
      },
    });
  } catch (err) {
    releaseLock();
    throw err;
  }

  let closed: Promise<void> | undefined;
  // PGlite has one connection. Its query() and transaction() already queue
  // behind a running transaction, so concurrent callers never interleave
  // inside one.
  return {
    kind: 'pglite',
    description: `embedded PGlite in ${dataDir}`,
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      return normaliseLite<R>(await lite.query<R>(sql, params));
    },
    async exec(sql: string): Promise<void> {
      await lite.exec(sql);
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      return lite.transaction(async (liteTx) => {
        const tx: Transaction = {
          async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
            return normaliseLite<R>(await liteTx.query<R>(sql, params));
          },
          async exec(sql: string): Promise<void> {
            await liteTx.exec(sql);
          },
        };
        return fn(tx);
      });
    },
    close(): Promise<void> {
      closed ??= lite.close().finally(releaseLock);
      return closed;
    },
  };
}

function normaliseLite<R>(result: { rows: R[]; rowCount?: number; affectedRows?: number }): QueryResult<R> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? 0 };
}

function parseBytea(text: string): Buffer {
  // Postgres' default bytea_output is hex: `\x0102…`.
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex') : Buffer.from(text, 'latin1');
}

/**
 * PGlite has no lock of its own: two processes opening one data directory
 * would corrupt it. A lock file holding our PID keeps the second one out
 * (a stale file, whose process is gone, is taken over).
 */
function lockDataDir(lockFile: string, dataDir: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createLockFile(lockFile)) {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(lockFile);
        } catch {
          // Already gone (removed by hand): nothing to release.
        }
      };
    }
    const pid = Number.parseInt(readFileOrEmpty(lockFile), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      throw new Error(
        `otel-audit: the embedded database ${dataDir} is in use by process ${pid}` +
          (pid === process.pid ? ' (this process)' : '') +
          `; stop it, or remove ${lockFile} if that process is not otel-audit`,
      );
    }
    try {
      unlinkSync(lockFile);
    } catch {
      // Another process removed the stale lock first; the next attempt decides.
    }
  }
  throw new Error(`otel-audit: cannot lock the embedded database ${dataDir} (${lockFile})`);
}

/**
 * Create the lock file holding our PID; false when it already exists. The
 * file is written under a temporary name and hard-linked into place, so no
 * other process can see it empty.
 */
function createLockFile(lockFile: string): boolean {
  const temp = `${lockFile}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`);
  try {
    linkSync(temp, lockFile);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------
// Error classification

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovery)
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
]);

const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection error and is not queryable/i,
  // The database was closed (the process is shutting down).
  /^PGlite is closed$/,
  /^Cannot use a pool after calling end on the pool$/,
];

/**
 * Whether err means the database cannot be reached right now (refused, reset,
 * timed out, shutting down, out of connection slots, connection class 08),
 * as opposed to an error in the statement or its data. The sink answers those
 * with a retryable status.
 */
export function isConnectionError(err: unknown): boolean {
  return connectionError(err, 0);
}

function connectionError(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > 5) return false;
  const { code, message, cause, errors } = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(message))) return true;
  // Node reports a failed connect to several addresses as an AggregateError.
  if (Array.isArray(errors) && errors.some((e) => connectionError(e, depth + 1))) return true;
  return cause !== undefined && connectionError(cause, depth + 1);
}
