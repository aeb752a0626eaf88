/**
 * The writer's statements. Each is built from the number of its first
 * parameter, so that statements combine into one (the batch statement's
 * CTEs) with every parameter number known when the text is written.
 * Parameters are arrays, one per column, unnested in one round trip.
 */
import { WRITTEN_COLUMNS, type ColumnType, type WrittenColumn } from '../contract/columns.js';

/** The record parameters: one array per written column, in column order. */
export const RECORD_PARAM_TYPES: readonly ColumnType[] = WRITTEN_COLUMNS.map((c) => c.type);
/** The emitters' parameters: emitter ids, service names, sequence ranges (int8multirange text), highest sequence numbers. */
export const EMITTER_PARAM_TYPES = ['text', 'text', 'text', 'int8'] as const;
/** The rejected-input parameters: signal, wire format, reason, raw bytes, decoded record, peer. */
export const REJECTED_PARAM_TYPES = ['text', 'text', 'text', 'bytea', 'jsonb', 'text'] as const;
/** The conflict query's parameters: a record's identity (see {@link IDENTITY_COLUMNS}), then its content hash. */
export const CONFLICT_PARAM_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'bytea'] as const;

/** The columns of a record's identity (audit.record_identity's arguments), and its occurred_at. */
const IDENTITY_COLUMNS = ['trace_id', 'span_id', 'service_name', 'action', 'resource_type', 'resource_id', 'occurred_at'] as const;

/** `$<first>::<type>[], $<first + 1>::<type>[], …`: array parameters numbered from `first`. */
export function arrayParams(first: number, types: readonly string[]): string {
  return types.map((type, i) => `$${first + i}::${type}[]`).join(', ');
}

/** `$n::type[]`: the parameter of a written column, when the record parameters start at `first`. */
function recordParam(first: number, name: WrittenColumn['name']): string {
  const i = WRITTEN_COLUMNS.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`audit.records has no written column ${name}`);
  return arrayParams(first + i, [(WRITTEN_COLUMNS[i] as WrittenColumn).type]);
}

/** Inserts the records; answers the keys of those inserted (a record whose key exists inserts nothing). */
export function insertRecordsSql(first: number): string {
  return `INSERT INTO audit.records (${WRITTEN_COLUMNS.map((c) => c.name).join(', ')})
SELECT * FROM unnest(${arrayParams(first, RECORD_PARAM_TYPES)})
ON CONFLICT (identity_key, occurred_at) DO NOTHING
RETURNING identity_key, occurred_at`;
}

/** Adds the sequence numbers seen per emitter; a gap opens (gap_since) while they are not 1..max. */
export function upsertEmittersSql(first: number): string {
  return `INSERT INTO audit.emitters AS e (emitter_id, service_name, seen, max_seq, last_seen, gap_since)
SELECT id, svc, ranges::int8multirange, mx, now(),
  CASE WHEN ranges::int8multirange = int8multirange(int8range(1, mx + 1)) THEN NULL ELSE now() END
FROM unnest(${arrayParams(first, EMITTER_PARAM_TYPES)}) AS u(id, svc, ranges, mx)
ON CONFLICT (emitter_id) DO UPDATE SET
  seen = e.seen + EXCLUDED.seen,
  max_seq = greatest(e.max_seq, EXCLUDED.max_seq),
  last_seen = now(),
  gap_since = CASE
    WHEN e.seen + EXCLUDED.seen = int8multirange(int8range(1, greatest(e.max_seq, EXCLUDED.max_seq) + 1)) THEN NULL
    ELSE coalesce(e.gap_since, now()) END`;
}

/** Keeps input verbatim in audit.rejected (its `transport` column holds the wire format). */
export function insertRejectedSql(first: number): string {
  return `INSERT INTO audit.rejected (signal, transport, reason, raw, record, peer)
SELECT * FROM unnest(${arrayParams(first, REJECTED_PARAM_TYPES)})`;
}

export const INSERT_REJECTED = insertRejectedSql(1);

const EMITTERS_FIRST = 1 + RECORD_PARAM_TYPES.length;
const REJECTED_FIRST = EMITTERS_FIRST + EMITTER_PARAM_TYPES.length;

/**
 * The whole batch in one statement, so one round trip and no explicit
 * transaction (a statement is atomic): records, the emitters' sequence
 * bookkeeping and rejected input, as data-modifying CTEs. Parameters: the
 * record parameters, then the emitters', then the rejected input's; empty
 * arrays insert nothing. Answers the ordinals (1-based) of the records that
 * inserted nothing because their key exists (redelivered, or a conflict):
 * computed only when some did.
 */
export const WRITE_BATCH = `
WITH r AS (${insertRecordsSql(1)}),
e AS (${upsertEmittersSql(EMITTERS_FIRST)}),
j AS (${insertRejectedSql(REJECTED_FIRST)})
SELECT CASE WHEN (SELECT count(*) FROM r) = cardinality(${recordParam(1, 'trace_id')}) THEN '{}'::int[] ELSE ARRAY(
  SELECT u.i::int FROM unnest(${IDENTITY_COLUMNS.map((c) => recordParam(1, c)).join(', ')})
    WITH ORDINALITY AS u(t, s, svc, act, rt, ri, at, i)
  WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.identity_key = audit.record_identity(u.t, u.s, u.svc, u.act, u.rt, u.ri) AND r.occurred_at = u.at)
  ORDER BY u.i) END AS skipped`;

/**
 * Of records that inserted nothing, those whose stored row has other content
 * (ordinals, 1-based). Rows stored before content hashes existed count as the
 * same content.
 */
export const FIND_CONFLICTS = `
SELECT u.i::int AS i
FROM unnest(${arrayParams(1, CONFLICT_PARAM_TYPES)})
  WITH ORDINALITY AS u(t, s, svc, act, rt, ri, at, h, i)
CROSS JOIN LATERAL (
  SELECT content_hash FROM audit.records r
   WHERE r.identity_key = audit.record_identity(u.t, u.s, u.svc, u.act, u.rt, u.ri) AND r.occurred_at = u.at
   LIMIT 1) r
WHERE r.content_hash IS NOT NULL AND r.content_hash <> u.h`;
