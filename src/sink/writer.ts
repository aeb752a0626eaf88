import { isConnectionError, type Database, type Queryable } from '../db/database.js';
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
  /** Rows per database round trip at most. Default 2000. */
  maxBatchRows?: number;
  /** How long a batch waits for more rows, ms. Default 10. */
  maxDelayMs?: number;
  /** Rows waiting at most; past it submissions are refused as retryable. Default 100000. */
  maxQueueRows?: number;
  /** Batches written at once (connections used). Default 2. */
  concurrency?: number;
}

/** What the writer reports after each batch (for metrics). */
export interface BatchReport {
  rows: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  seconds: number;
}

/** Where a submission came from, for rows the database itself refuses. */
export interface SubmitSource {
  signal: 'logs' | 'traces';
  transport: RejectedInput['transport'];
  peer: string | null;
}

interface Pending {
  rows: AuditRow[];
  rejects: RejectedInput[];
  source: SubmitSource;
  resolve: () => void;
  reject: (e: Error) => void;
}

// One statement per purpose: every column as an array, unnested in one round trip.
const INSERT_RECORDS = `
INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type,
  tenant_id, action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip,
  user_agent, duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
  $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int4[], $15::text[], $16::text[], $17::text[], $18::inet[],
  $19::text[], $20::float8[], $21::text[], $22::jsonb[], $23::jsonb[], $24::jsonb[], $25::jsonb[], $26::text[], $27::int8[])
ON CONFLICT (trace_id, service_name, action, resource_key, occurred_at) DO NOTHING
RETURNING 1`;

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

/**
 * The whole batch in one statement, so one round trip and no explicit
 * transaction (a statement is atomic): records, the emitters' sequence
 * bookkeeping and rejected input, as data-modifying CTEs. Parameters: $1..$27
 * records, $28..$31 emitters, $32..$37 rejected (empty arrays insert nothing).
 */
const WRITE_BATCH = `
WITH r AS (${INSERT_RECORDS.trim()}),
e AS (${UPSERT_EMITTERS.trim().replace(/\$(\d)(?!\d)/g, (_, n: string) => `$${Number(n) + 27}`)}),
j AS (${INSERT_REJECTED.trim().replace(/\$(\d)(?!\d)/g, (_, n: string) => `$${Number(n) + 31}`)})
SELECT count(*)::int AS inserted FROM r`;

const EMPTY_EMITTERS: unknown[] = [[], [], [], []];

function json(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

/** JSON that Postgres jsonb accepts (no NUL characters), else null. */
function jsonbSafe(v: unknown): string | null {
  try {
    const s = json(v);
    return s !== null && !s.includes('\\u0000') ? s : null;
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

function recordParams(rows: readonly AuditRow[]): unknown[] {
  const cols: unknown[][] = Array.from({ length: 27 }, () => new Array<unknown>(rows.length));
  rows.forEach((r, i) => {
    const v = [
      r.traceId, r.spanId, r.occurredAt, r.serviceName, r.module, r.actorId, r.actorName, r.actorType,
      r.tenantId, r.action, r.resourceType, r.resourceId, r.outcome, r.statusCode, r.httpMethod, r.httpRoute, r.urlPath, r.clientIp,
      r.userAgent, r.durationMs, r.level, json(r.request), json(r.changeBefore), json(r.changeAfter), json(r.attributes) ?? '{}',
      r.emitterId, r.emitterSeq,
    ];
    for (let c = 0; c < 27; c++) (cols[c] as unknown[])[i] = v[c];
  });
  return cols;
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
 * commit): one `unnest` insert per batch with `ON CONFLICT DO NOTHING`
 * (redelivery inserts nothing), the emitters' sequence bookkeeping and the
 * rejected input in the same transaction. A submission resolves only after
 * its transaction committed; when the database is down or the queue is full
 * it rejects with {@link RetryableError}, so the client retries and nothing
 * accepted is ever dropped.
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
    this.maxBatchRows = options.maxBatchRows ?? 2000;
    this.maxDelayMs = options.maxDelayMs ?? 10;
    this.maxQueueRows = options.maxQueueRows ?? 100_000;
    this.concurrency = options.concurrency ?? 2;
  }

  /** Rows (and rejected inputs) waiting for a transaction. */
  get depth(): number {
    return this.queuedRows;
  }

  /** Store rows and rejected input; resolves after they are committed. */
  submit(rows: AuditRow[], rejects: RejectedInput[], source: SubmitSource): Promise<void> {
    if (this.closed) return Promise.reject(new RetryableError('the sink is shutting down'));
    if (rows.length === 0 && rejects.length === 0) return Promise.resolve();
    if (this.queuedRows > 0 && this.queuedRows + rows.length > this.maxQueueRows) {
      return Promise.reject(new RetryableError(`write queue full (${this.queuedRows} rows waiting)`, 'exhausted', 1));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, rejects, source, resolve, reject });
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

  private async write(batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint();
    const rows = batch.flatMap((p) => p.rows);
    const rejects = batch.flatMap((p) => p.rejects);
    let inserted: number;
    let refused = 0;
    try {
      try {
        inserted = await this.writeAll(this.db, rows, rejects);
      } catch (err) {
        if (isConnectionError(err)) throw err;
        // A row the database refused (a constraint the transform did not foresee):
        // write row by row so that only the bad ones are set aside, with the reason.
        ({ inserted, refused } = await this.writeOneByOne(batch, err as Error));
      }
    } catch (err) {
      const message = (err as Error).message;
      const e = new RetryableError(isConnectionError(err) ? `database unavailable: ${message}` : `database error: ${message}`);
      for (const p of batch) p.reject(e);
      return;
    }
    for (const p of batch) p.resolve();
    this.onBatch({
      rows: rows.length,
      inserted,
      duplicates: rows.length - inserted - refused,
      rejected: rejects.length + refused,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }

  private async writeAll(db: Queryable, rows: AuditRow[], rejects: RejectedInput[]): Promise<number> {
    const params = [...recordParams(rows), ...(emitterParams(rows) ?? EMPTY_EMITTERS), ...rejectedParams(rejects)];
    const res = await db.query<{ inserted: number }>(WRITE_BATCH, params);
    return Number(res.rows[0]?.inserted ?? 0);
  }

  private async writeOneByOne(batch: Pending[], cause: Error): Promise<{ inserted: number; refused: number }> {
    let inserted = 0;
    const setAside: RejectedInput[] = batch.flatMap((p) => p.rejects);
    let refused = 0;
    for (const p of batch) {
      for (const row of p.rows) {
        try {
          inserted += await this.writeAll(this.db, [row], []);
        } catch (err) {
          if (isConnectionError(err)) throw err;
          refused++;
          setAside.push({
            ...p.source,
            reason: `the database refused the record: ${(err as Error).message} (batch error: ${cause.message})`,
            raw: Buffer.from(JSON.stringify(row)),
            record: row,
          });
        }
      }
    }
    for (const r of setAside) {
      try {
        await this.db.query(INSERT_REJECTED, rejectedParams([r]));
      } catch (err) {
        if (isConnectionError(err)) throw err;
        // Keep at least the bytes: bytea takes anything.
        await this.db.query(INSERT_REJECTED, rejectedParams([{ ...r, reason: `(reason not storable: ${(err as Error).message})`, record: null, peer: null }]));
      }
    }
    return { inserted, refused };
  }
}
