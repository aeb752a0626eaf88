-- 000006: what the database trusts. Record ids and received_at are the
-- database's; otel-audit's own operation records (actions beginning
-- `audit.`) are written only through audit.log_operation, which records the
-- database role that ran it and, for exports, what the export covered; the
-- tenants a reader sees are granted to its role in the database; a service
-- role may act for the tenant of each request.

-------------------------------------------------------------------------------
-- Who is trusted to write any row as it stands: the owner of audit.records
-- (who migrates, and whose functions run SECURITY DEFINER) and superusers.
-- Anyone else (the sink's audit_writer) gets the id and received_at the
-- database assigns and may not write the reserved actions.
-------------------------------------------------------------------------------
CREATE FUNCTION audit.trusted_writer() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_catalog.pg_roles r
     WHERE r.rolname = current_user
       AND (r.rolsuper OR r.oid = (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = 'audit.records'::regclass)))
$$;

-- The identity column let a writer choose ids (OVERRIDING SYSTEM VALUE); a
-- plain sequence assigned by the trigger below does not. It continues where
-- the identity stopped.
DO $$
DECLARE
  next_id bigint;
BEGIN
  EXECUTE format('SELECT nextval(%L)', pg_get_serial_sequence('audit.records', 'id')) INTO next_id;
  SELECT greatest(next_id, coalesce(max(id), 0) + 1) INTO next_id FROM audit.records;
  ALTER TABLE audit.records ALTER COLUMN id DROP IDENTITY;
  EXECUTE format('CREATE SEQUENCE audit.record_ids AS bigint START WITH %s OWNED BY audit.records.id', next_id);
END $$;

CREATE FUNCTION audit.assign_record_identity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- The sink's rows (no id, received_at left to its default, an ordinary
  -- action) need no look-up of who inserts: only rows that ask for more do.
  IF NEW.id IS NOT NULL OR NEW.received_at IS DISTINCT FROM now() OR NEW.action LIKE 'audit.%' THEN
    IF NOT audit.trusted_writer() THEN
      IF NEW.action LIKE 'audit.%' THEN
        RAISE EXCEPTION 'action "%" is reserved: actions beginning "audit." are otel-audit''s own operation records, written only by its commands (audit.log_operation)', NEW.action
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      NEW.id := NULL;
      NEW.received_at := now();
    END IF;
  END IF;
  IF NEW.id IS NULL THEN
    NEW.id := nextval('audit.record_ids');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER records_identity BEFORE INSERT ON audit.records
  FOR EACH ROW EXECUTE FUNCTION audit.assign_record_identity();

-------------------------------------------------------------------------------
-- The trusted index of operation records: one row per record written by
-- audit.log_operation, never by anything else (nobody but the owner may
-- insert here). Dashboards and retention read operations from here, not by
-- action name. For an export, what it claimed and what the database found
-- when it was recorded: `complete` means the export was unfiltered, ran as a
-- role that sees every tenant, and its row count and first/last id equal
-- those of every row in [range_from, range_to) at that moment; `partitions`
-- then holds, per partition, the rows and first/last id it exported.
-------------------------------------------------------------------------------
CREATE TABLE audit.operations (
  record_id    bigint      PRIMARY KEY,
  occurred_at  timestamptz NOT NULL,
  action       text        NOT NULL,
  outcome      text        NOT NULL,
  -- session_user: the login that ran the command (not whatever it passed as actor).
  db_user      text        NOT NULL,
  range_from   timestamptz,
  range_to     timestamptz,
  filtered     boolean,
  rows         bigint,
  first_id     bigint,
  last_id      bigint,
  sha256       text,
  range_rows   bigint,
  complete     boolean     NOT NULL DEFAULT false,
  partitions   jsonb
);
CREATE INDEX operations_action ON audit.operations (action, occurred_at);

CREATE TRIGGER operations_append_only BEFORE UPDATE OR DELETE ON audit.operations
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER operations_no_truncate BEFORE TRUNCATE ON audit.operations
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

-- Whether role p_role is a member of one of p_roles (roles that do not exist are skipped).
CREATE FUNCTION audit.member_of_any(p_role text, p_roles text[]) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM unnest(p_roles) AS x(name)
                  WHERE to_regrole(x.name) IS NOT NULL AND pg_has_role(p_role, to_regrole(x.name), 'MEMBER'))
$$;

