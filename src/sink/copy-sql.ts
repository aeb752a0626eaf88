/**
 * The COPY writer's statements: a staging table per connection (temporary,
 * emptied at every commit), the COPY into it, and the one statement that
 * moves its rows into audit.records with the emitters' bookkeeping and the
 * rejected input, as the unnest writer's batch statement does (batch-sql.ts).
 */
import { WRITTEN_COLUMNS, type ColumnType } from '../contract/columns.js';
import { EMITTER_PARAM_TYPES, insertRejectedSql, upsertEmittersSql } from './batch-sql.js';

/** The staging table, always in the session's own temporary schema (never found through search_path). */
const STAGING = 'pg_temp.audit_records_staging';
/** The staging table's ordinal column: a row's 1-based position in its batch. */
const ORDINAL = 'i';

/**
 * The type a written column has in the staging table: its own, but inet as
 * text (its binary form would need an address parser here; Postgres casts
 * the text when the rows move).
 */
export function stagingType(type: ColumnType): ColumnType {
  return type === 'inet' ? 'text' : type;
}

const NAMES = WRITTEN_COLUMNS.map((c) => c.name);

/**
 * Creates the staging table on first use in a session. Run in every
 * transaction (it costs a catalog look-up), so that nothing depends on
 * which pooled connection the batch got, or on a pooler in between.
 * `ON COMMIT DELETE ROWS`: every commit empties it, without the new file a
 * TRUNCATE would make.
 */
export const CREATE_STAGING = `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (
  ${ORDINAL} int4 NOT NULL,
  ${WRITTEN_COLUMNS.map((c) => `${c.name} ${stagingType(c.type)}`).join(',\n  ')}
) ON COMMIT DELETE ROWS`;

/** Binary COPY into the staging table: the ordinal, then the written columns in their order. */
export const COPY_STAGING = `COPY ${STAGING} (${ORDINAL}, ${NAMES.join(', ')}) FROM STDIN (FORMAT binary)`;

/** The columns read from the staging table, cast back where the staging type differs. */
const SELECTED = WRITTEN_COLUMNS.map((c) => (stagingType(c.type) === c.type ? c.name : `${c.name}::${c.type}`)).join(', ');

const EMITTERS_FIRST = 1;
const REJECTED_FIRST = EMITTERS_FIRST + EMITTER_PARAM_TYPES.length;
/** The last parameter: how many rows the staging table holds. */
const COUNT_PARAM = REJECTED_FIRST + 6;

/**
 * Moves the staged rows into audit.records in batch order (ON CONFLICT DO
 * NOTHING on the identity key), with the emitters' sequence bookkeeping and
 * the rejected input as data-modifying CTEs. Parameters: the emitters'
 * (EMITTER_PARAM_TYPES), the rejected input's (REJECTED_PARAM_TYPES), then
 * the number of staged rows. Answers the ordinals of the staged rows that
 * inserted nothing because their key exists (redelivered, or a conflict),
 * computed only when some did.
 */
export const MOVE_STAGED = `
WITH r AS (
  INSERT INTO audit.records (${NAMES.join(', ')})
  SELECT ${SELECTED} FROM ${STAGING} ORDER BY ${ORDINAL}
  ON CONFLICT (identity_key, occurred_at) DO NOTHING
  RETURNING identity_key, occurred_at),
e AS (${upsertEmittersSql(EMITTERS_FIRST)}),
j AS (${insertRejectedSql(REJECTED_FIRST)})
SELECT CASE WHEN (SELECT count(*) FROM r) = $${COUNT_PARAM}::int THEN '{}'::int[] ELSE ARRAY(
  SELECT s.${ORDINAL} FROM ${STAGING} s
  WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.identity_key = audit.record_identity(s.trace_id, s.span_id, s.service_name, s.action, s.resource_type, s.resource_id)
                                      AND r.occurred_at = s.occurred_at)
  ORDER BY s.${ORDINAL}) END AS skipped`;
