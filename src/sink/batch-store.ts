/**
 * Writing one batch of submissions to the database: records, emitters and
 * rejected input in one statement; conflicts found and kept in
 * audit.rejected; a submission the database refuses set aside there.
 */
import type { KeyObject } from 'node:crypto';
import type { Database, Queryable, Transaction } from '../db/database.js';
import { INSERT_BATCH } from './batch-insert.js';
import { conflictParams, rejectedParams, type HashedRow } from './batch-params.js';
import { FIND_CONFLICTS, INSERT_REJECTED } from './batch-sql.js';
import { contentHashOrPlain, identityOf } from './content-hash.js';
import { addOutboxTotals, halfOf, mergeOutboxHalves, noOutboxTotals, outboxIdOf, reportLate, type HalfEntry, type OutboxTotals } from './outbox-merge.js';
import type { AuditRow } from './row.js';
import type { RowEncryptor } from './row-encryption.js';
import type { RejectedInput, SubmitResult, SubmitSource, WriteMethod } from './writer-types.js';

/** `reason` of a record kept in audit.rejected because its key exists with other content. */
export const CONFLICT_REASON = 'conflict';
/** Reasons an answer's error message names at most. */
const MAX_REASONS = 3;
/** Characters of a reason kept when the decoded record cannot be stored with it. */
const SHORT_REASON_LENGTH = 200;

/** A submission waiting for (or in) a batch. */
export interface Pending {
  rows: AuditRow[];
  /** Per row, in order: its content hash and its identity within a batch ({@link keysOf}). */
  keys: RowKey[];
  rejects: RejectedInput[];
  source: SubmitSource;
  result: SubmitResult;
  resolve: (result: SubmitResult) => void;
  reject: (e: Error) => void;
  /** Its rows are encrypted already (a batch may be written more than once). */
  encrypted?: boolean;
}

/** What writing (part of) a batch did. */
export interface WriteTotals {
  inserted: number;
  duplicates: number;
  conflicts: number;
  /** Rows set aside because the database refused their export. */
  refused: number;
  /** What the outbox merge did (outbox-merge.ts), when the batch held outbox halves. */
  outbox?: OutboxTotals;
}

/** Adds `t` into `into`. */
export function addTotals(into: WriteTotals, t: WriteTotals): void {
  into.inserted += t.inserted;
  into.duplicates += t.duplicates;
  into.conflicts += t.conflicts;
  into.refused += t.refused;
  if (t.outbox) addOutboxTotals((into.outbox ??= noOutboxTotals()), t.outbox);
}

/** What a batch needs of each row before it is written. */
export interface RowKey {
  hash: Buffer;
  id: string;
}

/**
 * The rows' keys, computed when a submission arrives rather than when its
 * batch is written: hashing is most of the writer's own CPU, and this way it
 * runs while the previous batch is in the database.
 */
export function keysOf(rows: readonly AuditRow[], hashKey?: KeyObject): RowKey[] {
  return rows.map((row) => ({ hash: contentHashOrPlain(row, hashKey), id: identityOf(row) }));
}

/**
 * Replaces the rows of the batch's submissions by their encrypted form, once
 * per submission: from then on nothing of the batch (records, conflicts and
 * refused rows kept in audit.rejected) holds the encrypted fields in clear.
 */
export async function encryptBatch(db: Database, batch: Pending[], encryptor: RowEncryptor): Promise<void> {
  const todo = batch.filter((p) => p.encrypted !== true);
  if (todo.length === 0) return;
  const encrypted = await encryptor.encrypt(db, todo.flatMap((p) => p.rows));
  let at = 0;
  for (const p of todo) {
    p.rows = encrypted.slice(at, at + p.rows.length);
    at += p.rows.length;
    p.encrypted = true;
  }
}

/** A row with its content hash and the submission it came from. */
interface Keyed extends HashedRow {
  owner: Pending;
}

/**
 * The database refused the data itself (a value or a constraint), as
 * opposed to being unavailable, overloaded or misconfigured: SQLSTATE classes
 * 22 (data exception), 23 (integrity constraint) and 54 (program limit, e.g.
 * an index entry too large).
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

function addReason(result: SubmitResult, reason: string): void {
  if (result.reasons.length < MAX_REASONS) result.reasons.push(reason);
}

/** Inserts rejected input; when its decoded form or reason cannot be stored, keeps at least the bytes. */
export async function keepRejected(db: Queryable, rejects: RejectedInput[]): Promise<void> {
  if (rejects.length === 0) return;
  try {
    await db.query(INSERT_REJECTED, rejectedParams(rejects));
  } catch (err) {
    if (!isDataError(err)) throw err;
    // bytea takes anything.
    const reason = (r: RejectedInput): string => `${r.reason.slice(0, SHORT_REASON_LENGTH)} (decoded record not storable: ${(err as Error).message})`;
    await db.query(INSERT_REJECTED, rejectedParams(rejects.map((r) => ({ ...r, reason: reason(r), record: null, peer: null }))));
  }
}

