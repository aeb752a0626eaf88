/**
 * The first statement of a batch, two ways: the unique rows inserted with
 * the emitters' bookkeeping and the rejected input, atomically, answering
 * the ordinals of the rows that inserted nothing (their key exists).
 *
 * - `unnest`: one statement, each column an array parameter (batch-sql.ts).
 *   Works on both databases.
 * - `copy`: binary COPY into a per-connection staging table, then one
 *   INSERT … SELECT … ON CONFLICT DO NOTHING moving the rows (copy-sql.ts),
 *   in one transaction. Postgres only. Postgres parses no text and the sink
 *   encodes no array literals: measured in bench/README.md ("sink-ingest").
 */
import type { Database } from '../db/database.js';
import { emitterParams, recordParams, rejectedParams, type HashedRow } from './batch-params.js';
import { WRITE_BATCH } from './batch-sql.js';
import { stagingCopyData } from './copy-rows.js';
import { COPY_STAGING, CREATE_STAGING, MOVE_STAGED } from './copy-sql.js';
import type { AuditRow } from './row.js';
import type { RejectedInput, WriteMethod } from './writer-types.js';

/** Stores a batch's unique rows, its emitters' sequence numbers and rejected input; answers the 1-based ordinals of rows that inserted nothing. */
export type InsertBatch = (db: Database, unique: readonly HashedRow[], rows: readonly AuditRow[], rejects: readonly RejectedInput[]) => Promise<number[]>;

const insertUnnest: InsertBatch = async (db, unique, rows, rejects) => {
  const params = [...recordParams(unique), ...emitterParams(rows), ...rejectedParams(rejects)];
  const res = await db.query<{ skipped: number[] | null }>(WRITE_BATCH, params);
  return res.rows[0]?.skipped ?? [];
};

const insertCopy: InsertBatch = async (db, unique, rows, rejects) => {
  // Encoded before the transaction: a value the format refuses costs no round trip.
  const data = unique.length > 0 ? stagingCopyData(unique) : undefined;
  return db.transaction(async (tx) => {
    if (!tx.copyIn) throw new Error('otel-audit: the copy write method needs a Postgres server');
    await tx.exec(CREATE_STAGING);
    if (data) await tx.copyIn(COPY_STAGING, data);
    const res = await tx.query<{ skipped: number[] | null }>(MOVE_STAGED, [...emitterParams(rows), ...rejectedParams(rejects), unique.length]);
    return res.rows[0]?.skipped ?? [];
  });
};

export const INSERT_BATCH: Readonly<Record<WriteMethod, InsertBatch>> = { unnest: insertUnnest, copy: insertCopy };

/**
 * The method the writer can use on `db`: `copy` needs a Postgres server and
 * the right to create temporary tables in the database (PUBLIC has it
 * unless an administrator revoked it); without them, `unnest`, which needs
 * neither. Checked once, at start, so that a missing privilege never turns
 * every batch into an error the clients retry forever.
 */
export async function usableWriteMethod(db: Database, wanted: WriteMethod): Promise<{ method: WriteMethod; reason?: string }> {
  if (wanted === 'unnest') return { method: wanted };
  if (db.kind !== 'postgres') return { method: 'unnest', reason: 'the embedded database has no COPY from a client' };
  const res = await db.query<{ temp: boolean }>("SELECT has_database_privilege(current_database(), 'TEMPORARY') AS temp");
  if (res.rows[0]?.temp !== true) return { method: 'unnest', reason: 'the database user may not create temporary tables (GRANT TEMPORARY ON DATABASE …)' };
  return { method: wanted };
}
