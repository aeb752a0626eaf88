/**
 * One record as the viewer shows it: every column, the difference between
 * its before and after values, the seal that covers it and whether the row
 * still matches it, and the link to its trace.
 */
import { ROW_SELECT, rowValue, type RowText } from '../compliance/digest.js';
import type { KeyProvider } from '../crypto/kek.js';
import { ENCRYPTED, ERASED, isEncrypted, UNDECRYPTABLE } from '../crypto/record-reader.js';
import type { Transaction } from '../db/database.js';
import { jsonDiff, type Diff } from './diff.js';
import { HttpError } from './http-error.js';
import { revealRecords } from './reveal.js';
import { checkSeal, type SealStatus } from './seal-check.js';
import { traceLink, type TraceFields } from './trace-link.js';

export interface RecordDetail {
  /** Every sealed column of the row: JSON columns as JSON, timestamps ISO (microseconds), bigints as strings. */
  record: Record<string, unknown>;
  diff: Diff;
  seal: SealStatus;
  traceUrl: string | null;
}

const UNREADABLE: readonly string[] = [ENCRYPTED, ERASED, UNDECRYPTABLE];

const ID = /^[1-9]\d{0,18}$/;

/** Parse a record id from a URL; a 404 for anything that cannot be one. */
export function parseRecordId(text: string): string {
  if (!ID.test(text)) throw new HttpError(404, 'not_found', 'no such record');
  return text;
}

/** The row as the viewer's role reads it, or undefined (absent, or hidden from it by row-level security). */
export async function readRow(tx: Transaction, id: string): Promise<RowText | undefined> {
  const { rows } = await tx.query<RowText>(`SELECT ${ROW_SELECT} FROM audit.records WHERE id = $1::bigint`, [id]);
  return rows[0];
}

/**
 * The record as the viewer shows it: its encrypted fields in clear with the
 * key the viewer may use (`kek`), else as `[encrypted]` or `[erased]`. The
 * seal is checked on the row as stored.
 */
export async function recordDetail(tx: Transaction, row: RowText, traceTemplate: string | undefined, kek?: KeyProvider): Promise<RecordDetail> {
  const record = rowValue(row);
  const sealedChange = isEncrypted(record.change_before) || isEncrypted(record.change_after);
  await revealRecords(tx, kek, [record]);
  return {
    record,
    diff: changeDiff(record.change_before, record.change_after, sealedChange),
    seal: await checkSeal(tx, row),
    traceUrl: traceLink(traceTemplate, record as unknown as TraceFields),
  };
}

/** The diff of the change values; none when either is unreadable (encrypted, erased), which the diff then says. */
function changeDiff(before: unknown, after: unknown, sealed: boolean): Diff {
  const hidden = sealed ? [before, after].find((v): v is string => typeof v === 'string' && UNREADABLE.includes(v)) : undefined;
  return hidden === undefined ? jsonDiff(before, after) : { entries: [], truncated: false, unreadable: hidden };
}