/**
 * Records, emitters and rejected input atomically (`method`: batch-insert.ts);
 * then, only when some records inserted nothing, which of those are
 * conflicts (one query) and those kept in audit.rejected (one insert). A
 * failure after the first step leaves the client retrying: the retry finds
 * the same conflicts.
 */
export async function writeBatch(db: Database, batch: Pending[], method: WriteMethod, encryptor?: RowEncryptor): Promise<WriteTotals> {
  if (encryptor) await encryptBatch(db, batch, encryptor);
  const halves = outboxHalves(batch);
  if (halves.length === 0) return writeRecords(db, batch, method, false);
  // Halves of outbox records (a minority) take their own path, in the same transaction as the batch's other rows.
  const { totals, late } = await db.transaction(async (tx) => {
    const ordinary = await writeRecords(transactionDatabase(db, tx), batch, method, true);
    const merge = await mergeOutboxHalves(tx, halves, encryptor?.hashKey, (rejects) => keepRejected(tx, rejects));
    ordinary.inserted += merge.totals.merged;
    ordinary.duplicates += merge.totals.duplicates;
    ordinary.outbox = merge.totals;
    return { totals: ordinary, late: merge.late };
  });
  reportLate(late, addReason);
  return totals;
}

/** The rows of a batch that are halves of outbox records, in batch order. */
function outboxHalves(batch: readonly Pending[]): HalfEntry[] {
  const out: HalfEntry[] = [];
  for (const p of batch) {
    for (const row of p.rows) {
      const outboxId = outboxIdOf(row);
      if (outboxId !== undefined) out.push({ row, half: halfOf(row), outboxId, source: p.source, result: p.result });
    }
  }
  return out;
}

/** `db` seen from inside one of its transactions: statements run on `tx`, and a nested transaction is `tx` itself. */
function transactionDatabase(db: Database, tx: Transaction): Database {
  return {
    kind: db.kind,
    description: db.description,
    query<R>(sql: string, params?: unknown[]) {
      return tx.query<R>(sql, params);
    },
    exec: (sql) => tx.exec(sql),
    transaction<T>(fn: (t: Transaction) => Promise<T>) {
      return fn(tx);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * The batch's ordinary rows (all rows but outbox halves when `skipHalves`)
 * to audit.records; the emitters' bookkeeping covers every row, halves
 * included: a half waiting for its partner has arrived, and no sequence gap
 * may be reported for it.
 */
async function writeRecords(db: Database, batch: Pending[], method: WriteMethod, skipHalves: boolean): Promise<WriteTotals> {
  const unique: Keyed[] = [];
  const conflicts: Keyed[] = [];
  let duplicates = 0;
  const seen = new Map<string, Buffer>();
  for (const p of batch) {
    for (let i = 0; i < p.rows.length; i++) {
      const row = p.rows[i] as AuditRow;
      if (skipHalves && outboxIdOf(row) !== undefined) continue;
      const { hash, id } = p.keys[i] as RowKey;
      const keyed: Keyed = { row, hash, owner: p };
      const first = seen.get(id);
      if (first === undefined) {
        seen.set(id, keyed.hash);
        unique.push(keyed);
      } else if (first.equals(keyed.hash)) {
        duplicates++;
      } else {
        conflicts.push(keyed);
      }
    }
  }
  const rows = batch.flatMap((p) => p.rows);
  const rejects = batch.flatMap((p) => p.rejects);
  const skipped = (await INSERT_BATCH[method](db, unique, rows, rejects)).map((i) => unique[i - 1] as Keyed);
  if (skipped.length > 0) {
    const found = await db.query<{ i: number }>(FIND_CONFLICTS, conflictParams(skipped));
    for (const { i } of found.rows) conflicts.push(skipped[i - 1] as Keyed);
    duplicates += skipped.length - found.rows.length;
  }
  if (conflicts.length > 0) {
    await keepRejected(
      db,
      conflicts.map((k) => ({ ...k.owner.source, reason: CONFLICT_REASON, raw: Buffer.from(JSON.stringify(k.row)), record: k.row })),
    );
    for (const k of conflicts) {
      const r = k.owner.result;
      r.rejected++;
      r.conflicts++;
      addReason(r, `${CONFLICT_REASON}: a record with the key of this one (trace ${k.row.traceId}, span ${k.row.spanId}, action ${JSON.stringify(k.row.action)}) is stored with other content`);
    }
  }
  return { inserted: unique.length - skipped.length, duplicates, conflicts: conflicts.length, refused: 0 };
}

/** Keeps a submission the database refused: its rows and rejected input go to audit.rejected, with the reason. */
export async function setAside(db: Database, p: Pending, cause: Error): Promise<WriteTotals> {
  const reason = `the database refused the export: ${cause.message}`;
  await keepRejected(db, [...p.rejects, ...p.rows.map((row) => ({ ...p.source, reason, raw: Buffer.from(JSON.stringify(row)), record: row }))]);
  p.result.rejected += p.rows.length;
  addReason(p.result, reason);
  return { inserted: 0, duplicates: 0, conflicts: 0, refused: p.rows.length };
}
