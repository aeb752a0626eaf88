-- 000003: compliance. Append-only records, the tamper-evidence chain,
-- least-privilege roles and row-level security by tenant.

-------------------------------------------------------------------------------
-- Append-only: nobody updates, deletes or truncates audit records. Records
-- leave only by retention, which drops whole sealed partitions
-- (audit.drop_partition below), so no row trigger stands in its way.
-------------------------------------------------------------------------------
CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'records leave only by retention (otel-audit retention), which drops whole sealed partitions';
END $$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON audit.records
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON audit.records
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- TRUNCATE triggers are not inherited: every partition gets its own.
DO $$
DECLARE
  part regclass;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'audit.records'::regclass LOOP
    EXECUTE format('CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', part);
  END LOOP;
END $$;

-- Partitions are created by whoever runs the sink (the writer role may not
-- create tables): the function runs with its owner's rights.
CREATE OR REPLACE FUNCTION audit.ensure_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  created integer := 0;
  m date;
  name text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    m := (date_trunc('month', from_month) + make_interval(months => i))::date;
    name := format('records_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(format('audit.%I', name)) IS NULL THEN
      BEGIN
        EXECUTE format(
          'CREATE TABLE audit.%I PARTITION OF audit.records FOR VALUES FROM (%L) TO (%L)',
          name, m::timestamp AT TIME ZONE 'UTC', (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
        EXECUTE format(
          'CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON audit.%I FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()',
          name);
        created := created + 1;
      EXCEPTION WHEN check_violation THEN
        -- The default partition already holds rows of that month: leave them there.
        RAISE NOTICE 'partition % not created: the default partition holds rows of that month', name;
      END;
    END IF;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION audit.ensure_partitions(date, integer) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Tamper evidence (in the spirit of CloudTrail digest files). The sink seals
-- committed records periodically: each `seal` digest covers every record id
-- in first_id..last_id (empty when last_id < first_id: an empty period is
-- sealed too), holds the id and SHA-256 of each row (RFC 8785 canonical JSON
-- of its columns) in row_hashes, and is chained to the previous digest by
-- prev_hash. A `retention` digest records which ids a dropped partition held.
-- How hash and records_hash are computed: src/compliance/digest.ts.
-------------------------------------------------------------------------------
ALTER TABLE audit.digests
  ADD COLUMN kind              text        NOT NULL DEFAULT 'seal' CHECK (kind IN ('seal', 'retention')),
  ADD COLUMN first_id          bigint      NOT NULL DEFAULT 1,
  ADD COLUMN last_id           bigint      NOT NULL DEFAULT 0,
  ADD COLUMN sealed_from       timestamptz,
  ADD COLUMN sealed_to         timestamptz,
  ADD COLUMN row_count         bigint      NOT NULL DEFAULT 0,
  -- Per row, in id order: the id (8 bytes, big-endian) and the SHA-256 of the row (32 bytes).
  ADD COLUMN row_hashes        bytea       NOT NULL DEFAULT '\x',
  ADD COLUMN records_hash      text        NOT NULL DEFAULT '',
  -- retention: the ids the dropped partition held, and its name.
  ADD COLUMN dropped_ids       int8multirange,
  ADD COLUMN dropped_partition text,
  ADD COLUMN prev_hash         text        NOT NULL DEFAULT '',
  ADD COLUMN hash              text        NOT NULL DEFAULT '',
  -- Optional: signature of `hash` (base64), its algorithm and the key's fingerprint.
  ADD COLUMN signature         text,
  ADD COLUMN signature_alg     text CHECK (signature_alg IN ('ed25519', 'hmac-sha256')),
  ADD COLUMN key_id            text;

ALTER TABLE audit.digests
  ALTER COLUMN first_id DROP DEFAULT, ALTER COLUMN last_id DROP DEFAULT,
  ALTER COLUMN row_count DROP DEFAULT, ALTER COLUMN prev_hash DROP DEFAULT, ALTER COLUMN hash DROP DEFAULT;

CREATE UNIQUE INDEX digests_hash ON audit.digests (hash);
CREATE INDEX digests_sealed_to ON audit.digests (sealed_to);

CREATE TRIGGER digests_append_only BEFORE UPDATE OR DELETE ON audit.digests
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER digests_no_truncate BEFORE TRUNCATE ON audit.digests
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-------------------------------------------------------------------------------
-- The compliance tools' own records (`audit.export`, `audit.retention`,
-- `audit.verify`), written with the owner's rights so that read-only users
-- who export are audited too. Returns the record's id.
-------------------------------------------------------------------------------
CREATE FUNCTION audit.log_operation(p_action text, p_actor text, p_resource_type text, p_resource_id text,
                                    p_outcome text, p_attributes jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  new_id bigint;
BEGIN
  IF p_action NOT IN ('audit.export', 'audit.retention', 'audit.verify') THEN
    RAISE EXCEPTION 'audit.log_operation records only audit.export, audit.retention and audit.verify, not %', p_action
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type,
                             action, resource_type, resource_id, outcome, attributes)
  VALUES (replace(gen_random_uuid()::text, '-', ''), substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), clock_timestamp(),
          'otel-audit', 'compliance', p_actor, p_actor, CASE WHEN p_actor IS NULL THEN 'anonymous' ELSE 'user' END,
          p_action, p_resource_type, p_resource_id, coalesce(p_outcome, 'success'),
          coalesce(p_attributes, '{}'::jsonb) || jsonb_build_object('db.user', session_user))
  RETURNING id INTO new_id;
  RETURN new_id;
END $$;
REVOKE ALL ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Retention: drop one whole partition, only when every row in it is sealed,
-- and chain a `retention` digest (computed by `otel-audit retention`) that
-- names the ids it held. Runs with the owner's rights; granted to audit_admin.
-------------------------------------------------------------------------------
CREATE FUNCTION audit.drop_partition(p_partition text, p_prev_hash text, p_hash text, p_row_count bigint,
                                     p_dropped_ids int8multirange, p_signature text, p_signature_alg text, p_key_id text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  part regclass;
  head record;
  sealed_to_id bigint;
  actual_ids int8multirange;
  actual_count bigint;
  max_id bigint;
  digest_id bigint;
BEGIN
  -- One chain writer at a time (the sinks' sealing takes the same lock).
  PERFORM pg_advisory_xact_lock(7235471165427386001);
  part := to_regclass(format('audit.%I', p_partition));
  IF part IS NULL OR NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = part AND inhparent = 'audit.records'::regclass) THEN
    RAISE EXCEPTION '% is not a partition of audit.records', p_partition USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_partition = 'records_default' THEN
    RAISE EXCEPTION 'the default partition is never dropped' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO head FROM audit.digests ORDER BY id DESC LIMIT 1;
  IF head IS NULL OR head.hash <> p_prev_hash THEN
    RAISE EXCEPTION 'the digest chain moved on (head %, expected %): compute the retention digest again', head.hash, p_prev_hash
      USING ERRCODE = 'serialization_failure';
  END IF;
  SELECT coalesce(max(last_id), 0) INTO sealed_to_id FROM audit.digests WHERE kind = 'seal';
  EXECUTE format('SELECT coalesce(range_agg(int8range(id, id + 1)), ''{}''::int8multirange), count(*), coalesce(max(id), 0) FROM %s', part)
    INTO actual_ids, actual_count, max_id;
  IF max_id > sealed_to_id THEN
    RAISE EXCEPTION 'partition % holds rows that are not sealed yet (ids up to %, sealed up to %)', p_partition, max_id, sealed_to_id
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  IF actual_ids <> p_dropped_ids OR actual_count <> p_row_count THEN
    RAISE EXCEPTION 'partition % changed since the retention digest was computed', p_partition
      USING ERRCODE = 'serialization_failure';
  END IF;
  INSERT INTO audit.digests (kind, first_id, last_id, row_count, dropped_ids, dropped_partition, prev_hash, hash,
                             signature, signature_alg, key_id)
  VALUES ('retention', 1, 0, p_row_count, p_dropped_ids, p_partition, p_prev_hash, p_hash,
          p_signature, p_signature_alg, p_key_id)
  RETURNING id INTO digest_id;
  EXECUTE format('ALTER TABLE audit.records DETACH PARTITION %s', part);
  EXECUTE format('DROP TABLE %s', part);
  RETURN digest_id;
END $$;
REVOKE ALL ON FUNCTION audit.drop_partition(text, text, text, bigint, int8multirange, text, text, text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Roles (cluster-wide, so created once per server). Created only when the
-- migrating user may create roles; otherwise an administrator runs the
-- statements in README.md ("Roles") and migrates again.
--   audit_writer   the sink: INSERT records, no UPDATE/DELETE/TRUNCATE
--   audit_reader   SELECT, limited by row-level security to the tenant in
--                  `SET app.tenant_id = '...'`
--   audit_auditor  SELECT across tenants (cross-tenant auditors)
--   audit_admin    retention (audit.drop_partition) and everything readers see
-------------------------------------------------------------------------------
DO $$
DECLARE
  r text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
    RAISE NOTICE 'otel-audit: % may not create roles; see README.md "Roles" for the SQL an administrator runs', current_user;
    RETURN;
  END IF;
  FOREACH r IN ARRAY ARRAY['audit_writer', 'audit_reader', 'audit_auditor', 'audit_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a migration of another database
      END;
    END IF;
  END LOOP;
END $$;

-- Grants and policies, for the roles that exist.
CREATE FUNCTION audit.apply_grants() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regrole('audit_writer') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_writer;
    -- SELECT: ON CONFLICT / RETURNING, and sealing reads the rows it seals.
    GRANT SELECT, INSERT ON audit.records TO audit_writer;
    GRANT INSERT ON audit.rejected TO audit_writer;
    GRANT SELECT, INSERT, UPDATE ON audit.emitters TO audit_writer;
    GRANT SELECT ON audit.emitter_status TO audit_writer;
    GRANT SELECT, INSERT ON audit.digests TO audit_writer;
    GRANT SELECT ON audit.schema_migrations TO audit_writer;
    GRANT EXECUTE ON FUNCTION audit.ensure_partitions(date, integer) TO audit_writer;
  END IF;
  IF to_regrole('audit_reader') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_reader;
    GRANT SELECT ON audit.records, audit.digests, audit.emitters, audit.emitter_status TO audit_reader;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_reader;
  END IF;
  IF to_regrole('audit_auditor') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_auditor;
    GRANT SELECT ON audit.records, audit.rejected, audit.digests, audit.emitters, audit.emitter_status TO audit_auditor;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_auditor;
  END IF;
  IF to_regrole('audit_admin') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_admin;
    GRANT SELECT ON audit.records, audit.rejected, audit.digests, audit.emitters, audit.emitter_status,
                    audit.schema_migrations TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.drop_partition(text, text, text, bigint, int8multirange, text, text, text) TO audit_admin;
  END IF;

  -- Row-level security: the table's owner (who migrates) is not subject to it.
  IF to_regrole('audit_writer') IS NOT NULL AND to_regrole('audit_reader') IS NOT NULL
     AND to_regrole('audit_auditor') IS NOT NULL AND to_regrole('audit_admin') IS NOT NULL THEN
    ALTER TABLE audit.records ENABLE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS records_writer ON audit.records;
    DROP POLICY IF EXISTS records_writer_read ON audit.records;
    DROP POLICY IF EXISTS records_tenant ON audit.records;
    DROP POLICY IF EXISTS records_all_tenants ON audit.records;
    CREATE POLICY records_writer ON audit.records FOR INSERT TO audit_writer WITH CHECK (true);
    CREATE POLICY records_writer_read ON audit.records FOR SELECT TO audit_writer USING (true);
    CREATE POLICY records_tenant ON audit.records FOR SELECT TO audit_reader
      USING (tenant_id = current_setting('app.tenant_id', true));
    CREATE POLICY records_all_tenants ON audit.records FOR SELECT TO audit_auditor, audit_admin USING (true);
  END IF;
END $$;
REVOKE ALL ON FUNCTION audit.apply_grants() FROM PUBLIC;

SELECT audit.apply_grants();
