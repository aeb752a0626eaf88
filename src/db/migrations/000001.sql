-- 000001: the audit schema.
-- Forward-only: never edit a migration that has shipped; add the next number.

CREATE SCHEMA IF NOT EXISTS audit;

-- One row per audit record. Partitioned by month on occurred_at; monthly
-- partitions are created ahead of time (audit.ensure_partitions) and a
-- default partition takes any date, so no row is ever refused for its date.
CREATE TABLE audit.records (
  id             bigint GENERATED ALWAYS AS IDENTITY,
  trace_id       text        NOT NULL CHECK (trace_id ~ '^[0-9a-f]{32}$'),
  span_id        text        NOT NULL CHECK (span_id ~ '^[0-9a-f]{16}$'),
  occurred_at    timestamptz NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  service_name   text        NOT NULL,
  module         text,
  actor_id       text,
  actor_name     text,
  actor_type     text        NOT NULL CHECK (actor_type IN ('user', 'service', 'anonymous')),
  tenant_id      text,
  action         text        NOT NULL,
  resource_type  text,
  resource_id    text,
  outcome        text        NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  status_code    integer,
  http_method    text,
  http_route     text,
  url_path       text,
  client_ip      inet,
  user_agent     text,
  duration_ms    double precision,
  level          text,
  request        jsonb,
  change_before  jsonb,
  change_after   jsonb,
  attributes     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  emitter_id     text,
  emitter_seq    bigint,
  -- Identity of the operation for idempotence: a redelivered record maps to the same key.
  resource_key   text GENERATED ALWAYS AS (coalesce(resource_type, '') || '/' || coalesce(resource_id, '')) STORED,
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE audit.records_default PARTITION OF audit.records DEFAULT;

CREATE UNIQUE INDEX records_identity ON audit.records (trace_id, service_name, action, resource_key, occurred_at);
CREATE INDEX records_occurred_at ON audit.records (occurred_at);
CREATE INDEX records_actor ON audit.records (actor_id, occurred_at);
CREATE INDEX records_action ON audit.records (action, occurred_at);
CREATE INDEX records_resource ON audit.records (resource_type, resource_id, occurred_at);
CREATE INDEX records_trace ON audit.records (trace_id);
CREATE INDEX records_tenant ON audit.records (tenant_id, occurred_at);

-- Input that could not be stored as a record, kept verbatim with the reason.
CREATE TABLE audit.rejected (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at  timestamptz NOT NULL DEFAULT now(),
  signal       text        NOT NULL,      -- logs | traces
  transport    text        NOT NULL,      -- grpc | http/protobuf | http/json
  reason       text        NOT NULL,
  raw          bytea,                     -- the request (or the record) as received
  record       jsonb,                     -- the offending record, decoded, when it could be
  peer         text
);
CREATE INDEX rejected_received_at ON audit.rejected (received_at);

-- Loss accounting: which sequence numbers of each emitter have arrived.
CREATE TABLE audit.emitters (
  emitter_id       text PRIMARY KEY,
  service_name     text,
  seen             int8multirange NOT NULL DEFAULT '{}',
  max_seq          bigint         NOT NULL DEFAULT 0,
  first_seen       timestamptz    NOT NULL DEFAULT now(),
  last_seen        timestamptz    NOT NULL DEFAULT now(),
  -- When the current hole(s) below max_seq were first seen; null when contiguous.
  gap_since        timestamptz
);

-- Tamper-evidence chain over sealed ranges of records (filled by the compliance tools).
CREATE TABLE audit.digests (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Monthly partitions from `from_month` for `months` months; existing ones are kept.
CREATE FUNCTION audit.ensure_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
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
        created := created + 1;
      EXCEPTION WHEN check_violation THEN
        -- The default partition already holds rows of that month: leave them there.
        RAISE NOTICE 'partition % not created: the default partition holds rows of that month', name;
      END;
    END IF;
  END LOOP;
  RETURN created;
END $$;

SELECT audit.ensure_partitions((now() AT TIME ZONE 'UTC')::date - 31, 15);
