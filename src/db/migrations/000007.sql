-- 000007: audit.records.level takes only the contract's levels (LEVELS in
-- src/contract/values.ts; a test keeps the two lists equal), or NULL.
--
-- Rows stored before this migration are evidence, sealed into the digest
-- chain and never rewritten, and earlier sinks accepted any level. So the
-- check is added NOT VALID, which every partition (and every partition made
-- later) enforces on new rows, and then validated: a database whose stored
-- levels all pass gets a validated check; one holding other levels keeps
-- them, and the check stays NOT VALID.
ALTER TABLE audit.records
  ADD CONSTRAINT records_level_check CHECK (level IS NULL OR level IN ('full', 'basic', 'minimal')) NOT VALID;

DO $$
BEGIN
  ALTER TABLE audit.records VALIDATE CONSTRAINT records_level_check;
EXCEPTION WHEN check_violation THEN
  RAISE NOTICE 'audit.records holds levels other than full, basic and minimal from before 000007: kept as stored; new rows are checked';
END $$;
