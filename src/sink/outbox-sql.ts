/**
 * The statements of the outbox merge (outbox-merge.ts) over
 * `audit.outbox_pending` (migration 000011). One statement per purpose, array
 * parameters, so that a batch costs the same few round trips whatever the
 * number of halves it holds.
 */

/** The identity keys (audit.record_identity) of records given as six text arrays: trace, span, service, action, resource type and id. */
export const IDENTITY_KEYS = `
SELECT u.i::int AS i, audit.record_identity(u.t, u.s, u.svc, u.act, u.rt, u.ri) AS k
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(t, s, svc, act, rt, ri, i)
 ORDER BY u.i`;

/**
 * Transaction-level advisory locks, one per key, taken in the order given
 * (the caller sorts them, so that two batches never wait for each other in
 * a cycle). Two sinks that receive the two halves of one record at once
 * thereby merge them: the second waits for the first to commit, then finds
 * its half.
 */
export const LOCK_KEYS = `
SELECT count(*)::int AS n FROM (
  SELECT pg_advisory_xact_lock(u.k) FROM unnest($1::int8[]) WITH ORDINALITY AS u(k, i) ORDER BY u.i) l`;

/** The halves waiting under the keys, locked until the transaction ends (a window job holding one makes this wait, then read it gone). */
export const PENDING_OF_KEYS = `
SELECT identity_key AS k, half, fields, signal, transport, peer FROM audit.outbox_pending
 WHERE identity_key = ANY($1::bytea[])
 ORDER BY identity_key, half
 FOR UPDATE`;

/** Of the keys, those already in audit.records, with the origin of the stored row. */
export const STORED_OF_KEYS = `
SELECT DISTINCT ON (identity_key) identity_key AS k, attributes ->> 'audit.origin' AS origin FROM audit.records
 WHERE identity_key = ANY($1::bytea[])
 ORDER BY identity_key, id`;

/** New waiting halves: key, half, outbox id, the row as JSON text, signal, transport, peer. */
export const INSERT_PENDING = `
INSERT INTO audit.outbox_pending (identity_key, half, outbox_id, fields, signal, transport, peer)
SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[])
ON CONFLICT (identity_key, half) DO NOTHING`;

/** The halves of keys whose row is written. */
export const DELETE_PENDING = 'DELETE FROM audit.outbox_pending WHERE identity_key = ANY($1::bytea[])';

/**
 * Every half of keys that have a half older than the window ($1 ms), oldest
 * first, at most $2 keys; halves another transaction holds (a merge in
 * progress, another sink's window job) are skipped.
 */
export const EXPIRED_PENDING = `
SELECT identity_key AS k, half, fields, signal, transport, peer FROM audit.outbox_pending
 WHERE identity_key IN (
   SELECT identity_key FROM audit.outbox_pending
    WHERE received_at <= now() - make_interval(secs => $1::float8 / 1000)
    ORDER BY received_at LIMIT $2)
 ORDER BY received_at, half
 FOR UPDATE SKIP LOCKED`;

/** Halves waiting now. */
export const COUNT_PENDING = 'SELECT count(*)::int AS n FROM audit.outbox_pending';
