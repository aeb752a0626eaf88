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
