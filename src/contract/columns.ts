/**
 * The columns of `audit.records`, defined once, in table order: the sink's
 * insert, sealing's row hash, exports and the benchmarks derive their column
 * lists from {@link RECORD_COLUMNS}. The migrations create them; the generated
 * `identity_key` (computed by Postgres from the record's identity) is not
 * listed, as nothing writes or reads it by name but the insert's conflict
 * clause.
 */

/** SQL type of a column, as named in the writer's `unnest($n::type[])` casts. */
export type ColumnType = 'int4' | 'int8' | 'float8' | 'text' | 'inet' | 'timestamptz' | 'jsonb' | 'bytea';

interface ColumnBase {
  name: string;
  type: ColumnType;
  /** Part of a row's hash in the digest chain, and of every export, in this order. */
  sealed: boolean;
  /**
   * Text that the table's CHECK constraints restrict to characters needing
   * no quoting (hex ids, enumerations). Default: false.
   */
  plain?: boolean;
}

/** A column the sink writes from the field of the same name (camelCase) of a row (`AuditRow`). */
export interface RowColumn extends ColumnBase {
  source: 'row';
  field: string;
  /** Written when the row's value is null or undefined (the column's SQL default). Default: none, SQL NULL. */
  default?: string;
}

/** A column the sink writes with the row's content hash. */
export interface HashColumn extends ColumnBase {
  source: 'content-hash';
}

/** A column Postgres fills (identity, default); the sink never writes it. */
export interface DatabaseColumn extends ColumnBase {
  source: 'database';
}

export type RecordColumn = RowColumn | HashColumn | DatabaseColumn;

/** The columns of `audit.records`, in table order. */
export const RECORD_COLUMNS = [
  { name: 'id', type: 'int8', source: 'database', sealed: true },
  { name: 'trace_id', type: 'text', source: 'row', field: 'traceId', sealed: true, plain: true },
  { name: 'span_id', type: 'text', source: 'row', field: 'spanId', sealed: true, plain: true },
  { name: 'occurred_at', type: 'timestamptz', source: 'row', field: 'occurredAt', sealed: true },
  { name: 'received_at', type: 'timestamptz', source: 'database', sealed: true },
  { name: 'service_name', type: 'text', source: 'row', field: 'serviceName', sealed: true },
  { name: 'module', type: 'text', source: 'row', field: 'module', sealed: true },
  { name: 'actor_id', type: 'text', source: 'row', field: 'actorId', sealed: true },
  { name: 'actor_name', type: 'text', source: 'row', field: 'actorName', sealed: true },
  { name: 'actor_type', type: 'text', source: 'row', field: 'actorType', sealed: true, plain: true },
  { name: 'tenant_id', type: 'text', source: 'row', field: 'tenantId', sealed: true },
  { name: 'action', type: 'text', source: 'row', field: 'action', sealed: true },
  { name: 'resource_type', type: 'text', source: 'row', field: 'resourceType', sealed: true },
  { name: 'resource_id', type: 'text', source: 'row', field: 'resourceId', sealed: true },
  { name: 'outcome', type: 'text', source: 'row', field: 'outcome', sealed: true, plain: true },
  { name: 'status_code', type: 'int4', source: 'row', field: 'statusCode', sealed: true },
  { name: 'http_method', type: 'text', source: 'row', field: 'httpMethod', sealed: true },
  { name: 'http_route', type: 'text', source: 'row', field: 'httpRoute', sealed: true },
  { name: 'url_path', type: 'text', source: 'row', field: 'urlPath', sealed: true },
  { name: 'client_ip', type: 'inet', source: 'row', field: 'clientIp', sealed: true },
  { name: 'user_agent', type: 'text', source: 'row', field: 'userAgent', sealed: true },
  { name: 'duration_ms', type: 'float8', source: 'row', field: 'durationMs', sealed: true },
  { name: 'level', type: 'text', source: 'row', field: 'level', sealed: true },
  { name: 'request', type: 'jsonb', source: 'row', field: 'request', sealed: true },
  { name: 'change_before', type: 'jsonb', source: 'row', field: 'changeBefore', sealed: true },
  { name: 'change_after', type: 'jsonb', source: 'row', field: 'changeAfter', sealed: true },
  { name: 'attributes', type: 'jsonb', source: 'row', field: 'attributes', sealed: true, default: '{}' },
  { name: 'emitter_id', type: 'text', source: 'row', field: 'emitterId', sealed: true },
  { name: 'emitter_seq', type: 'int8', source: 'row', field: 'emitterSeq', sealed: true },
  { name: 'content_hash', type: 'bytea', source: 'content-hash', sealed: false },
] as const satisfies readonly RecordColumn[];

type Column = (typeof RECORD_COLUMNS)[number];

/** A column the sink writes (from the row, or its content hash). */
export type WrittenColumn = Extract<Column, { source: 'row' | 'content-hash' }>;
/** A column the sink writes from a field of the row. */
export type RowFieldColumn = Extract<Column, { source: 'row' }>;
/** A column of a row's hash and of exports. */
export type SealedColumn = Extract<Column, { sealed: true }>;

/** The columns the sink's insert writes, in its parameter order. */
export const WRITTEN_COLUMNS: readonly WrittenColumn[] = RECORD_COLUMNS.filter((c): c is WrittenColumn => c.source !== 'database');

/** The columns written from the row's fields (all written columns but the content hash), in table order. */
export const ROW_FIELD_COLUMNS: readonly RowFieldColumn[] = RECORD_COLUMNS.filter((c): c is RowFieldColumn => c.source === 'row');

/** The columns a row's hash covers and an export holds, in table order. */
export const SEALED_COLUMNS: readonly SealedColumn[] = RECORD_COLUMNS.filter((c): c is SealedColumn => c.sealed);
