import { createHash } from 'node:crypto';
import { WRITTEN_COLUMNS, type RowColumn, type RowFieldColumn, type WrittenColumn } from '../contract/columns.js';
import { isConnectionError, type Database } from '../db/database.js';
import { SINK_DEFAULTS } from './config.js';
import { contentHash, identityOf } from './content-hash.js';
import { RetryableError } from './errors.js';
import type { AuditRow } from './row.js';

/** Input kept verbatim in `audit.rejected`. */
export interface RejectedInput {
  signal: 'logs' | 'traces';
  transport: 'grpc' | 'http/protobuf' | 'http/json';
  reason: string;
  /** Raw bytes: the request, or the offending record serialised. */
  raw: Buffer | null;
  /** The offending record, decoded, when it is JSON-safe. */
  record: unknown;
  peer: string | null;
}

export interface WriterOptions {
  /** Rows per database round trip at most. Default {@link SINK_DEFAULTS.batchRows}. */
  maxBatchRows?: number;
  /** How long a batch waits for more rows, ms. Default {@link SINK_DEFAULTS.batchDelayMs}. */
  maxDelayMs?: number;
  /** Rows waiting at most; past it submissions are refused as retryable. Default {@link SINK_DEFAULTS.maxQueueRows}. */
  maxQueueRows?: number;
  /** Batches written at once (connections used). Default {@link SINK_DEFAULTS.writers}. */
  concurrency?: number;
}

/** What the writer reports after each batch (for metrics). */
export interface BatchReport {
  rows: number;
  inserted: number;
  duplicates: number;
  /** Rejected input stored, and rows set aside (conflicts, refused by the database). */
  rejected: number;
  /** Rows kept as conflicts. */
  conflicts: number;
  seconds: number;
}

/** Where a submission came from, for rows the database itself refuses. */
export interface SubmitSource {
  signal: 'logs' | 'traces';
  transport: RejectedInput['transport'];
  peer: string | null;
}

/** What became of a submission's rows that are not in audit.records (all kept in audit.rejected). */
export interface SubmitResult {
  /** Rows not stored as records: conflicts, and rows of an export the database refused. */
  rejected: number;
  /** Rows kept with reason `conflict` (an existing key with other content). */
  conflicts: number;
  /** Up to three reasons, for the answer's error message. */
  reasons: string[];
}

interface Pending {
  rows: AuditRow[];
  rejects: RejectedInput[];
  source: SubmitSource;
  result: SubmitResult;
  resolve: (result: SubmitResult) => void;
  reject: (e: Error) => void;
}

/** `reason` of a record kept in audit.rejected because its key exists with other content. */
export const CONFLICT_REASON = 'conflict';

// Every field of a row has a column, and every row column a field of the row.
type RowField = RowFieldColumn['field'];
const ROW_FIELDS_MATCH: [RowField] extends [keyof AuditRow] ? ([keyof AuditRow] extends [RowField] ? true : never) : never = true;
void ROW_FIELDS_MATCH;

/** Number of parameters of {@link INSERT_RECORDS}: one array per written column. */
const RECORD_PARAMS = WRITTEN_COLUMNS.length;

/** `$n::type[]`: the parameter of a written column in {@link INSERT_RECORDS}. */
function recordParam(name: WrittenColumn['name']): string {
  const i = WRITTEN_COLUMNS.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`audit.records has no written column ${name}`);
  return `$${i + 1}::${(WRITTEN_COLUMNS[i] as WrittenColumn).type}[]`;
}

// One statement per purpose: every column as an array, unnested in one round trip.
const INSERT_RECORDS = `
INSERT INTO audit.records (${WRITTEN_COLUMNS.map((c) => c.name).join(', ')})
SELECT * FROM unnest(${WRITTEN_COLUMNS.map((c) => recordParam(c.name)).join(', ')})
ON CONFLICT (identity_key, occurred_at) DO NOTHING
RETURNING identity_key, occurred_at`;

