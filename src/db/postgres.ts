/**
 * A Postgres server behind a `pg` pool, as a {@link Database}. Knows the state
 * of its pool and of each checked-out client, so it raises a
 * {@link DatabaseUnavailableError} for the connection failures that the
 * driver reports without a code.
 */
import pg from 'pg';
import { asUnavailable, DatabaseUnavailableError, isConnectionError, UNAVAILABLE } from './connection-error.js';
import type { Database, DatabaseOptions, QueryResult, Transaction } from './types.js';
import { pgTypeParser } from './value-parsers.js';
import { copyIn } from './copy-in.js';

const DEFAULT_POOL_SIZE = 10;
const CONNECT_TIMEOUT_MS = 5_000;
/** SQLSTATE in_failed_sql_transaction, as PGlite raises it for COMMIT of a failed transaction. */
const FAILED_TRANSACTION = '25P02';

export function openPostgres(config: pg.PoolConfig, description: string, options: DatabaseOptions): Database {
  const report = options.onError ?? defaultOnError;
  const pool = new pg.Pool({
    ...config,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    fallback_application_name: 'otel-audit',
    types: { getTypeParser: pgTypeParser },
  });
  // A pooled client that is idle when its connection fails (server restart,
  // network cut, admin terminate) emits `error` on the pool; with no listener
  // Node would treat it as an unhandled `error` event and crash the process.
  // The pool has already discarded that client; the next query reconnects.
  pool.on('error', (err) => report(asUnavailable(err, UNAVAILABLE.connectionLost)));

  /** Clients whose session is set up (time zone). */
  const ready = new WeakSet<pg.PoolClient>();
  let closed: Promise<void> | undefined;

  async function connect(): Promise<pg.PoolClient> {
    if (closed) throw new DatabaseUnavailableError(UNAVAILABLE.closed);
    try {
      return await pool.connect();
    } catch (err) {
      // A server's answer (bad password, no such database) keeps its SQLSTATE;
      // anything else (refused, timed out, pool ended) means no connection.
      if (err instanceof pg.DatabaseError) throw err;
      throw asUnavailable(err, closed ? UNAVAILABLE.closed : UNAVAILABLE.connectFailed);
    }
  }

  /**
   * Run fn on a pooled client. A client whose connection failed is
   * destroyed on release instead of going back to the pool, and the error
   * fn saw is raised as a connection error.
   */
  async function withClient<T>(fn: (client: pg.PoolClient, markBroken: (err: Error) => void) => Promise<T>): Promise<T> {
    const client = await connect();
    let broken: Error | undefined;
    let lost: Error | undefined;
    const markBroken = (err: Error): void => {
      broken ??= err;
    };
    // While a client is checked out the pool does not listen for its errors,
    // and an `error` event without a listener would crash the process. pg
    // emits it (or `end`) before it fails the query in progress, so by the
    // time that query's error arrives here the connection is known lost.
    const onLost = (err?: Error): void => {
      lost ??= err ?? new DatabaseUnavailableError(UNAVAILABLE.connectionLost);
      markBroken(lost);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    try {
      if (!ready.has(client)) {
        // Same session time zone as PGlite.
        await client.query("SET TIME ZONE 'UTC'");
        ready.add(client);
      }
      return await fn(client, markBroken);
    } catch (err) {
      if (lost !== undefined) throw asUnavailable(err, UNAVAILABLE.connectionLost);
      if (isConnectionError(err)) markBroken(asError(err));
      throw err;
    } finally {
      client.removeListener('error', onLost);
      client.removeListener('end', onLost);
      client.release(broken);
    }
  }

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
            code: FAILED_TRANSACTION,
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