-- Whether p_role reads every row of audit.records: superuser, BYPASSRLS, the owner, audit_auditor, audit_admin.
CREATE FUNCTION audit.sees_all_tenants(p_role text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = p_role AND (r.rolsuper OR r.rolbypassrls))
      OR pg_has_role(p_role, (SELECT relowner FROM pg_class WHERE oid = 'audit.records'::regclass), 'MEMBER')
      OR audit.member_of_any(p_role, ARRAY['audit_auditor', 'audit_admin'])
$$;

-------------------------------------------------------------------------------
-- The operation records, written with the owner's rights. Which roles may
-- record what: audit.export and audit.view: audit_reader, audit_auditor,
-- audit_admin, audit_service; audit.verify: audit_auditor, audit_admin;
-- audit.retention and audit.erase: audit_admin (the owner and superusers
-- always). The database role is session_user, taken here, not passed.
-------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION audit.log_operation(p_action text, p_actor text, p_resource_type text, p_resource_id text,
                                               p_outcome text, p_attributes jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  caller text := session_user;
  allowed text[];
  attrs jsonb := coalesce(p_attributes, '{}'::jsonb);
  outcome text := coalesce(p_outcome, 'success');
  new_id bigint;
  at timestamptz := clock_timestamp();
  r_from timestamptz;
  r_to timestamptz;
  is_filtered boolean;
  n_rows bigint;
  n_first bigint;
  n_last bigint;
  sha text;
  actual_rows bigint;
  actual_first bigint;
  actual_last bigint;
  is_complete boolean := false;
  parts jsonb;
BEGIN
  allowed := CASE p_action
    WHEN 'audit.export' THEN ARRAY['audit_reader', 'audit_auditor', 'audit_admin', 'audit_service']
    WHEN 'audit.view' THEN ARRAY['audit_reader', 'audit_auditor', 'audit_admin', 'audit_service']
    WHEN 'audit.verify' THEN ARRAY['audit_auditor', 'audit_admin']
    WHEN 'audit.retention' THEN ARRAY['audit_admin']
    WHEN 'audit.erase' THEN ARRAY['audit_admin']
  END;
  IF allowed IS NULL THEN
    RAISE EXCEPTION 'audit.log_operation records only audit.export, audit.verify, audit.retention, audit.erase and audit.view, not %', p_action
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT (pg_has_role(caller, (SELECT relowner FROM pg_class WHERE oid = 'audit.records'::regclass), 'MEMBER')
          OR audit.member_of_any(caller, allowed)) THEN
    RAISE EXCEPTION 'role % may not record %: it needs one of the roles %', caller, p_action, array_to_string(allowed, ', ')
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF outcome NOT IN ('success', 'failure', 'denied') THEN
    RAISE EXCEPTION 'outcome % is not success, failure or denied', outcome USING ERRCODE = 'invalid_parameter_value';
  END IF;

  INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type,
                             action, resource_type, resource_id, outcome, attributes)
  VALUES (replace(gen_random_uuid()::text, '-', ''), substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), at,
          'otel-audit', 'compliance', p_actor, p_actor, CASE WHEN p_actor IS NULL THEN 'anonymous' ELSE 'user' END,
          p_action, p_resource_type, p_resource_id, outcome,
          attrs || jsonb_build_object('db.user', caller))
  RETURNING id INTO new_id;

  IF p_action = 'audit.export' THEN
    BEGIN
      r_from := (attrs->>'from')::timestamptz;
      r_to := (attrs->>'to')::timestamptz;
      n_rows := (attrs->>'rows')::bigint;
      n_first := (attrs->>'first_id')::bigint;
      n_last := (attrs->>'last_id')::bigint;
    EXCEPTION WHEN others THEN
      r_from := NULL; -- claims that do not parse make no coverage
    END;
    is_filtered := coalesce(attrs->'filters', '{}'::jsonb) NOT IN ('{}'::jsonb, 'null'::jsonb);
    sha := CASE WHEN attrs->>'sha256' ~ '^[0-9a-f]{64}$' THEN attrs->>'sha256' END;
    IF outcome = 'success' AND NOT is_filtered AND r_from IS NOT NULL AND r_to IS NOT NULL AND n_rows IS NOT NULL AND sha IS NOT NULL
       AND audit.sees_all_tenants(caller) THEN
      -- Rows since deleted or still uncommitted make the counts differ: no coverage then.
      SELECT count(*), min(id), max(id) INTO actual_rows, actual_first, actual_last
        FROM audit.records WHERE occurred_at >= r_from AND occurred_at < r_to AND id <> new_id;
      is_complete := actual_rows = n_rows AND actual_first IS NOT DISTINCT FROM n_first AND actual_last IS NOT DISTINCT FROM n_last;
      IF is_complete THEN
        SELECT coalesce(jsonb_object_agg(p.relname, jsonb_build_object('rows', s.n, 'first_id', s.lo, 'last_id', s.hi)), '{}'::jsonb)
          INTO parts
          FROM (SELECT tableoid, count(*) AS n, min(id) AS lo, max(id) AS hi FROM audit.records
                 WHERE occurred_at >= r_from AND occurred_at < r_to AND id <> new_id GROUP BY tableoid) s
          JOIN pg_class p ON p.oid = s.tableoid;
      END IF;
    END IF;
  END IF;

  INSERT INTO audit.operations (record_id, occurred_at, action, outcome, db_user, range_from, range_to, filtered, rows,
                                first_id, last_id, sha256, range_rows, complete, partitions)
  VALUES (new_id, at, p_action, outcome, caller, r_from, r_to, is_filtered, n_rows, n_first, n_last, sha, actual_rows,
          is_complete, parts);
  RETURN new_id;