const UPSERT_EMITTERS = `
INSERT INTO audit.emitters AS e (emitter_id, service_name, seen, max_seq, last_seen, gap_since)
SELECT id, svc, ranges::int8multirange, mx, now(),
  CASE WHEN ranges::int8multirange = int8multirange(int8range(1, mx + 1)) THEN NULL ELSE now() END
FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) AS u(id, svc, ranges, mx)
ON CONFLICT (emitter_id) DO UPDATE SET
  seen = e.seen + EXCLUDED.seen,
  max_seq = greatest(e.max_seq, EXCLUDED.max_seq),
  last_seen = now(),
  gap_since = CASE
    WHEN e.seen + EXCLUDED.seen = int8multirange(int8range(1, greatest(e.max_seq, EXCLUDED.max_seq) + 1)) THEN NULL
    ELSE coalesce(e.gap_since, now()) END`;

const INSERT_REJECTED = `
INSERT INTO audit.rejected (signal, transport, reason, raw, record, peer)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[], $6::text[])`;

const shift = (sql: string, by: number): string => sql.trim().replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`);

/** The columns of a record's identity (audit.record_identity's arguments), and its occurred_at. */
const IDENTITY_COLUMNS = ['trace_id', 'span_id', 'service_name', 'action', 'resource_type', 'resource_id', 'occurred_at'] as const;

/**
 * The whole batch in one statement, so one round trip and no explicit
 * transaction (a statement is atomic): records, the emitters' sequence
 * bookkeeping and rejected input, as data-modifying CTEs. Parameters: one
 * per written column (records), then four (emitters), then six (rejected);
 * empty arrays insert nothing. Answers the ordinals (1-based) of the records
 * that inserted nothing because their key exists (redelivered, or a
 * conflict): computed only when some did.
 */
const WRITE_BATCH = `
WITH r AS (${INSERT_RECORDS.trim()}),
e AS (${shift(UPSERT_EMITTERS, RECORD_PARAMS)}),
j AS (${shift(INSERT_REJECTED, RECORD_PARAMS + 4)})
SELECT CASE WHEN (SELECT count(*) FROM r) = cardinality(${recordParam('trace_id')}) THEN '{}'::int[] ELSE ARRAY(
  SELECT u.i::int FROM unnest(${IDENTITY_COLUMNS.map(recordParam).join(', ')})
    WITH ORDINALITY AS u(t, s, svc, act, rt, ri, at, i)
  WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.identity_key = audit.record_identity(u.t, u.s, u.svc, u.act, u.rt, u.ri) AND r.occurred_at = u.at)
  ORDER BY u.i) END AS skipped`;

/**
 * Of records that inserted nothing, those whose stored row has other content
 * (ordinals, 1-based). Rows stored before content hashes existed count as the
 * same content.
 */
const FIND_CONFLICTS = `
SELECT u.i::int AS i
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::bytea[])
  WITH ORDINALITY AS u(t, s, svc, act, rt, ri, at, h, i)
CROSS JOIN LATERAL (
  SELECT content_hash FROM audit.records r
   WHERE r.identity_key = audit.record_identity(u.t, u.s, u.svc, u.act, u.rt, u.ri) AND r.occurred_at = u.at
   LIMIT 1) r
