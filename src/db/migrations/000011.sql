-- 000011: the transactional outbox's merge at the sink.
--
-- A record carrying `audit.outbox.id` comes twice: the request's record (from
-- the SDK, its spans) and the outbox record (from the relay, with the change
-- values that committed). Both have the same identity key. Each half waits
-- here until its partner arrives; the sink then writes ONE row to
-- audit.records and deletes both halves in the same transaction. A half
-- without a partner past the merge window is written alone by a periodic job.
-- The half is committed here before its export is acknowledged: nothing
-- waiting is lost when a sink stops.

CREATE TABLE audit.outbox_pending (
  -- audit.record_identity(...) of the record: both halves share it.
  identity_key  bytea       NOT NULL,
  -- request: the SDK's record of the operation; outbox: the relay's record.
  half          text        NOT NULL CHECK (half IN ('request', 'outbox')),
  -- The outbox row's id (`audit.outbox.id`), for people and queries.
  outbox_id     text        NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  -- Where it came from, as audit.rejected keeps it, should it end there.
  signal        text        NOT NULL,
  transport     text        NOT NULL,
  peer          text,
  -- The row as the sink built it (src/sink/row.ts), encrypted fields encrypted.
  fields        jsonb       NOT NULL,
  PRIMARY KEY (identity_key, half)
);
-- The window job takes the oldest halves first.
CREATE INDEX outbox_pending_received_at ON audit.outbox_pending (received_at);

DO $$
BEGIN
  IF to_regrole('audit_writer') IS NOT NULL THEN
    -- DELETE: a half leaves when its row is written (audit.records stays append-only).
    -- UPDATE: SELECT … FOR UPDATE needs it (the sink locks halves, never updates them).
    GRANT SELECT, INSERT, UPDATE, DELETE ON audit.outbox_pending TO audit_writer;
  END IF;
  IF to_regrole('audit_auditor') IS NOT NULL THEN
    GRANT SELECT ON audit.outbox_pending TO audit_auditor;
  END IF;
  IF to_regrole('audit_admin') IS NOT NULL THEN
    GRANT SELECT ON audit.outbox_pending TO audit_admin;
  END IF;
END $$;
