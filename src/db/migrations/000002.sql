-- 000002: per-emitter loss accounting as a view (for dashboards and people).

CREATE VIEW audit.emitter_status AS
SELECT e.emitter_id,
       e.service_name,
       e.first_seen,
       e.last_seen,
       e.max_seq,
       -- Every sequence number up to this one has arrived.
       coalesce((SELECT upper(r) - 1 FROM unnest(e.seen) AS r WHERE lower(r) = 1), 0)::bigint AS highest_contiguous_seq,
       int8multirange(int8range(1, e.max_seq + 1)) - e.seen AS gaps,
       coalesce((SELECT sum(upper(g) - lower(g)) FROM unnest(int8multirange(int8range(1, e.max_seq + 1)) - e.seen) AS g), 0)::bigint AS missing,
       e.gap_since
  FROM audit.emitters e;