WHERE r.content_hash IS NOT NULL AND r.content_hash <> u.h`;

const EMPTY_EMITTERS: unknown[] = [[], [], [], []];

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** JSON.stringify escapes an unpaired surrogate as `\udXXX`, which jsonb refuses. */
const SURROGATE_ESCAPE = /\\ud[89a-f][0-9a-f]{2}/i;

/** JSON that Postgres jsonb accepts (no NUL characters, no unpaired surrogates), else null. */
function jsonbSafe(v: unknown): string | null {
  try {
    const s = json(v);
    return s !== null && !s.includes('\\u0000') && !SURROGATE_ESCAPE.test(s) ? s : null;
  } catch {
    return null;
  }
}

/** `{[1,4),[6,7)}` from sequence numbers. */
export function seqRanges(seqs: readonly bigint[]): { text: string; max: bigint } {
  const sorted = [...new Set(seqs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: string[] = [];
  let start: bigint | undefined;
  let prev: bigint | undefined;
  for (const s of sorted) {
    if (start === undefined || prev === undefined) {
      start = s;
    } else if (s !== prev + 1n) {
      parts.push(`[${start},${prev + 1n})`);
      start = s;
    }
    prev = s;
  }
  if (start !== undefined && prev !== undefined) parts.push(`[${start},${prev + 1n})`);
  return { text: `{${parts.join(',')}}`, max: prev ?? 0n };
}

/** How each written column's parameter value is read from a keyed row, in parameter order. */
const RECORD_VALUES: readonly ((k: Keyed) => unknown)[] = WRITTEN_COLUMNS.map((c): ((k: Keyed) => unknown) => {
  if (c.source === 'content-hash') return (k) => k.hash;
  const column: RowColumn = c;
  const field = column.field as keyof AuditRow;
  if (column.type !== 'jsonb') return (k) => k.row[field];
  const fallback = column.default ?? null;
  return (k) => json(k.row[field]) ?? fallback;
});

/** The record parameters: per written column, the array of its values. */
function recordParams(rows: readonly Keyed[]): unknown[] {
  return RECORD_VALUES.map((value) => {
    const col = new Array<unknown>(rows.length);
    for (let i = 0; i < rows.length; i++) col[i] = value(rows[i] as Keyed);
    return col;
  });
}

function conflictParams(rows: readonly Keyed[]): unknown[] {
  return [
    rows.map((k) => k.row.traceId),
    rows.map((k) => k.row.spanId),
    rows.map((k) => k.row.serviceName),
    rows.map((k) => k.row.action),
    rows.map((k) => k.row.resourceType),
    rows.map((k) => k.row.resourceId),
    rows.map((k) => k.row.occurredAt),
    rows.map((k) => k.hash),
  ];
}

/** A row with its content hash and the submission it came from. */
interface Keyed {
  row: AuditRow;
  hash: Buffer;
  owner: Pending;
}

function hashOf(row: AuditRow): Buffer {
  try {
    return contentHash(row);
  } catch {
    // A value canonical JSON has no form for (the transform leaves none): hash its plain JSON.
    return createHash('sha256').update(JSON.stringify(row)).digest();
  }
}

/**
 * The database refused the data itself (a value or a constraint), as
 * opposed to being unavailable, overloaded or misconfigured: SQLSTATE classes
 * 22 (data exception), 23 (integrity constraint) and 54 (program limit, e.g.
 * an index entry too large).
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

function emitterParams(rows: readonly AuditRow[]): unknown[] | undefined {
  const by = new Map<string, { svc: string; seqs: bigint[] }>();
  for (const r of rows) {
    if (r.emitterId === null || r.emitterSeq === null) continue;
    let e = by.get(r.emitterId);
    if (!e) by.set(r.emitterId, (e = { svc: r.serviceName, seqs: [] }));
    e.seqs.push(BigInt(r.emitterSeq));
  }
  if (by.size === 0) return undefined;
  // Sorted, so that concurrent batches lock emitter rows in the same order.
  const ids = [...by.keys()].sort();
  const svcs: string[] = [];
  const ranges: string[] = [];
  const maxes: string[] = [];
  for (const id of ids) {
    const e = by.get(id) as { svc: string; seqs: bigint[] };
    const { text, max } = seqRanges(e.seqs);
    svcs.push(e.svc);
    ranges.push(text);
    maxes.push(max.toString());
  }
  return [ids, svcs, ranges, maxes];
}

/** Text Postgres can store: NUL written out as `\u0000` (the raw bytes keep the original). */
function pgText(s: string | null): string | null {
  return s === null ? null : s.split(String.fromCharCode(0)).join('\\u0000');
}

function rejectedParams(rejects: readonly RejectedInput[]): unknown[] {
  return [
    rejects.map((r) => r.signal),
    rejects.map((r) => r.transport),
    rejects.map((r) => pgText(r.reason)),
    rejects.map((r) => r.raw),
    rejects.map((r) => jsonbSafe(r.record)),
    rejects.map((r) => pgText(r.peer)),
  ];
}

/**
 * Batches rows of many concurrent exports into few transactions (group
 * commit): one `unnest` insert per batch with `ON CONFLICT DO NOTHING` on the
 * identity key, the emitters' sequence bookkeeping and the rejected input in
 * the same statement. A row whose key exists inserts nothing: with the same
 * content hash it is a redelivery (counted as a duplicate), with another it
 * is a conflict, kept in audit.rejected (reason `conflict`) and reported
 * rejected to its submission. A submission resolves only after its rows are
 * committed or kept in audit.rejected; when the database is down or the
 * queue is full it rejects with {@link RetryableError}, so the client retries
 * and nothing accepted is ever dropped.
 */
export class Writer {
  private readonly queue: Pending[] = [];
  private queuedRows = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private due = false;
  private closed = false;
  private readonly maxBatchRows: number;
  private readonly maxDelayMs: number;
  private readonly maxQueueRows: number;
  private readonly concurrency: number;

  constructor(
    private readonly db: Database,
    options: WriterOptions = {},
    private readonly onBatch: (report: BatchReport) => void = () => {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? SINK_DEFAULTS.batchRows;
    this.maxDelayMs = options.maxDelayMs ?? SINK_DEFAULTS.batchDelayMs;
    this.maxQueueRows = options.maxQueueRows ?? SINK_DEFAULTS.maxQueueRows;
    this.concurrency = options.concurrency ?? SINK_DEFAULTS.writers;
  }

  /** Rows (and rejected inputs) waiting for a transaction. */
  get depth(): number {
    return this.queuedRows;
  }

  /**
   * Store rows and rejected input; resolves after they are committed, with
   * the rows that did not become records (conflicts, or an export the
   * database refused), which are in audit.rejected by then.
   */
  submit(rows: AuditRow[], rejects: RejectedInput[], source: SubmitSource): Promise<SubmitResult> {
    if (this.closed) return Promise.reject(new RetryableError('the sink is shutting down'));
    if (rows.length === 0 && rejects.length === 0) return Promise.resolve({ rejected: 0, conflicts: 0, reasons: [] });
    if (this.queuedRows > 0 && this.queuedRows + rows.length > this.maxQueueRows) {
      return Promise.reject(new RetryableError(`write queue full (${this.queuedRows} rows waiting)`, 'exhausted', 1));
    }
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ rows, rejects, source, result: { rejected: 0, conflicts: 0, reasons: [] }, resolve, reject });
      this.queuedRows += rows.length + rejects.length;
      this.kick();
    });
  }

  /** Write what is queued, then refuse new submissions. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    while (this.queue.length > 0 || this.running > 0) {
      this.kick();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /**
   * Start batches while there is capacity. A lone small batch waits up to
   * `maxDelayMs` for company; while a batch is being written the next one
   * gathers rows, and is written as soon as the first commits (group commit).
   */
  private kick(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const full = this.queuedRows >= this.maxBatchRows;
      if (!full && !this.closed) {
        if (this.running > 0) return;
        if (!this.due && this.maxDelayMs > 0) {
          this.timer ??= setTimeout(() => {
            this.timer = undefined;
            this.due = true;
            this.kick();
          }, this.maxDelayMs);
          return;
        }
      }
      this.due = false;
      clearTimeout(this.timer);
      this.timer = undefined;
      const batch = this.take();
      this.running++;
      void this.write(batch).finally(() => {
        this.running--;
        this.due = true; // what queued meanwhile has waited long enough
        this.kick();
      });
    }
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      const size = next.rows.length + next.rejects.length;
      if (batch.length > 0 && n + size > this.maxBatchRows) break;
      this.queue.shift();
      batch.push(next);
      n += size;
    }
    this.queuedRows -= n;
    return batch;
  }

  /**
   * Writes a batch. When the database refuses the batch's data (which the
   * transform's checks should make impossible), each submission is written
   * on its own, so that the refusal stays with the export that caused it:
   * that export's rows are kept in audit.rejected with the database's reason
   * and reported rejected in its answer. Never row by row.
   */
  private async write(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const totals = { inserted: 0, duplicates: 0, conflicts: 0, refused: 0 };
    const add = (t: typeof totals): void => {
      totals.inserted += t.inserted;
      totals.duplicates += t.duplicates;
      totals.conflicts += t.conflicts;
      totals.refused += t.refused;
    };
    const retryable = (err: unknown): RetryableError =>
      err instanceof RetryableError
        ? err
        : new RetryableError(isConnectionError(err) ? `database unavailable: ${(err as Error).message}` : `database error: ${(err as Error).message}`);
    const settled: Pending[] = [];
    try {
      add(await this.writeBatch(batch));
      settled.push(...batch);
    } catch (err) {
      if (!isDataError(err)) {
        const e = retryable(err);
        for (const p of batch) p.reject(e);
        return;
      }
      for (const p of batch) {
        try {
          add(batch.length > 1 ? await this.writeBatch([p]) : await this.setAside(p, err as Error));
          settled.push(p);
        } catch (err2) {
          if (!isDataError(err2)) {
            p.reject(retryable(err2));
            continue;
          }
          try {
            add(await this.setAside(p, err2 as Error));
            settled.push(p);
          } catch (err3) {
            p.reject(retryable(err3));
          }
        }
      }
    }
    for (const p of settled) p.resolve(p.result);
    const rows = settled.reduce((n, p) => n + p.rows.length, 0);
    this.onBatch({
      rows,
      inserted: totals.inserted,
      duplicates: totals.duplicates,
      rejected: settled.reduce((n, p) => n + p.rejects.length, 0) + totals.conflicts + totals.refused,
      conflicts: totals.conflicts,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  /**
   * Records, emitters and rejected input in one statement; then, only when
   * some records inserted nothing, which of those are conflicts (one query)
   * and those kept in audit.rejected (one insert). A failure after the first
   * statement leaves the client retrying: the retry finds the same conflicts.
   */
  private async writeBatch(batch: Pending[]): Promise<{ inserted: number; duplicates: number; conflicts: number; refused: number }> {
    const unique: Keyed[] = [];
    const conflicts: Keyed[] = [];
    let duplicates = 0;
    const seen = new Map<string, Buffer>();
    for (const p of batch) {
      for (const row of p.rows) {
        const keyed: Keyed = { row, hash: hashOf(row), owner: p };
        const id = identityOf(row);
        const first = seen.get(id);
        if (first === undefined) {
          seen.set(id, keyed.hash);
          unique.push(keyed);
        } else if (first.equals(keyed.hash)) {
          duplicates++;
        } else {
          conflicts.push(keyed);
        }
      }
    }
    const rows = batch.flatMap((p) => p.rows);
    const rejects = batch.flatMap((p) => p.rejects);
    const params = [...recordParams(unique), ...(emitterParams(rows) ?? EMPTY_EMITTERS), ...rejectedParams(rejects)];
    const res = await this.db.query<{ skipped: number[] | null }>(WRITE_BATCH, params);
    const skipped = (res.rows[0]?.skipped ?? []).map((i) => unique[i - 1] as Keyed);
    if (skipped.length > 0) {
      const found = await this.db.query<{ i: number }>(FIND_CONFLICTS, conflictParams(skipped));
      for (const { i } of found.rows) conflicts.push(skipped[i - 1] as Keyed);
      duplicates += skipped.length - found.rows.length;
    }
    if (conflicts.length > 0) {
      await this.keepRejected(
        conflicts.map((k) => ({ ...k.owner.source, reason: CONFLICT_REASON, raw: Buffer.from(JSON.stringify(k.row)), record: k.row })),
      );
      for (const k of conflicts) {
        const r = k.owner.result;
        r.rejected++;
        r.conflicts++;
        if (r.reasons.length < 3) {
          r.reasons.push(`${CONFLICT_REASON}: a record with the key of this one (trace ${k.row.traceId}, span ${k.row.spanId}, action ${JSON.stringify(k.row.action)}) is stored with other content`);
        }
      }
    }
    return { inserted: unique.length - skipped.length, duplicates, conflicts: conflicts.length, refused: 0 };
  }

  /** Keeps a submission the database refused: its rows and rejected input go to audit.rejected, with the reason. */
  private async setAside(p: Pending, cause: Error): Promise<{ inserted: number; duplicates: number; conflicts: number; refused: number }> {
    const reason = `the database refused the export: ${cause.message}`;
    await this.keepRejected([
      ...p.rejects,
      ...p.rows.map((row) => ({ ...p.source, reason, raw: Buffer.from(JSON.stringify(row)), record: row })),
    ]);
    p.result.rejected += p.rows.length;
    if (p.result.reasons.length < 3) p.result.reasons.push(reason);
    return { inserted: 0, duplicates: 0, conflicts: 0, refused: p.rows.length };
  }

  /** Inserts rejected input; when its decoded form or reason cannot be stored, keeps at least the bytes. */
  private async keepRejected(rejects: RejectedInput[]): Promise<void> {
    if (rejects.length === 0) return;
    try {
      await this.db.query(INSERT_REJECTED, rejectedParams(rejects));
    } catch (err) {
      if (!isDataError(err)) throw err;
      // bytea takes anything.
      await this.db.query(
        INSERT_REJECTED,
        rejectedParams(rejects.map((r) => ({ ...r, reason: `${r.reason.slice(0, 200)} (decoded record not storable: ${(err as Error).message})`, record: null, peer: null }))),
      );
    }
  }
}
