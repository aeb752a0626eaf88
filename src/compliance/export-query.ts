/**
 * The SQL of an export. Postgres formats every row into its final line (CSV
 * or JSON), so the exporting process only concatenates, hashes and writes
 * text: no per-column values cross the wire, and no JSON is parsed and
 * serialised again.
 */

import { SEALED_COLUMNS, type SealedColumn } from '../contract/columns.js';
import { isoTimestampSql } from './iso-timestamp-sql.js';
import { OCSF_LATERAL_SQL, ocsfLineSql } from './ocsf-sql.js';
import { ACTOR_INDEX_ATTRIBUTE } from '../crypto/encryption-config.js';

/** The columns of `audit.records` an export holds, in this order: the sealed columns of `contract/columns.ts`, the ones the digests hash. */
export const EXPORT_COLUMNS = SEALED_COLUMNS.map((c) => c.name);

export type ExportColumn = (typeof EXPORT_COLUMNS)[number];

/**
 * How a column is written: numbers and timestamps bare, the rest as
 * (CSV-quoted) text. `plain` text holds no quote and no line break by the
 * table's CHECK constraints (hex ids, enumerations), so it needs no escaping.
 */
type ColumnKind = 'number' | 'float' | 'timestamp' | 'plain' | 'text' | 'inet' | 'json';

const KIND_OF_TYPE: Record<SealedColumn['type'], ColumnKind> = {
  int8: 'number',
  int4: 'number',
  float8: 'float',
  text: 'text',
  inet: 'inet',
  timestamptz: 'timestamp',
  jsonb: 'json',
};

const KIND = new Map<ExportColumn, ColumnKind>(
  SEALED_COLUMNS.map((c) => [c.name, 'plain' in c && c.plain ? 'plain' : KIND_OF_TYPE[c.type]]),
);

function kindOf(column: ExportColumn): ColumnKind {
  return KIND.get(column) as ColumnKind;
}

/** `ocsf`: JSON lines of OCSF API Activity events (ocsf.ts), one per record. */
export type ExportFormat = 'csv' | 'jsonl' | 'ocsf';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'jsonl', 'ocsf'];

/** The columns an export can be filtered on (exact match, any of the values). */
export const FILTER_COLUMNS = ['tenant_id', 'actor_id', 'action', 'module', 'outcome'] as const;
export type FilterColumn = (typeof FILTER_COLUMNS)[number];
/** Per column, the values a row may have (any of them); a column not named is not filtered. */
export type ExportFilters = Partial<Record<FilterColumn, string[]>>;

/**
 * One CSV record (RFC 4180, CRLF-terminated) per row: numbers and
 * timestamps bare; text and JSON always in double quotes, quotes doubled, so
 * that NULL (an empty field) and the empty string (`""`) stay apart. One
 * concat() builds the line: a chain of || would copy it again per column.
 */
function csvLineSql(alias: string): string {
  const fields = EXPORT_COLUMNS.map((c) => {
    const col = `${alias}.${c}`;
    switch (kindOf(c)) {
      case 'number':
      case 'float':
        return `coalesce(${col}::text, '')`;
      case 'timestamp':
        return `coalesce(${isoTimestampSql(col)}, '')`;
      case 'plain':
        return `CASE WHEN ${col} IS NULL THEN '' ELSE concat('"', ${col}, '"') END`;
      case 'inet':
        // concat() prints it as Postgres does (10.1.2.3, 10.1.0.0/16, 2001:db8::1); ::text would add /32 to every address.
        return `CASE WHEN ${col} IS NULL THEN '' ELSE concat('"', ${col}, '"') END`;
      case 'text':
      case 'json':
        return `CASE WHEN ${col} IS NULL THEN '' ELSE concat('"', replace(${col}::text, '"', '""'), '"') END`;
    }
  });
  return `concat(${fields.join(`, ',', `)}, E'\\r\\n')`;
}

