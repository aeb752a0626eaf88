/**
 * The parameter arrays of the writer's statements (batch-sql.ts), built from
 * rows and rejected input: one array per parameter, in parameter order.
 */
import { WRITTEN_COLUMNS, type RowColumn, type RowFieldColumn } from '../contract/columns.js';
import type { EMITTER_PARAM_TYPES } from './batch-sql.js';
import type { AuditRow } from './row.js';
import type { RejectedInput } from './writer-types.js';

// Every field of a row has a column, and every row column a field of the row.
type RowField = RowFieldColumn['field'];
const ROW_FIELDS_MATCH: [RowField] extends [keyof AuditRow] ? ([keyof AuditRow] extends [RowField] ? true : never) : never = true;
void ROW_FIELDS_MATCH;

/** A row with its content hash. */
export interface HashedRow {
  row: AuditRow;
  hash: Buffer;
}

/** One array per parameter. */
type Params<T extends readonly unknown[]> = { [K in keyof T]: unknown[] };

/** The emitters' parameters when a batch has no emitter sequence numbers. */
const NO_EMITTERS: Params<typeof EMITTER_PARAM_TYPES> = [[], [], [], []];

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** JSON.stringify escapes an unpaired surrogate as `\udXXX`, which jsonb refuses. */
const SURROGATE_ESCAPE = /\\ud[89a-f][0-9a-f]{2}/i;

/** JSON that Postgres jsonb accepts (no NUL characters, no unpaired surrogates), else null. */
function jsonbText(v: unknown): string | null {
  try {
    const s = json(v);
    return s !== null && !s.includes('\\u0000') && !SURROGATE_ESCAPE.test(s) ? s : null;
  } catch {
    return null;
  }
}

/** Text Postgres can store: NUL written out as `\u0000` (the raw bytes keep the original). */
function pgText(s: string | null): string | null {
  return s === null ? null : s.split(String.fromCharCode(0)).join('\\u0000');
}

/** How each written column's parameter value is read from a hashed row, in parameter order (jsonb as JSON text). */
export const RECORD_VALUES: readonly ((k: HashedRow) => unknown)[] = WRITTEN_COLUMNS.map((c): ((k: HashedRow) => unknown) => {
  if (c.source === 'content-hash') return (k) => k.hash;
  const column: RowColumn = c;
  const field = column.field as keyof AuditRow;
  if (column.type !== 'jsonb') return (k) => k.row[field];
  const fallback = column.default ?? null;
  return (k) => json(k.row[field]) ?? fallback;
});

/** The record parameters: per written column, the array of its values. */
export function recordParams(rows: readonly HashedRow[]): unknown[] {
  return RECORD_VALUES.map((value) => {
    const col = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) col[i] = value(rows[i] as HashedRow);
    return col;
  });
}

/** The conflict query's parameters: each row's identity, then its content hash. */
export function conflictParams(rows: readonly HashedRow[]): unknown[] {
  return [
    rows.map((k) => k.row.traceId),
    rows.map((k) => k.row.spanId),
    rows.map((k) => k.row.serviceName),
    rows.map((k) => k.row.action),
    rows.map((k) => k.row.resourceType),
    rows.map((k) => k.row.resourceId),
    rows.map((k) => k.row.occurredAt),
    rows.map((k) => k.hash),
  ];
}

/** `{[1,4),[6,7)}` from sequence numbers. */
export function seqRanges(seqs: readonly bigint[]): { text: string; max: bigint } {
  const sorted = [...new Set(seqs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  let start: bigint | undefined;
  let prev: bigint | undefined;
  for (const s of sorted) {
    if (start === undefined || prev === undefined) {
      start = s;
    } else if (s !== prev + 1n) {
      parts.push(`[${start},${prev + 1n})`);
      start = s;
    }
    prev = s;
  }
  if (start !== undefined && prev !== undefined) parts.push(`[${start},${prev + 1n})`);
  return { text: `{${parts.join(',')}}`, max: prev ?? 0n };
}

/** The emitters' parameters: per emitter, its service, the ranges of sequence numbers seen and the highest. */
export function emitterParams(rows: readonly AuditRow[]): Params<typeof EMITTER_PARAM_TYPES> {
  const by = new Map<string, { svc: string; seqs: bigint[] }>();
  for (const r of rows) {
    if (r.emitterId === null || r.emitterSeq === null) continue;
    let e = by.get(r.emitterId);
    if (!e) by.set(r.emitterId, (e = { svc: r.serviceName, seqs: [] }));
    e.seqs.push(BigInt(r.emitterSeq));
  }
  if (by.size === 0) return NO_EMITTERS;
  // Sorted, so that concurrent batches lock emitter rows in the same order.
  const ids = [...by.keys()].sort();
  const svcs: string[] = [];
  const ranges: string[] = [];
  const maxes: string[] = [];
  for (const id of ids) {
    const e = by.get(id) as { svc: string; seqs: bigint[] };
    const { text, max } = seqRanges(e.seqs);
    svcs.push(e.svc);
    ranges.push(text);
    maxes.push(max.toString());
  }
  return [ids, svcs, ranges, maxes];
}

/** The rejected-input parameters; the decoded record is null where jsonb would refuse it. */
export function rejectedParams(rejects: readonly RejectedInput[]): unknown[] {
  return [
    rejects.map((r) => r.signal),
    rejects.map((r) => r.wireFormat),
    rejects.map((r) => pgText(r.reason)),
    rejects.map((r) => r.raw),
    rejects.map((r) => jsonbText(r.record)),
    rejects.map((r) => pgText(r.peer)),
  ];
}
