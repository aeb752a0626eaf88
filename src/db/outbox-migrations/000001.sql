-- 000001: the transactional outbox, in the business database.
-- Forward-only: never edit a migration that has shipped; add the next number.
-- Applied by `otel-audit migrate --outbox`; tracked in audit_outbox.schema_migrations.

CREATE SCHEMA IF NOT EXISTS audit_outbox;

-- One row per audit.inTransaction() call, written in the business
-- transaction. The relay sends rows older than its grace period as audit
-- log records and deletes them in the transaction that read them, once the
-- receiver has acknowledged them.
CREATE TABLE audit_outbox.records (
  id            uuid        PRIMARY KEY,
  -- When the row was written (the INSERT, not the start of the transaction).
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The operation's trace and server span (fresh ones outside any operation).
  trace_id      text        NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
  span_id       text        NOT NULL CHECK (span_id ~ '^[0-9a-f]{16}$'),
  trace_flags   smallint    NOT NULL DEFAULT 0,
  service_name  text        NOT NULL,
  -- The record's audit.* attributes, sanitised and redacted by the SDK.
  attributes    jsonb       NOT NULL
);

-- The relay reads the oldest rows first.
CREATE INDEX records_created_at ON audit_outbox.records (created_at);
