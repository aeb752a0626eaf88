-- 000007: indexes of the query API (otel-audit serve).
--
-- The record list pages newest first by (occurred_at, id) through the
-- indexes of 000001 (actor, action, resource, trace, tenant, occurred_at);
-- these add the filters that had none, and the look-up of the seal that
-- covers a record.

-- Module tabs and the module filter; also the skip scan that lists modules.
CREATE INDEX records_module ON audit.records (module, occurred_at);
-- The service filter.
CREATE INDEX records_service ON audit.records (service_name, occurred_at);
-- The seal covering a record id: the first seal whose last_id reaches it.
CREATE INDEX digests_seal_last_id ON audit.digests (last_id) WHERE kind = 'seal';

-------------------------------------------------------------------------------
-- Counts per hour, tenant, module, action and outcome, for the viewer's
-- statistics over long ranges: summing these is a few thousand rows where
-- counting the records is millions. audit.roll_up_counts adds the records
-- settled since its last run (ids up to rolled_up_to, every one received
-- at least p_settle ago, as sealing does); a statistic adds the records
-- above rolled_up_to from audit.records itself, so it is exact at any time.
-- Row-level security by tenant, as on audit.records.
-------------------------------------------------------------------------------
CREATE TABLE audit.record_counts (
  hour       timestamptz NOT NULL,
  tenant_id  text,
  module     text,
  action     text        NOT NULL,
  outcome    text        NOT NULL,
  n          bigint      NOT NULL,
  UNIQUE NULLS NOT DISTINCT (hour, tenant_id, module, action, outcome)
);

CREATE TABLE audit.record_counts_state (
  one           boolean PRIMARY KEY DEFAULT true CHECK (one),
  rolled_up_to  bigint  NOT NULL DEFAULT 0
);
INSERT INTO audit.record_counts_state DEFAULT VALUES;

-- Advisory lock key of the roll-up: one at a time; the others skip their turn.
CREATE FUNCTION audit.roll_up_counts(p_settle interval, p_max_rows integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  last_id bigint;
  unsettled bigint;
  upto bigint;
BEGIN
  IF NOT pg_try_advisory_xact_lock(6402331874001720077) THEN
    RETURN NULL;
  END IF;
  SELECT rolled_up_to INTO last_id FROM audit.record_counts_state;
  -- The first record not settled yet bounds what may be counted now.
  SELECT min(id) INTO unsettled FROM audit.records WHERE id > last_id AND received_at >= now() - p_settle;
  SELECT max(id) INTO upto FROM (
    SELECT id FROM audit.records WHERE id > last_id AND (unsettled IS NULL OR id < unsettled) ORDER BY id LIMIT p_max_rows
  ) s;
  IF upto IS NULL THEN
    RETURN last_id;
  END IF;
  INSERT INTO audit.record_counts AS c (hour, tenant_id, module, action, outcome, n)
  SELECT date_trunc('hour', occurred_at, 'UTC'), tenant_id, module, action, outcome, count(*)
    FROM audit.records WHERE id > last_id AND id <= upto
   GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, tenant_id, module, action, outcome) DO UPDATE SET n = c.n + excluded.n;
  UPDATE audit.record_counts_state SET rolled_up_to = upto;
  RETURN upto;
END $$;
REVOKE ALL ON FUNCTION audit.roll_up_counts(interval, integer) FROM PUBLIC;

DO $$
BEGIN
  IF to_regrole('audit_reader') IS NULL OR to_regrole('audit_auditor') IS NULL OR to_regrole('audit_admin') IS NULL THEN
    RETURN; -- no roles (see 000003): the owner alone reads the counts
  END IF;
  GRANT SELECT ON audit.record_counts, audit.record_counts_state TO audit_reader, audit_auditor, audit_admin;
  GRANT EXECUTE ON FUNCTION audit.roll_up_counts(interval, integer) TO audit_reader, audit_auditor, audit_admin;
  ALTER TABLE audit.record_counts ENABLE ROW LEVEL SECURITY;
  CREATE POLICY record_counts_tenant ON audit.record_counts FOR SELECT TO audit_reader
    USING (tenant_id IN (SELECT unnest(audit.granted_tenants(current_user))));
  CREATE POLICY record_counts_all_tenants ON audit.record_counts FOR SELECT TO audit_auditor, audit_admin USING (true);
  IF to_regrole('audit_service') IS NOT NULL THEN
    GRANT SELECT ON audit.record_counts, audit.record_counts_state TO audit_service;
    GRANT EXECUTE ON FUNCTION audit.roll_up_counts(interval, integer) TO audit_service;
    CREATE POLICY record_counts_service ON audit.record_counts FOR SELECT TO audit_service
      USING (tenant_id = current_setting('app.tenant_id', true));
  END IF;
END $$;
