-- 000004: the record's identity, without ambiguity, and its content hash.
--
-- The identity (the idempotence key) is (trace id, server span id, service,
-- action, resource type, resource id), each part written as an SQL literal
-- (quote_nullable: NULL unquoted, strings quoted with quotes doubled), so that
-- no two different tuples share an encoding: ('folder', 'a/b') differs from
-- ('folder/a', 'b'), NULL from ''. The key is the SHA-256 of that encoding,
-- so the unique index stays small whatever the values' sizes.
--
-- content_hash: SHA-256 of the canonical JSON of the stored fields, computed
-- by the sink (src/sink/content-hash.ts). A record arriving under an existing
-- key with another content hash is a conflict (kept in audit.rejected with
-- reason 'conflict'); with the same hash it is a harmless redelivery. Rows
-- written before this migration have none (NULL): a record meeting one of
-- them counts as a redelivery.

-- PL/pgSQL rather than SQL: a SQL function that cannot be inlined (this one
-- cannot: convert_to is only stable) costs several times more per call, and
-- it runs for every inserted row. Names are schema-qualified instead of a SET
-- search_path clause, which would cost as much again.
CREATE FUNCTION audit.record_identity(p_trace_id text, p_span_id text, p_service_name text, p_action text,
                                      p_resource_type text, p_resource_id text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN pg_catalog.sha256(pg_catalog.convert_to(
    pg_catalog.quote_nullable(p_trace_id) || ',' || pg_catalog.quote_nullable(p_span_id) || ',' ||
    pg_catalog.quote_nullable(p_service_name) || ',' || pg_catalog.quote_nullable(p_action) || ',' ||
    pg_catalog.quote_nullable(p_resource_type) || ',' || pg_catalog.quote_nullable(p_resource_id), 'UTF8'));
END $$;

-- Dropping the old key drops its unique index (records_identity) with it.
ALTER TABLE audit.records DROP COLUMN resource_key;

ALTER TABLE audit.records
  ADD COLUMN identity_key bytea GENERATED ALWAYS AS
    (audit.record_identity(trace_id, span_id, service_name, action, resource_type, resource_id)) STORED,
  ADD COLUMN content_hash bytea;

CREATE UNIQUE INDEX records_identity ON audit.records (identity_key, occurred_at);
