-- 000009: crypto-shredding. Per-subject data keys, wrapped by a key-encryption
-- key (KEK) the database never sees. Records hold personal fields encrypted
-- under their subject's key (src/crypto/); erasing a subject destroys its key
-- (wrapped_key NULL), which leaves every record and digest as it was: the
-- chain hashes the stored ciphertext, so it verifies before and after.

CREATE TABLE audit.subject_keys (
  -- Random, named in every ciphertext made with the key.
  kid            text        PRIMARY KEY,
  -- HMAC-SHA-256 blind index of the subject (actor id or tenant id), never the subject itself.
  subject_index  text        NOT NULL,
  -- The data key wrapped by the KEK; NULL once erased.
  wrapped_key    bytea,
  -- Fingerprint of the KEK that wrapped it.
  kek_id         text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  erased_at      timestamptz,
  CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

-- The key of the blind indexes (subjects, actor ids): random, wrapped by the
-- KEK like the data keys, so that a new KEK re-wraps it and every index stays.
CREATE TABLE audit.index_keys (
  name           text        PRIMARY KEY CHECK (name = 'blind-index'),
  wrapped_key    bytea       NOT NULL,
  kek_id         text        NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- One live key per subject; an erased subject that appears again gets a new key.
CREATE UNIQUE INDEX subject_keys_live ON audit.subject_keys (subject_index) WHERE erased_at IS NULL;

-- Equality search on an encrypted actor id: the records' blind index.
CREATE INDEX records_actor_index ON audit.records ((attributes ->> 'audit.actor.index'), occurred_at);

DO $$
BEGIN
  IF to_regrole('audit_writer') IS NOT NULL THEN
    GRANT SELECT, INSERT ON audit.subject_keys, audit.index_keys TO audit_writer;
  END IF;
  IF to_regrole('audit_reader') IS NOT NULL THEN
    GRANT SELECT ON audit.subject_keys, audit.index_keys TO audit_reader;
  END IF;
  IF to_regrole('audit_auditor') IS NOT NULL THEN
    GRANT SELECT ON audit.subject_keys, audit.index_keys TO audit_auditor;
  END IF;
  IF to_regrole('audit_admin') IS NOT NULL THEN
    GRANT SELECT, INSERT, UPDATE ON audit.subject_keys, audit.index_keys TO audit_admin;
  END IF;
END $$;
