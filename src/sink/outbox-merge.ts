/**
 * The transactional outbox at the sink: a record carrying `audit.outbox.id`
 * comes twice under one identity key, as the request's record (the SDK's,
 * without change values) and as the outbox record (the relay's, with the
 * change values that committed, `audit.origin` = `outbox`). The first half to
 * arrive waits in `audit.outbox_pending`; its partner makes ONE row of
 * audit.records: the request's columns, the outbox's change values and meta,
 * `audit.origin` = `request+outbox`. A half without a partner past the merge
 * window is written alone (outbox-window.ts). These records are a minority:
 * the ordinary rows of a batch keep their own path (batch-store.ts), and both
 * commit in one transaction.
 */
import { ATTR_AUDIT_META_PREFIX, ATTR_AUDIT_ORIGIN, ATTR_AUDIT_OUTBOX_ID } from '../contract/attributes.js';
import type { KeyObject } from 'node:crypto';
import { markerIn, SEALED_ATTRIBUTE, SEALED_OUTBOX_ATTRIBUTE } from '../crypto/record-cipher.js';
import type { Queryable } from '../db/database.js';
import { insertRecordsSql } from './batch-sql.js';
import { recordParams, type HashedRow } from './batch-params.js';
import { contentHashOrPlain } from './content-hash.js';
import { DELETE_PENDING, IDENTITY_KEYS, INSERT_PENDING, LOCK_KEYS, PENDING_OF_KEYS, STORED_OF_KEYS } from './outbox-sql.js';
import type { AuditRow } from './row.js';
import type { RejectedInput, SubmitResult, SubmitSource } from './writer-types.js';

/** Which half of an outbox record a row is. */
export type Half = 'request' | 'outbox';

/** `audit.origin` of a row written from both halves. */
export const ORIGIN_MERGED = 'request+outbox';
/** `audit.origin` of the relay's records, and of a row written from the outbox half alone. */
export const ORIGIN_OUTBOX = 'outbox';
/** `audit.origin` of a row written from the request half alone (its transaction rolled back, or never committed). */
export const ORIGIN_REQUEST = 'request';
/** `reason` (prefix) of a half kept in audit.rejected because the row of its key was written without it. */
export const LATE_REASON = 'outbox: late half';

/** What the merge did. */
export interface OutboxTotals {
  /** Rows written from both halves. */
  merged: number;
  /** Halves that started waiting. */
  pending: number;
  /** Rows written from one half, past the window, by origin. */
  flushedOutbox: number;
  flushedRequest: number;
  /** Halves kept in audit.rejected: the row of their key was written without them. */
  late: number;
  /** Halves whose key is stored or waiting with that half already: redeliveries. */
  duplicates: number;
}

export function noOutboxTotals(): OutboxTotals {
  return { merged: 0, pending: 0, flushedOutbox: 0, flushedRequest: 0, late: 0, duplicates: 0 };
}

export function addOutboxTotals(into: OutboxTotals, t: OutboxTotals): void {
  into.merged += t.merged;
  into.pending += t.pending;
  into.flushedOutbox += t.flushedOutbox;
  into.flushedRequest += t.flushedRequest;
  into.late += t.late;
  into.duplicates += t.duplicates;
}

