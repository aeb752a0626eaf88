/**
 * The embedded PGlite (Postgres compiled to WASM, in a local data directory)
 * as a {@link Database}, held by one process at a time through a lock file.
 * A statement on a closed (or closing) instance fails with a
 * {@link DatabaseUnavailableError}.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { asUnavailable, DatabaseUnavailableError, UNAVAILABLE } from './connection-error.js';
import { lockDataDir, type DataDirHolder } from './data-dir-lock.js';
import type { Database, QueryResult, Transaction } from './types.js';
import { PGLITE_PARSERS } from './value-parsers.js';

export async function openPglite(dir: string, holder?: DataDirHolder): Promise<Database> {
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, 'pgdata');
  const releaseLock = lockDataDir(join(dir, 'pgdata.lock'), dataDir, holder);
  let lite: PGlite;
  try {
    // Loaded on demand: the WASM module is large and unused with a Postgres server.
    const { PGlite: Lite } = await import('@electric-sql/pglite');
    lite = await Lite.create({ dataDir, parsers: PGLITE_PARSERS });
  } catch (err) {
    releaseLock();
    throw err;
  }

  let closed: Promise<void> | undefined;
  /** Run one call into PGlite; once it is closed (or closing), its failure is a connection error. */
  async function use<T>(fn: () => Promise<T>): Promise<T> {
    if (closed) throw new DatabaseUnavailableError(UNAVAILABLE.closed);
    try {
      return await fn();
    } catch (err) {
      if (closed || lite.closed) throw asUnavailable(err, UNAVAILABLE.closed);
      throw err;
    }
  }

  // PGlite has one connection. Its query() and transaction() already queue
  // behind a running transaction, so concurrent callers never interleave
  // inside one.
  return {
    kind: 'pglite',
    description: `embedded PGlite in ${dataDir}`,
    query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      return use(async () => normaliseLite<R>(await lite.query<R>(sql, params)));
    },
    exec(sql: string): Promise<void> {
      return use(async () => void (await lite.exec(sql)));
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      return use(() =>
        lite.transaction(async (liteTx) => {
          const tx: Transaction = {
            async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
              return normaliseLite<R>(await liteTx.query<R>(sql, params));
            },
            async exec(sql: string): Promise<void> {
              await liteTx.exec(sql);
            },
          };
          return fn(tx);
        }),
      );
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
