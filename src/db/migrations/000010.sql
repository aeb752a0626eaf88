-- 000010: encrypted personal fields as SQL readers (Grafana) may show them.
-- The database never holds the key-encryption key, so it cannot decrypt;
-- audit.readable() shows a ciphertext (src/crypto/field-cipher.ts) as
-- '[encrypted]', or as '[erased]' once its data key has been destroyed
-- (no live row for its kid in audit.subject_keys), and passes any other value
-- through unchanged: rows written without encryption read as before.
--
-- SECURITY DEFINER: every reading role (auditors, readers, service roles)
-- may call it without reading audit.subject_keys itself; all it tells is
-- whether a key is erased.

CREATE FUNCTION audit.readable(value text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN value IS NULL OR value !~ '^enc:v1:[^:]+:[^:]+:[^:]' THEN value
    WHEN EXISTS (SELECT 1 FROM audit.subject_keys k WHERE k.kid = split_part(value, ':', 3) AND k.wrapped_key IS NOT NULL) THEN '[encrypted]'
    ELSE '[erased]'
  END
$$;

-- A jsonb value: an encrypted JSON column ({"enc":"v1","kid":…}) becomes the
-- JSON string '[encrypted]' or '[erased]'; an attributes object has its
-- encrypted client address (audit.client_ip.encrypted) shown the same way.
CREATE FUNCTION audit.readable(value jsonb) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE
    WHEN jsonb_typeof(value) IS DISTINCT FROM 'object' THEN value
    WHEN value ->> 'enc' = 'v1' AND jsonb_typeof(value -> 'kid') = 'string' AND jsonb_typeof(value -> 'iv') = 'string' AND jsonb_typeof(value -> 'ct') = 'string' THEN
      to_jsonb(CASE WHEN EXISTS (SELECT 1 FROM audit.subject_keys k WHERE k.kid = value ->> 'kid' AND k.wrapped_key IS NOT NULL)
                    THEN '[encrypted]' ELSE '[erased]' END)
    WHEN jsonb_typeof(value -> 'audit.client_ip.encrypted') = 'string' THEN
      jsonb_set(value, '{audit.client_ip.encrypted}', to_jsonb(audit.readable(value ->> 'audit.client_ip.encrypted')))
    ELSE value
  END
$$;

-- The client address of a record: the inet column, else its encrypted form in
-- the attributes, readable.
CREATE FUNCTION audit.readable_client_ip(ip inet, attributes jsonb) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT coalesce(host(ip), audit.readable(attributes ->> 'audit.client_ip.encrypted'))
$$;