/** The outbox id of a row, when it is one half of an outbox record. */
export function outboxIdOf(row: AuditRow): string | undefined {
  const id = row.attributes[ATTR_AUDIT_OUTBOX_ID];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The half a row carrying an outbox id is: the relay's records say `audit.origin` = `outbox`. */
export function halfOf(row: AuditRow): Half {
  return row.attributes[ATTR_AUDIT_ORIGIN] === ORIGIN_OUTBOX ? 'outbox' : 'request';
}

/** One half, arriving in a batch or read back from audit.outbox_pending. */
export interface HalfEntry {
  row: AuditRow;
  half: Half;
  outboxId: string;
  source: SubmitSource;
  /** The submission it came in (absent when read back from the pending table). */
  result?: SubmitResult;
  /** Read from audit.outbox_pending. */
  stored?: boolean;
}

/** What became of a set of halves: rows to write, halves to keep waiting or reject, keys to clear. */
interface Resolution {
  records: AuditRow[];
  waiting: { key: Buffer; entry: HalfEntry }[];
  late: HalfEntry[];
  clear: Buffer[];
  totals: OutboxTotals;
}

/** The row of a key as stored: does it already hold this half? A row of no origin is an ordinary (request) record. */
function holds(origin: string | null, half: Half): boolean {
  if (origin === ORIGIN_MERGED) return true;
  return half === 'outbox' ? origin === ORIGIN_OUTBOX : origin !== ORIGIN_OUTBOX;
}

/**
 * The request's columns, with the outbox's change values and meta, origin
 * `request+outbox`. Encrypted halves (record-cipher.ts) each hold their own
 * envelope: the outbox's is kept as `audit.sealed.outbox`, and the change
 * values' markers point at it.
 */
export function mergedRow(request: AuditRow, outbox: AuditRow): AuditRow {
  const meta = Object.entries(outbox.attributes).filter(([k]) => k.startsWith(ATTR_AUDIT_META_PREFIX));
  const attributes: AuditRow['attributes'] = { ...request.attributes, ...Object.fromEntries(meta), [ATTR_AUDIT_ORIGIN]: ORIGIN_MERGED };
  const envelope = outbox.attributes[SEALED_ATTRIBUTE];
  if (envelope === undefined) return { ...request, changeBefore: outbox.changeBefore, changeAfter: outbox.changeAfter, attributes };
  attributes[SEALED_OUTBOX_ATTRIBUTE] = envelope;
  return {
    ...request,
    changeBefore: markerIn(outbox.changeBefore, SEALED_OUTBOX_ATTRIBUTE),
    changeAfter: markerIn(outbox.changeAfter, SEALED_OUTBOX_ATTRIBUTE),
    attributes,
  };
}

/** A half written alone: the relay's record as it came; the request's without change values (none of them committed through the outbox). */
export function aloneRow(entry: HalfEntry): AuditRow {
  if (entry.half === 'outbox') return { ...entry.row, attributes: { ...entry.row.attributes, [ATTR_AUDIT_ORIGIN]: ORIGIN_OUTBOX } };
  return { ...entry.row, changeBefore: null, changeAfter: null, attributes: { ...entry.row.attributes, [ATTR_AUDIT_ORIGIN]: ORIGIN_REQUEST } };
}

interface KeyState {
  key: Buffer;
  /** Origin of the row stored under the key; undefined while none is. */
  stored: string | null | undefined;
  waiting: Map<Half, HalfEntry>;
  /** A half read from the pending table was used: the key's halves are deleted. */
  clear: boolean;
}

/**
 * Decides, in order, what each half does, given what is stored and waiting
 * under its key: a key already in audit.records makes it a duplicate (that
 * row holds this half) or late (it does not); the same half waiting makes it
 * a duplicate; the other half waiting makes a merged row; else it waits.
 */
function resolve(entries: readonly { key: Buffer; entry: HalfEntry }[], states: Map<string, KeyState>): Resolution {
  const out: Resolution = { records: [], waiting: [], late: [], clear: [], totals: noOutboxTotals() };
  for (const { key, entry } of entries) {
    const hex = key.toString('hex');
    let st = states.get(hex);
    if (!st) states.set(hex, (st = { key, stored: undefined, waiting: new Map(), clear: false }));
    if (st.stored !== undefined) {
      if (holds(st.stored, entry.half)) out.totals.duplicates++;
      else {
        out.late.push(entry);
        out.totals.late++;
      }
      if (entry.stored) st.clear = true;
      continue;
    }
    if (st.waiting.has(entry.half)) {
      out.totals.duplicates++;
      continue;
    }
    const other = st.waiting.get(entry.half === 'request' ? 'outbox' : 'request');
    if (!other) {
      st.waiting.set(entry.half, entry);
      continue;
    }
    const [request, outbox] = entry.half === 'request' ? [entry, other] : [other, entry];
    out.records.push(mergedRow(request.row, outbox.row));
    out.totals.merged++;
    if (entry.stored || other.stored) st.clear = true;
    st.stored = ORIGIN_MERGED;
    st.waiting.clear();
  }
  for (const st of states.values()) {
    if (st.clear) out.clear.push(st.key);
    for (const entry of st.waiting.values()) out.waiting.push({ key: st.key, entry });
  }
  return out;
}

/** The identity keys of rows, computed by the database's own function (its quoting is the key's definition). */
async function identityKeys(tx: Queryable, rows: readonly AuditRow[]): Promise<Buffer[]> {
  const res = await tx.query<{ i: number; k: Buffer }>(IDENTITY_KEYS, [
    rows.map((r) => r.traceId),
    rows.map((r) => r.spanId),
    rows.map((r) => r.serviceName),
    rows.map((r) => r.action),
    rows.map((r) => r.resourceType),
    rows.map((r) => r.resourceId),
  ]);
  return res.rows.map((r) => Buffer.from(r.k));
}

/** The advisory lock of a key: its first 8 bytes as a signed 64-bit integer. */
function lockOf(key: Buffer): string {
  return key.readBigInt64BE(0).toString();
}

/** A row of audit.outbox_pending as read. */
export interface PendingRow {
  k: Buffer;
  half: Half;
  fields: AuditRow;
  signal: SubmitSource['signal'];
  transport: SubmitSource['wireFormat'];
  peer: string | null;
}

/** A half read back from audit.outbox_pending. */
function entryOf(r: PendingRow): { key: Buffer; entry: HalfEntry } {
  return {
    key: Buffer.from(r.k),
    entry: { row: r.fields, half: r.half, outboxId: outboxIdOf(r.fields) ?? '', source: { signal: r.signal, wireFormat: r.transport, peer: r.peer }, stored: true },
  };
}

/** What the database holds under the keys: the stored rows' origins (pending halves are read first, locked, so a window job's write is seen). */
async function loadStates(tx: Queryable, keys: Buffer[], pending: PendingRow[]): Promise<Map<string, KeyState>> {
  const states = new Map<string, KeyState>();
  const state = (k: Buffer): KeyState => {
    const hex = k.toString('hex');
    let st = states.get(hex);
    if (!st) states.set(hex, (st = { key: k, stored: undefined, waiting: new Map(), clear: false }));
    return st;
  };
  for (const r of pending) {
    const { key, entry } = entryOf(r);
    state(key).waiting.set(entry.half, entry);
  }
  const stored = await tx.query<{ k: Buffer; origin: string | null }>(STORED_OF_KEYS, [keys]);
  for (const r of stored.rows) state(Buffer.from(r.k)).stored = r.origin;
  return states;
}

/**
 * Writes what a resolution decided, in the caller's transaction: merged rows
 * and the `alone` halves (past the window) to audit.records, cleared keys out
 * of the pending table, and the halves that start waiting (those not read
 * from it) into it.
 */
async function applyResolution(tx: Queryable, res: Resolution, alone: HalfEntry[], hashKey: KeyObject | undefined): Promise<AuditRow[]> {
  const rows = [...res.records, ...alone.map(aloneRow)];
  if (rows.length > 0) {
    const hashed: HashedRow[] = rows.map((row) => ({ row, hash: contentHashOrPlain(row, hashKey) }));
    await tx.query(insertRecordsSql(1), recordParams(hashed));
  }
  if (res.clear.length > 0) await tx.query(DELETE_PENDING, [res.clear]);
  const waiting = res.waiting.filter((w) => !w.entry.stored);
  if (waiting.length > 0) {
    await tx.query(INSERT_PENDING, [
      waiting.map((w) => w.key),
      waiting.map((w) => w.entry.half),
      waiting.map((w) => w.entry.outboxId),
      waiting.map((w) => JSON.stringify(w.entry.row)),
      waiting.map((w) => w.entry.source.signal),
      waiting.map((w) => w.entry.source.wireFormat),
      waiting.map((w) => w.entry.source.peer),
    ]);
  }
  res.totals.pending += waiting.length;
  return rows;
}

/** Why a late half is kept in audit.rejected. */
function lateReason(e: HalfEntry): string {
  return e.half === 'request'
    ? `${LATE_REASON}: the request's record (outbox id ${e.outboxId}) arrived after the row of its key was written from the outbox record alone (past the merge window)`
    : `${LATE_REASON}: the outbox record (outbox id ${e.outboxId}) arrived after the row of its key was written without it (past the merge window); its change values are kept here`;
}

/** The audit.rejected entries of late halves. */
function lateRejects(late: readonly HalfEntry[]): RejectedInput[] {
  return late.map((e) => ({ ...e.source, reason: lateReason(e), raw: Buffer.from(JSON.stringify(e.row)), record: e.row }));
}

/** Reports late halves rejected in their submissions' answers: once their transaction committed. */
export function reportLate(late: readonly HalfEntry[], addReason: (r: SubmitResult, reason: string) => void): void {
  for (const e of late) {
    if (!e.result) continue;
    e.result.rejected++;
    e.result.late = (e.result.late ?? 0) + 1;
    addReason(e.result, lateReason(e));
  }
}

/**
 * The halves of a batch, in the batch's transaction: lock their keys, read
 * what waits and what is stored under them, then write merged rows, new
 * waiting halves, and the late ones to audit.rejected. Answers the late
 * halves too, for {@link reportLate} once the transaction committed.
 */
export async function mergeOutboxHalves(
  tx: Queryable,
  entries: readonly HalfEntry[],
  hashKey: KeyObject | undefined,
  keepRejected: (rejects: RejectedInput[]) => Promise<void>,
): Promise<{ totals: OutboxTotals; late: HalfEntry[] }> {
  const keys = await identityKeys(tx, entries.map((e) => e.row));
  const unique = [...new Map(keys.map((k) => [k.toString('hex'), k])).values()].sort(Buffer.compare);
  await tx.query(LOCK_KEYS, [unique.map(lockOf)]);
  const pending = await tx.query<PendingRow>(PENDING_OF_KEYS, [unique]);
  const states = await loadStates(tx, unique, pending.rows);
  const res = resolve(
    entries.map((entry, i) => ({ key: keys[i] as Buffer, entry })),
    states,
  );
  await applyResolution(tx, res, [], hashKey);
  if (res.late.length > 0) await keepRejected(lateRejects(res.late));
  return { totals: res.totals, late: res.late };
}

/**
 * Halves past the window (read locked from the pending table): merged when
 * both are there, else written alone; late ones kept in audit.rejected; all
 * deleted from the pending table.
 */
export async function flushExpired(
  tx: Queryable,
  pending: PendingRow[],
  hashKey: KeyObject | undefined,
  keepRejected: (rejects: RejectedInput[]) => Promise<void>,
): Promise<{ totals: OutboxTotals; rows: number }> {
  const entries = pending.map(entryOf);
  const unique = [...new Map(entries.map((e) => [e.key.toString('hex'), e.key])).values()];
  const states = await loadStates(tx, unique, []);
  const res = resolve(entries, states);
  // Every key read here leaves the pending table.
  res.clear = unique;
  const alone = res.waiting.map((w) => w.entry);
  const rows = await applyResolution(tx, res, alone, hashKey);
  for (const e of alone) {
    if (e.half === 'outbox') res.totals.flushedOutbox++;
    else res.totals.flushedRequest++;
  }
  if (res.late.length > 0) await keepRejected(lateRejects(res.late));
  return { totals: res.totals, rows: rows.length };
}
