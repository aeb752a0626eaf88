/**
 * The record list: newest first, one page at a time by keyset cursor, never
 * OFFSET and never a count of the whole match (on a large range that count
 * alone would cost more than every page a person reads).
 */
import { isoTimestampSql } from '../compliance/iso-timestamp-sql.js';
import { SEALED_ATTRIBUTE } from '../crypto/record-cipher.js';
import type { Transaction } from '../db/database.js';
import { cursorClause, decodeCursor, encodeCursor } from './cursor.js';
import { filterClauses, type RecordFilter } from './filters.js';
import { HttpError } from './http-error.js';

export const DEFAULT_PAGE_ROWS = 50;
export const MAX_PAGE_ROWS = 500;

/** The columns of a list row (the detail has every column). */
export interface RecordSummary {
  id: string;
  occurred_at: string;
  tenant_id: string | null;
  service_name: string;
  module: string | null;
  actor_id: string | null;
  actor_name: string | null;
  actor_type: string;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  status_code: number | null;
  http_method: string | null;
  url_path: string | null;
  trace_id: string;
  span_id: string;
  /** The record's envelope (format v2 of encrypted fields), read to reveal them; not given out. */
  attributes?: Record<string, unknown> | null;
}

const SUMMARY_COLUMNS = [
  'r.id::text AS id',
  `${isoTimestampSql('r.occurred_at')} AS occurred_at`,
  ...['tenant_id', 'service_name', 'module', 'actor_id', 'actor_name', 'actor_type', 'action', 'resource_type', 'resource_id', 'outcome', 'status_code', 'http_method', 'url_path', 'trace_id', 'span_id'].map(
    (c) => `r.${c}`,
  ),
  `CASE WHEN r.attributes ? '${SEALED_ATTRIBUTE}' THEN jsonb_build_object('${SEALED_ATTRIBUTE}', r.attributes -> '${SEALED_ATTRIBUTE}') END AS attributes`,
].join(', ');

export interface Page {
  records: RecordSummary[];
  /** Cursor of the next page; null on the last one. */
  next: string | null;
}

/** The page size a request asks for, checked. */
export function pageRows(limit: string | null): number {
  if (limit === null || limit === '') return DEFAULT_PAGE_ROWS;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_ROWS) throw new HttpError(400, 'bad_limit', `limit must be an integer from 1 to ${MAX_PAGE_ROWS}`);
  return n;
}

/**
 * One page of the records matching filter, after cursor (text as given out),
 * newest first. Records with encrypted fields carry their envelope in
 * `attributes`: reveal them (reveal.ts), then drop it ({@link withoutEnvelopes}).
 */
export async function searchRecords(tx: Transaction, filter: RecordFilter, cursor: string | null, rows: number): Promise<Page> {
  const params: unknown[] = [];
  const clauses = filterClauses(filter, params);
  if (cursor !== null && cursor !== '') clauses.push(cursorClause(decodeCursor(cursor), params));
  params.push(rows + 1);
  const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
  const { rows: found } = await tx.query<RecordSummary>(
    `SELECT ${SUMMARY_COLUMNS} FROM audit.records r ${where} ORDER BY r.occurred_at DESC, r.id DESC LIMIT $${params.length}`,
    params,
  );
  const more = found.length > rows;
  const records = more ? found.slice(0, rows) : found;
  const last = records[records.length - 1];
  return { records, next: more && last ? encodeCursor({ at: last.occurred_at, id: last.id }) : null };
}

/** The page's records without what was read only to reveal them. */
export function withoutEnvelopes(page: Page): Page {
  for (const r of page.records) delete r.attributes;
  return page;
}

/** Most module names listed (the viewer's tabs). */
const MAX_MODULES = 100;

/**
 * The distinct modules the viewer may see, by skipping through the module
 * index (one probe per module) instead of reading every row.
 */
export async function listModules(tx: Transaction): Promise<string[]> {
  const { rows } = await tx.query<{ module: string }>(
    `WITH RECURSIVE m(module, n) AS (
       SELECT (SELECT min(r.module) FROM audit.records r), 1
       UNION ALL
       SELECT (SELECT min(r.module) FROM audit.records r WHERE r.module > m.module), m.n + 1 FROM m WHERE m.module IS NOT NULL AND m.n < $1
     )
     SELECT module FROM m WHERE module IS NOT NULL`,
    [MAX_MODULES],
  );
  return rows.map((r) => r.module);
}
