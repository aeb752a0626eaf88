import type { Queryable } from '../db/database.js';

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
 * whose holes have been open for longer than `windowMs`.
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
