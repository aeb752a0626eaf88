/**
 * Retention: drop whole monthly partitions of audit.records that lie
 * entirely before the retention window, only when every row in them is
 * sealed (and, on request, covered by a complete export). Never deletes
 * single rows. Each drop appends a `retention` digest that names the ids
 * the partition held, so verification goes on working across the gap, and
 * the run is recorded as an `audit.retention` record.
 */
import type { Database, Queryable } from '../db/database.js';
import { CHAIN_LOCK_KEY, digestHash, GENESIS_HASH, signHash, type DigestBody, type DigestKey } from './digest.js';

export interface Partition {
  name: string;
  /** Bounds on occurred_at, ISO 8601: [from, to). */
  from: string;
  to: string;
}

/** The trusted `audit.export` record that covered every row of a partition. */
export interface ExportCoverage {
  /** Id of the export's `audit.export` record. */
  recordId: string;
  /** SHA-256 of the exported file, as its manifest states it. */
  sha256: string;
  /** The database role that ran the export. */
  dbUser: string;
}

export type PartitionVerdict =
  | { partition: Partition; action: 'drop'; rows: number; export?: ExportCoverage }
  | { partition: Partition; action: 'keep'; reason: string; rows: number };

export interface RetentionOptions {
  /** Keep this much history, ms: partitions that end before now minus this are dropped. */
  keepMs: number;
  dryRun?: boolean;
  /**
   * Drop only partitions whose every row a complete export covered: an
   * `audit.export` operation record (written by audit.log_operation, indexed
   * in audit.operations) without filters, by a role that reads every tenant,
   * whose rows and first/last id per partition equal the partition's now.
   */
  requireExport?: boolean;
  /** Signs the retention digests. */
  key?: DigestKey;
  /** Who runs it (the `audit.retention` record's actor). */
  actor?: string;
  /** Now, for tests. Default the database's clock. */
  now?: Date;
}

export interface RetentionResult {
  cutoff: string;
  verdicts: PartitionVerdict[];
  dropped: { partition: string; rows: number; digestId: string; export?: ExportCoverage }[];
  /** Id of the `audit.retention` record (none on a dry run or when nothing was dropped). */
  recordId?: string;
}

