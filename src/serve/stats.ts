/**
 * Statistics of the records matching a filter: counts per time bucket,
 * module, action and outcome.
 */
import type { Transaction } from '../db/database.js';
import { isoTimestampSql } from '../compliance/export-query.js';
import { filterClauses, type RecordFilter } from './filters.js';
import { HttpError } from './http-error.js';

export const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type Bucket = keyof typeof BUCKETS;

/** Range of the statistics when the filter has no `from`. */
export const DEFAULT_STATS_RANGE_MS = BUCKETS.day;
/** Most buckets in one answer. */
export const MAX_BUCKETS = 2_000;

export interface StatsRow {
  bucket: string;
  module: string | null;
  action: string;
  outcome: string;
  count: number;
}

export interface Stats {
  bucket: Bucket;
  from: string;
  to: string;
  rows: StatsRow[];
}

/** The bucket asked for, else the finest that keeps a range within a few hundred buckets. */
export function chooseBucket(asked: string | null, rangeMs: number): Bucket {
  if (asked !== null && asked !== '') {
    if (!(asked in BUCKETS)) throw new HttpError(400, 'bad_bucket', `bucket must be one of ${Object.keys(BUCKETS).join(', ')}`);
    const bucket = asked as Bucket;
    if (rangeMs / BUCKETS[bucket] > MAX_BUCKETS) throw new HttpError(400, 'bad_bucket', `more than ${MAX_BUCKETS} ${bucket}s: use a coarser bucket or a shorter range`);
    return bucket;
  }
  if (rangeMs <= 6 * BUCKETS.hour) return 'minute';
  if (rangeMs <= 7 * BUCKETS.day) return 'hour';
  return 'day';
}

export async function recordStats(tx: Transaction, filter: RecordFilter, askedBucket: string | null, now: Date): Promise<Stats> {
  const to = filter.to ?? now.toISOString();
  const from = filter.from ?? new Date(Date.parse(to) - DEFAULT_STATS_RANGE_MS).toISOString();
  const bucket = chooseBucket(askedBucket, Date.parse(to) - Date.parse(from));
  const params: unknown[] = [];
  const clauses = filterClauses({ ...filter, from, to }, params);
  // Grouped on the timestamp, formatted after: hashing a timestamp is cheaper than sorting its text per row.
  const { rows } = await tx.query<StatsRow>(
    `SELECT ${isoTimestampSql('s.bucket')} AS bucket, s.module, s.action, s.outcome, s.count
       FROM (SELECT date_trunc('${bucket}', r.occurred_at) AS bucket, r.module, r.action, r.outcome, count(*)::int AS count
               FROM audit.records r WHERE ${clauses.join(' AND ')}
              GROUP BY 1, 2, 3, 4) s
      ORDER BY s.bucket, s.module, s.action, s.outcome`,
    params,
  );
  return { bucket, from, to, rows };
}
