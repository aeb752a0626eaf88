/**
 * Statistics of the records matching a filter: counts per time bucket,
 * module, action and outcome.
 *
 * Over whole hours, and filtered at most by tenant, module, action and
 * outcome, they are summed from audit.record_counts (rolled up by
 * audit.roll_up_counts, migration 000008) plus the records not rolled up
 * yet; the partial hours at either end are counted from the records. The
 * counts and the roll-up mark are read in one snapshot, so no record is
 * counted twice or missed. Any other filter counts the records themselves.
 */
import type { Transaction } from '../db/database.js';
import { isoTimestampSql } from '../compliance/iso-timestamp-sql.js';
import { filterClauses, type ExactFilter, type RecordFilter } from './filters.js';
import { HttpError } from './http-error.js';

export const BUCKETS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type Bucket = keyof typeof BUCKETS;

/** Range of the statistics when the filter has no `from`. */
export const DEFAULT_STATS_RANGE_MS = BUCKETS.day;
/** Most buckets in one answer. */
export const MAX_BUCKETS = 2_000;
/** The columns audit.record_counts keeps besides the hour. */
const COUNTED: readonly ExactFilter[] = ['tenant_id', 'module', 'action', 'outcome'];

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
  /** Whether the hourly counts served the whole hours of the range. */
  rolledUp: boolean;
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

/** Whether the hourly counts can answer this filter in these buckets. */
export function countsServe(filter: RecordFilter, bucket: Bucket): boolean {
  return bucket !== 'minute' && filter.q === undefined && Object.keys(filter.exact).every((k) => (COUNTED as readonly string[]).includes(k));
}

/** Run in a transaction that has not read anything yet: it is made REPEATABLE READ (one snapshot). */
export async function recordStats(tx: Transaction, filter: RecordFilter, askedBucket: string | null, now: Date): Promise<Stats> {
  const to = filter.to ?? now.toISOString();
  const from = filter.from ?? new Date(Date.parse(to) - DEFAULT_STATS_RANGE_MS).toISOString();
  const bucket = chooseBucket(askedBucket, Date.parse(to) - Date.parse(from));
  const ranged = { ...filter, from, to };
  const rolledUp = countsServe(filter, bucket);
  const group = (source: string): string =>
    `SELECT ${isoTimestampSql('s.bucket')} AS bucket, s.module, s.action, s.outcome, s.count
       FROM (SELECT date_trunc('${bucket}', p.at) AS bucket, p.module, p.action, p.outcome, sum(p.n)::int AS count
               FROM (${source}) p GROUP BY 1, 2, 3, 4) s
      ORDER BY s.bucket, s.module, s.action, s.outcome`;
  if (!rolledUp) {
    const params: unknown[] = [];
    const where = filterClauses(ranged, params).join(' AND ');
    // Grouped on the timestamp, formatted after: hashing a timestamp is cheaper than sorting its text per row.
    const { rows } = await tx.query<StatsRow>(group(`SELECT r.occurred_at AS at, r.module, r.action, r.outcome, 1 AS n FROM audit.records r WHERE ${where}`), params);
    return { bucket, from, to, rolledUp, rows };
  }
  await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  const { rows: state } = await tx.query<{ upto: string }>('SELECT rolled_up_to::text AS upto FROM audit.record_counts_state');
  const upto = state[0]?.upto ?? '0';
  // Whole hours [mf, mt) from the counts; [from, mf) and [mt, to) from the records.
  const fromHour = Math.ceil(Date.parse(from) / BUCKETS.hour) * BUCKETS.hour;
  const toHour = Math.floor(Date.parse(to) / BUCKETS.hour) * BUCKETS.hour;
  const wholeHours = fromHour < toHour;
  const mf = new Date(fromHour).toISOString();
  const mt = new Date(Math.max(fromHour, toHour)).toISOString();
  const params: unknown[] = [];
  const records = (range: RecordFilter, extra = ''): string =>
    `SELECT r.occurred_at AS at, r.module, r.action, r.outcome, 1 AS n FROM audit.records r WHERE ${[...filterClauses(range, params), ...(extra ? [extra] : [])].join(' AND ')}`;
  const head = records({ ...ranged, to: fromHour < Date.parse(to) ? mf : to });
  const tail = records({ ...ranged, from: mt });
  params.push(upto);
  const fresh = records({ ...ranged, from: mf, to: mt }, `r.id > $${params.length}::bigint`);
  const countWhere = ['c.hour >= ', 'c.hour < '].map((op, i) => {
    params.push(i === 0 ? mf : mt);
    return `${op}$${params.length}::timestamptz`;
  });
  for (const column of COUNTED) {
    const value = filter.exact[column];
    if (value === undefined) continue;
    params.push(value);
    countWhere.push(`c.${column} = $${params.length}`);
  }
  // Counts of partitions retention has dropped are not shown: they start at the oldest record.
  countWhere.push("c.hour >= (SELECT date_trunc('hour', min(o.occurred_at), 'UTC') FROM audit.records o)");
  const counts = `SELECT c.hour AS at, c.module, c.action, c.outcome, c.n FROM audit.record_counts c WHERE ${countWhere.join(' AND ')}`;
  const parts = wholeHours ? [head, tail, fresh, counts] : [head, tail];
  const { rows } = await tx.query<StatsRow>(group(parts.join(' UNION ALL ')), params);
  return { bucket, from, to, rolledUp, rows };
}