/** `400d`, `12w`, `13mo`, `2y`, `36h` → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(h|d|w|mo|y)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 400d, 12w, 13mo, 2y or 36h`);
  const n = Number(m[1]);
  const unit = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, mo: 30 * 86_400_000, y: 365 * 86_400_000 }[m[2] as 'h' | 'd' | 'w' | 'mo' | 'y'];
  if (n <= 0) throw new Error('the retention window must be longer than zero');
  return n * unit;
}

/** The monthly partitions of audit.records with their bounds (not the default one), oldest first. */
export async function listPartitions(db: Database): Promise<Partition[]> {
  const { rows } = await db.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'audit.records'::regclass`,
  );
  const out: Partition[] = [];
  for (const r of rows) {
    const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound);
    if (!m) continue; // DEFAULT
    out.push({ name: r.name, from: new Date(m[1] as string).toISOString(), to: new Date(m[2] as string).toISOString() });
  }
  return out.sort((a, b) => a.from.localeCompare(b.from));
}

interface PartitionStats {
  rows: number;
  firstId: string | null;
  lastId: string | null;
}

async function partitionStats(db: Queryable, name: string): Promise<PartitionStats> {
  const { rows } = await db.query<{ n: string; lo: string | null; hi: string | null }>(
    `SELECT count(*)::text AS n, min(id)::text AS lo, max(id)::text AS hi FROM audit.records WHERE tableoid = to_regclass($1)`,
    [`audit.${name}`],
  );
  return { rows: Number(rows[0]?.n ?? 0), firstId: rows[0]?.lo ?? null, lastId: rows[0]?.hi ?? null };
}

/**
 * The newest trusted, complete export that covered exactly the rows the
 * partition holds (count and first/last id), or undefined. Only
 * audit.operations counts: it is written by audit.log_operation alone, so a
 * record sent over OTLP or inserted with the same action name is no export.
 */
async function coveringExport(db: Queryable, name: string, stats: PartitionStats): Promise<ExportCoverage | undefined> {
  const { rows } = await db.query<{ record_id: string; sha256: string; db_user: string }>(
    `SELECT record_id::text AS record_id, sha256, db_user FROM audit.operations
      WHERE action = 'audit.export' AND outcome = 'success' AND complete AND NOT filtered AND sha256 IS NOT NULL
        AND (partitions->$1->>'rows')::bigint = $2::bigint
        AND (partitions->$1->>'first_id')::bigint = $3::bigint AND (partitions->$1->>'last_id')::bigint = $4::bigint
      ORDER BY record_id DESC LIMIT 1`,
    [name, stats.rows, stats.firstId, stats.lastId],
  );
  const r = rows[0];
  return r ? { recordId: r.record_id, sha256: r.sha256, dbUser: r.db_user } : undefined;
}

export async function runRetention(db: Database, options: RetentionOptions): Promise<RetentionResult> {
  const nowRow = await db.query<{ now: string }>(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now`);
  const now = options.now ?? new Date(nowRow.rows[0]?.now as string);
  const cutoff = new Date(now.getTime() - options.keepMs).toISOString();
  const sealed = await db.query<{ last: string }>(`SELECT coalesce(max(last_id), 0)::text AS last FROM audit.digests WHERE kind = 'seal'`);
  const lastSealed = BigInt(sealed.rows[0]?.last ?? '0');

  const verdicts: PartitionVerdict[] = [];
  for (const p of await listPartitions(db)) {
    if (p.to > cutoff) continue;
    const stats = await partitionStats(db, p.name);
    const rows = stats.rows;
    const maxId = BigInt(stats.lastId ?? '0');
    if (maxId > lastSealed) {
      verdicts.push({ partition: p, action: 'keep', rows, reason: `not sealed: holds ids up to ${maxId}, sealed up to ${lastSealed}` });
      continue;
    }
    if (options.requireExport && rows > 0) {
      const coverage = await coveringExport(db, p.name, stats);
      if (!coverage) {
        verdicts.push({
          partition: p,
          action: 'keep',
          rows,
          reason: `no complete export covers its ${rows} rows (ids ${stats.firstId}..${stats.lastId}) (--require-export)`,
        });
      } else {
        verdicts.push({ partition: p, action: 'drop', rows, export: coverage });
      }
      continue;
    }
    verdicts.push({ partition: p, action: 'drop', rows });
  }
  const result: RetentionResult = { cutoff, verdicts, dropped: [] };
  if (options.dryRun) return result;

  for (const v of verdicts) {
    if (v.action !== 'drop') continue;
    const digestId = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [CHAIN_LOCK_KEY]);
      const head = await tx.query<{ hash: string }>('SELECT hash FROM audit.digests ORDER BY id DESC LIMIT 1');
      const ids = await tx.query<{ ids: string; n: string }>(
        `SELECT coalesce(range_agg(int8range(id, id + 1)), '{}'::int8multirange)::text AS ids, count(*)::text AS n
           FROM audit.records WHERE tableoid = to_regclass($1)`,
        [`audit.${v.partition.name}`],
      );
      if (v.export && Number(ids.rows[0]?.n ?? 0) !== v.rows) {
        // Rows arrived since the export was checked: the partition waits for the next run.
        throw new Error(`partition ${v.partition.name} changed since its export coverage was checked; run retention again`);
      }
      const body: DigestBody = {
        kind: 'retention',
        first_id: '1',
        last_id: '0',
        sealed_from: null,
        sealed_to: null,
        row_count: Number(ids.rows[0]?.n ?? 0),
        records_hash: '',
        dropped_ids: ids.rows[0]?.ids ?? '{}',
        dropped_partition: v.partition.name,
        prev_hash: head.rows[0]?.hash ?? GENESIS_HASH,
      };
      const hash = digestHash(body);
      const sig = options.key ? signHash(options.key, hash) : undefined;
      const { rows } = await tx.query<{ id: string }>(
        'SELECT audit.drop_partition($1, $2, $3, $4, $5::int8multirange, $6, $7, $8)::text AS id',
        [v.partition.name, body.prev_hash, hash, body.row_count, body.dropped_ids, sig?.signature ?? null, sig?.alg ?? null, sig?.keyId ?? null],
      );
      return rows[0]?.id ?? '';
    });
    result.dropped.push({ partition: v.partition.name, rows: v.rows, digestId, ...(v.export ? { export: v.export } : {}) });
  }
  if (result.dropped.length > 0) {
    const { rows } = await db.query<{ id: string }>(
      `SELECT audit.log_operation('audit.retention', $1, 'partition', $2, 'success', $3::jsonb)::text AS id`,
      [
        options.actor ?? null,
        result.dropped.map((d) => d.partition).join(','),
        JSON.stringify({
          keep_ms: options.keepMs,
          cutoff,
          require_export: options.requireExport === true,
          dropped: result.dropped.map((d) => ({ partition: d.partition, rows: d.rows, digest_id: d.digestId, export: d.export })),
          kept: verdicts.filter((x) => x.action === 'keep').map((x) => ({ partition: x.partition.name, reason: (x as { reason: string }).reason })),
        }),
      ],
    );
    if (rows[0]) result.recordId = rows[0].id;
  }
  return result;
}