END $$;
REVOKE ALL ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) FROM PUBLIC;

-- Operation records written before this migration are not indexed here:
-- the sink accepted records of the same shape over OTLP, so none of them can
-- be told apart from a forgery. Exports that retention should count are
-- made again after upgrading.

-------------------------------------------------------------------------------
-- How many rows of [p_from, p_to) match the filters, whatever the caller's
-- row-level security lets it see: an export compares it with what it read
-- to say when rows were hidden from it. Filters as the export states them
-- (`{"actor_id": ["u-1"], ...}`), tenant_id ignored.
-------------------------------------------------------------------------------
CREATE FUNCTION audit.range_row_count(p_from timestamptz, p_to timestamptz, p_filters jsonb) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT count(*) FROM audit.records r
   WHERE r.occurred_at >= p_from AND r.occurred_at < p_to
     AND (p_filters->'actor_id' IS NULL OR r.actor_id IN (SELECT jsonb_array_elements_text(p_filters->'actor_id')))
     AND (p_filters->'action' IS NULL OR r.action IN (SELECT jsonb_array_elements_text(p_filters->'action')))
     AND (p_filters->'module' IS NULL OR r.module IN (SELECT jsonb_array_elements_text(p_filters->'module')))
     AND (p_filters->'outcome' IS NULL OR r.outcome IN (SELECT jsonb_array_elements_text(p_filters->'outcome')))
$$;
REVOKE ALL ON FUNCTION audit.range_row_count(timestamptz, timestamptz, jsonb) FROM PUBLIC;

-------------------------------------------------------------------------------
-- Tenants granted to roles. A reader sees the records of the tenants granted
-- to the role it runs as or to any role that role is a member of (grant to
-- the login, or to a group role), whatever it sets;
-- `app.tenant_id` is honoured only for audit_service (a service that acts
-- for the tenant of each request). The owner and audit_admin grant and
-- revoke with audit.grant_tenant / audit.revoke_tenant.
-------------------------------------------------------------------------------
CREATE TABLE audit.tenant_grants (
  grantee     text        NOT NULL,
  tenant_id   text        NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  granted_by  text        NOT NULL DEFAULT session_user,
  PRIMARY KEY (grantee, tenant_id)
);