/**
 * One JSON object per row and line, keys in column order: JSON columns as
 * JSON values, timestamps as ISO strings, numbers as numbers (NaN and
 * Infinity as strings), NULL as null. Built by one concat() (to_json escapes
 * strings, line breaks included, so a record is one line): about a third
 * cheaper for Postgres than row_to_json.
 */
function jsonLineSql(alias: string): string {
  const parts = EXPORT_COLUMNS.flatMap((c, i) => {
    const col = `${alias}.${c}`;
    let value: string;
    switch (kindOf(c)) {
      case 'number':
      case 'json':
        value = `${col}::text`;
        break;
      case 'timestamp':
        value = `'"' || ${isoTimestampSql(col)} || '"'`;
        break;
      case 'plain':
        value = `'"' || ${col} || '"'`;
        break;
      case 'float': // NaN and Infinity become strings
      case 'text':
      case 'inet':
        value = `to_json(${col})::text`;
        break;
    }
    return [`'${i === 0 ? '{' : ','}"${c}":'`, `coalesce(${value}, 'null')`];
  });
  return `concat(${parts.join(', ')}, E'}\\n')`;
}

/** The CSV header record. */
export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\r\n`;

export interface ExportQuery {
  /** `WHERE …` over `audit.records r` with `$1`… parameters. */
  where: string;
  params: unknown[];
}

/** The half-open range [from, to) on occurred_at, and the filters. */
export function exportWhere(from: string, to: string, filters: ExportFilters, actorIndexes: readonly string[] = []): ExportQuery {
  const params: unknown[] = [from, to];
  const clauses = ['r.occurred_at >= $1::timestamptz', 'r.occurred_at < $2::timestamptz'];
  for (const column of FILTER_COLUMNS) {
    const values = filters[column];
    if (values === undefined || values.length === 0) continue;
    params.push(values);
    if (column === 'actor_id' && actorIndexes.length > 0) {
      // An encrypted actor id is found by its blind index (src/crypto/blind-index.ts).
      params.push(actorIndexes);
      clauses.push(`(r.actor_id = ANY($${params.length - 1}::text[]) OR r.attributes ->> '${ACTOR_INDEX_ATTRIBUTE}' = ANY($${params.length}::text[]))`);
      continue;
    }
    clauses.push(`r.${column} = ANY($${params.length}::text[])`);
  }
  return { where: `WHERE ${clauses.join(' AND ')}`, params };
}

/**
 * `SELECT line` in id order: the cursor's query. Each CSV and JSON line
 * starts with the record's id ({@link lineId} reads it back), so rows carry
 * one value only; an OCSF line holds it deeper, so its rows carry the id too
 * (and, given `sealedSql`, the stored values its encrypted fields come from).
 * Postgres formats the lines: formatting them here from per-column values
 * instead took this process three times the CPU (a string per value, and the
 * garbage) for a third less of Postgres' time.
 */
export function exportSelectSql(format: ExportFormat, where: string, sealedSql?: string): string {
  if (format === 'ocsf') {
    const sealed = sealedSql === undefined ? '' : `, ${sealedSql} AS sealed`;
    return `SELECT r.id::text AS id, ${ocsfLineSql()} AS line${sealed} FROM audit.records r ${OCSF_LATERAL_SQL} ${where} ORDER BY r.id`;
  }
  const line = format === 'csv' ? csvLineSql('r') : jsonLineSql('r');
  return `SELECT ${line} AS line FROM audit.records r ${where} ORDER BY r.id`;
}

/** A row of {@link exportSelectSql}. */
export interface ExportLine {
  line: string;
  /** The record's id, where the line does not start with it (OCSF). */
  id?: string;
  /** The stored values of an OCSF line's fields that may be encrypted (JSON), when the export reveals them. */
  sealed?: string;
}

/** The id of a row of {@link exportSelectSql}: `123,…` (CSV), `{"id":123,…` (JSON lines), or its own column. */
export function lineId(format: ExportFormat, row: ExportLine): string {
  if (row.id !== undefined) return row.id;
  const start = format === 'csv' ? 0 : '{"id":'.length;
  return row.line.slice(start, row.line.indexOf(',', start));
}
