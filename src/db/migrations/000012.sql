-- 000012: audit.readable() for records encrypted in format v2
-- (src/crypto/record-cipher.ts): one envelope per record, kept in the
-- attributes ("audit.sealed", and "audit.sealed.outbox" in a row merged from
-- an outbox record), with markers in the encrypted columns: text
-- 'enc:v2:<kid>', jsonb {"enc":"v2","kid":…}. Markers and envelopes read as
-- '[encrypted]', or '[erased]' once their data key has been destroyed, like
-- the per-field ciphertexts of format v1, which read as before. Every other
-- value passes through unchanged.

CREATE OR REPLACE FUNCTION audit.readable(value text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN value IS NULL OR (value !~ '^enc:v1:[^:]+:[^:]+:[^:]' AND value !~ '^enc:v2:[^:]+(:[^:]+:[^:]+)?$') THEN value
    WHEN EXISTS (SELECT 1 FROM audit.subject_keys k WHERE k.kid = split_part(value, ':', 3) AND k.wrapped_key IS NOT NULL) THEN '[encrypted]'
    ELSE '[erased]'
  END
$$;

CREATE OR REPLACE FUNCTION audit.readable(value jsonb) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN jsonb_typeof(value) IS DISTINCT FROM 'object' THEN value
    WHEN (value ->> 'enc' = 'v1' AND jsonb_typeof(value -> 'kid') = 'string' AND jsonb_typeof(value -> 'iv') = 'string' AND jsonb_typeof(value -> 'ct') = 'string')
      OR (value ->> 'enc' = 'v2' AND jsonb_typeof(value -> 'kid') = 'string' AND (value - 'enc' - 'kid' - 'in') = '{}'::jsonb) THEN
      to_jsonb(CASE WHEN EXISTS (SELECT 1 FROM audit.subject_keys k WHERE k.kid = value ->> 'kid' AND k.wrapped_key IS NOT NULL)
                    THEN '[encrypted]' ELSE '[erased]' END)
    WHEN value ?| ARRAY['audit.client_ip.encrypted', 'audit.sealed', 'audit.sealed.outbox'] THEN
      value || coalesce((SELECT jsonb_object_agg(k, to_jsonb(audit.readable(value ->> k)))
                           FROM unnest(ARRAY['audit.client_ip.encrypted', 'audit.sealed', 'audit.sealed.outbox']) AS k
                          WHERE jsonb_typeof(value -> k) = 'string'), '{}'::jsonb)
    ELSE value
  END
$$;