CREATE FUNCTION audit.grant_tenant(p_role text, p_tenant text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  added integer;
BEGIN
  IF to_regrole(p_role) IS NULL THEN
    RAISE EXCEPTION 'role % does not exist', p_role USING ERRCODE = 'undefined_object';
  END IF;
  IF p_tenant IS NULL OR p_tenant = '' THEN
    RAISE EXCEPTION 'a tenant id is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO audit.tenant_grants (grantee, tenant_id, granted_by) VALUES (p_role, p_tenant, session_user)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS added = ROW_COUNT;
  RETURN added > 0;
END $$;
REVOKE ALL ON FUNCTION audit.grant_tenant(text, text) FROM PUBLIC;

CREATE FUNCTION audit.revoke_tenant(p_role text, p_tenant text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  removed integer;
BEGIN
  DELETE FROM audit.tenant_grants WHERE grantee = p_role AND tenant_id = p_tenant;
  GET DIAGNOSTICS removed = ROW_COUNT;
  RETURN removed > 0;
END $$;
REVOKE ALL ON FUNCTION audit.revoke_tenant(text, text) FROM PUBLIC;

-- The tenants granted to role p_role (directly or through the roles it is a
-- member of); the policy passes current_user, the role the query runs as.
-- Only for a role this session may act as: asking about others gives none.
-- SECURITY DEFINER so that readers need no access to the grants.
CREATE FUNCTION audit.granted_tenants(p_role name) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(array_agg(DISTINCT g.tenant_id), '{}'::text[]) FROM audit.tenant_grants g
   WHERE to_regrole(p_role::text) IS NOT NULL AND pg_has_role(session_user, to_regrole(p_role::text), 'MEMBER')
     AND to_regrole(g.grantee) IS NOT NULL AND pg_has_role(to_regrole(p_role::text), to_regrole(g.grantee), 'MEMBER')
$$;
REVOKE ALL ON FUNCTION audit.granted_tenants(name) FROM PUBLIC;

-------------------------------------------------------------------------------
-- audit_service, next to the roles of 000003 (created when the migrating
-- user may create roles).
-------------------------------------------------------------------------------
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
    RAISE NOTICE 'otel-audit: % may not create roles; see README.md "Roles" for the SQL an administrator runs', current_user;
    RETURN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_service') THEN
    BEGIN
      CREATE ROLE audit_service NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created meanwhile by a migration of another database
    END;
  END IF;
END $$;

-- Grants and policies, for the roles that exist (replaces 000003's).
CREATE OR REPLACE FUNCTION audit.apply_grants() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF to_regrole('audit_writer') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_writer;
    -- SELECT: ON CONFLICT / RETURNING, and sealing reads the rows it seals.
    GRANT SELECT, INSERT ON audit.records TO audit_writer;
    GRANT USAGE ON SEQUENCE audit.record_ids TO audit_writer;
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
    GRANT EXECUTE ON FUNCTION audit.granted_tenants(name) TO audit_reader;
    GRANT EXECUTE ON FUNCTION audit.range_row_count(timestamptz, timestamptz, jsonb) TO audit_reader;
  END IF;
  IF to_regrole('audit_service') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_service;
    GRANT SELECT ON audit.records, audit.digests TO audit_service;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_service;
    GRANT EXECUTE ON FUNCTION audit.range_row_count(timestamptz, timestamptz, jsonb) TO audit_service;
  END IF;
  IF to_regrole('audit_auditor') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_auditor;
    GRANT SELECT ON audit.records, audit.rejected, audit.digests, audit.emitters, audit.emitter_status, audit.operations TO audit_auditor;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_auditor;
    GRANT EXECUTE ON FUNCTION audit.range_row_count(timestamptz, timestamptz, jsonb) TO audit_auditor;
  END IF;
  IF to_regrole('audit_admin') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA audit TO audit_admin;
    GRANT SELECT ON audit.records, audit.rejected, audit.digests, audit.emitters, audit.emitter_status,
                    audit.schema_migrations, audit.operations, audit.tenant_grants TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.log_operation(text, text, text, text, text, jsonb) TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.drop_partition(text, text, text, bigint, int8multirange, text, text, text) TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.range_row_count(timestamptz, timestamptz, jsonb) TO audit_admin;
    GRANT EXECUTE ON FUNCTION audit.grant_tenant(text, text), audit.revoke_tenant(text, text) TO audit_admin;
  END IF;

  -- Row-level security: the table's owner (who migrates) is not subject to it.
  IF to_regrole('audit_writer') IS NOT NULL AND to_regrole('audit_reader') IS NOT NULL
     AND to_regrole('audit_auditor') IS NOT NULL AND to_regrole('audit_admin') IS NOT NULL THEN
    ALTER TABLE audit.records ENABLE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS records_writer ON audit.records;
    DROP POLICY IF EXISTS records_writer_read ON audit.records;
    DROP POLICY IF EXISTS records_tenant ON audit.records;
    DROP POLICY IF EXISTS records_service ON audit.records;
    DROP POLICY IF EXISTS records_all_tenants ON audit.records;
    CREATE POLICY records_writer ON audit.records FOR INSERT TO audit_writer WITH CHECK (true);
    CREATE POLICY records_writer_read ON audit.records FOR SELECT TO audit_writer USING (true);
    -- The tenants granted to the login, whatever app.tenant_id says.
    CREATE POLICY records_tenant ON audit.records FOR SELECT TO audit_reader
      USING (tenant_id IN (SELECT unnest(audit.granted_tenants(current_user))));
    CREATE POLICY records_all_tenants ON audit.records FOR SELECT TO audit_auditor, audit_admin USING (true);
    IF to_regrole('audit_service') IS NOT NULL THEN
      CREATE POLICY records_service ON audit.records FOR SELECT TO audit_service
        USING (tenant_id = current_setting('app.tenant_id', true));
    END IF;
  END IF;
END $$;
REVOKE ALL ON FUNCTION audit.apply_grants() FROM PUBLIC;

SELECT audit.apply_grants();
