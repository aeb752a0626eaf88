import type { Database, Queryable } from '../db/database.js';

/** A hole in an emitter's sequence that stayed open past the window. */
export interface SequenceGap {
  emitterId: string;
  serviceName: string | null;
  /** First missing sequence number. */
  from: string;
  /** Last missing sequence number. */
  to: string;
  /** When the emitter was first seen with holes. */
  since: Date;
}

/**
 * Gaps (sequence numbers missing below the highest one seen) of emitters
 * whose holes have been open for longer than `windowMs`. Every hole is a row:
 * for people and tests; the sink itself reads {@link gapSummary}.
 */
export async function openGaps(db: Queryable, windowMs: number): Promise<SequenceGap[]> {
  const res = await db.query<{ emitter_id: string; service_name: string | null; lo: string; hi: string; gap_since: Date }>(
    `SELECT e.emitter_id, e.service_name, lower(g) AS lo, upper(g) - 1 AS hi, e.gap_since
       FROM audit.emitters e,
            unnest(int8multirange(int8range(1, e.max_seq + 1)) - e.seen) AS g
      WHERE e.gap_since IS NOT NULL AND e.gap_since <= now() - make_interval(secs => $1::float8 / 1000)
      ORDER BY e.emitter_id, lower(g)`,
    [windowMs],
  );
  return res.rows.map((r) => ({
    emitterId: r.emitter_id,
    serviceName: r.service_name,
    from: String(r.lo),
    to: String(r.hi),
    since: r.gap_since instanceof Date ? r.gap_since : new Date(r.gap_since),
  }));
}

/** The gaps of one emitter, summarised: counts, and only the first and last few ranges. */
export interface EmitterGaps {
  emitterId: string;
  serviceName: string | null;
  /** Number of separate holes (ranges of missing sequence numbers). */
  gaps: number;
  /** Sequence numbers missing in all of them. */
  missing: bigint;
  /**
   * Of these, the holes no longer tracked one by one (beyond 1000 ranges per
   * emitter the oldest are folded into counts, see migration 000005).
   */
  foldedGaps: number;
  foldedMissing: bigint;
  /** The lowest tracked ranges, `from-to` (or `n` for a single number), ascending. */
  first: string[];
  /** The highest tracked ranges, ascending; empty when `first` already lists every one. */
  last: string[];
  /** When the emitter was first seen with holes. */
  since: Date;
}

/** Gaps of all emitters past the window: totals over all of them, details of at most `maxEmitters`. */
export interface GapSummary {
  /** Emitters with gaps past the window. */
  emitters: number;
  gaps: number;
  missing: bigint;
  /** The emitters with the most missing records first, at most `maxEmitters`. */
  details: EmitterGaps[];
}

/** Options of {@link gapSummary}. */
export interface GapSummaryOptions {
  /** Only holes open longer than this count, ms. */
  windowMs: number;
  /** Ranges listed at each end per emitter. Default 3. */
  ranges?: number;
  /** Emitters described one by one (the totals cover all). Default 100. */
  maxEmitters?: number;
}

/**
 * One query, bounded result: however many holes an emitter has, it comes back
 * as one row with counts and its first and last few ranges, so the sink's
 * memory and its log grow with the number of emitters, not of holes.
 */
const GAP_SUMMARY = `
WITH g AS (
  SELECT e.emitter_id, e.service_name, e.gap_since, e.folded_gaps, e.folded_missing,
         int8multirange(int8range(1, e.max_seq + 1)) - e.seen AS holes
    FROM audit.emitters e
   WHERE e.gap_since IS NOT NULL AND e.gap_since <= now() - make_interval(secs => $1::float8 / 1000)
), s AS (
  SELECT g.emitter_id, g.service_name, g.gap_since, g.holes, g.folded_gaps, g.folded_missing,
         (SELECT count(*) FROM unnest(g.holes)) AS tracked_gaps,
         g.folded_gaps + (SELECT count(*) FROM unnest(g.holes)) AS gaps,
         g.folded_missing + (SELECT coalesce(sum(upper(r) - lower(r)), 0) FROM unnest(g.holes) AS r) AS missing
    FROM g
), t AS (
  SELECT s.*, count(*) OVER () AS all_emitters, sum(s.gaps) OVER () AS all_gaps, sum(s.missing) OVER () AS all_missing
    FROM s WHERE s.gaps > 0
)
SELECT t.emitter_id, t.service_name, t.gap_since,
       t.gaps::text AS gaps, t.missing::text AS missing, t.folded_gaps::text AS folded_gaps, t.folded_missing::text AS folded_missing,
       t.all_emitters::text AS all_emitters, t.all_gaps::text AS all_gaps, t.all_missing::text AS all_missing,
       (SELECT array_agg(x.txt ORDER BY x.lo) FROM (
          SELECT lower(r) AS lo, CASE WHEN upper(r) - lower(r) = 1 THEN lower(r)::text ELSE lower(r) || '-' || (upper(r) - 1) END AS txt
            FROM unnest(t.holes) AS r ORDER BY lower(r) LIMIT $2) x) AS first,
       (SELECT array_agg(x.txt ORDER BY x.lo) FROM (
          SELECT lower(r) AS lo, CASE WHEN upper(r) - lower(r) = 1 THEN lower(r)::text ELSE lower(r) || '-' || (upper(r) - 1) END AS txt
            FROM unnest(t.holes) AS r ORDER BY lower(r) DESC LIMIT LEAST($2, greatest(t.tracked_gaps - $2, 0))) x) AS last
  FROM t
 ORDER BY t.missing DESC, t.emitter_id
 LIMIT $3`;

/** Gaps past the window, summarised per emitter (see {@link GapSummary}). */
export async function gapSummary(db: Queryable, options: GapSummaryOptions): Promise<GapSummary> {
  const res = await db.query<{
    emitter_id: string; service_name: string | null; gap_since: Date | string; gaps: string; missing: string; folded_gaps: string; folded_missing: string;
    all_emitters: string; all_gaps: string; all_missing: string; first: string[] | null; last: string[] | null;
  }>(GAP_SUMMARY, [options.windowMs, options.ranges ?? 3, options.maxEmitters ?? 100]);
  const top = res.rows[0];
  return {
    emitters: top ? Number(top.all_emitters) : 0,
    gaps: top ? Number(top.all_gaps) : 0,
    missing: top ? BigInt(top.all_missing) : 0n,
    details: res.rows.map((r) => ({
      emitterId: r.emitter_id,
      serviceName: r.service_name,
      gaps: Number(r.gaps),
      missing: BigInt(r.missing),
      foldedGaps: Number(r.folded_gaps),
      foldedMissing: BigInt(r.folded_missing),
      first: r.first ?? [],
      last: r.last ?? [],
      since: r.gap_since instanceof Date ? r.gap_since : new Date(r.gap_since),
    })),
  };
}

/** Where a running gap query can be reached: the Postgres backend running it, once known. */
export interface GapQueryHandle {
  pid?: number;
}

/**
 * The summary in its own transaction under a statement timeout (Postgres),
 * noting the backend's pid in `handle` so that a shutdown can cancel it.
 */
export function timedGapSummary(db: Database, options: GapSummaryOptions, timeoutMs: number, handle: GapQueryHandle): Promise<GapSummary> {
  return db.transaction(async (tx) => {
    if (db.kind === 'postgres') {
      const pid = await tx.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid, set_config('statement_timeout', $1, true)`, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
      handle.pid = pid.rows[0]?.pid;
    }
    return gapSummary(tx, options);
  });
}
