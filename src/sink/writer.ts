import type { KeyObject } from 'node:crypto';
import { isBrokenConnection, isConnectionError, type Database } from '../db/database.js';
import { addTotals, isDataError, keysOf, setAside, writeBatch, type Pending, type WriteTotals } from './batch-store.js';
import { SINK_DEFAULTS } from './config.js';
import { RetryableError } from './errors.js';
import type { AuditRow } from './row.js';
import type { RowEncryptor } from './row-encryption.js';
import type { BatchReport, RejectedInput, SubmitResult, SubmitSource, WriteMethod, WriterOptions } from './writer-types.js';

/** How often {@link Writer.close} looks whether the queue has drained, ms. */
const CLOSE_POLL_MS = 5;

/**
 * Batches rows of many concurrent exports into few transactions (group
 * commit): per batch one insert with `ON CONFLICT DO NOTHING` on the
 * identity key (from a binary COPY into a staging table, or from `unnest`
 * arrays: batch-insert.ts), the emitters' sequence bookkeeping and the
 * rejected input in the same statement. A row whose key exists inserts nothing: with the same
 * content hash it is a redelivery (counted as a duplicate), with another it
 * is a conflict, kept in audit.rejected (reason `conflict`) and reported
 * rejected to its submission. A submission resolves only after its rows are
 * committed or kept in audit.rejected; when the database is down or the
 * queue is full it rejects with {@link RetryableError}, so the client retries
 * and nothing accepted is ever dropped.
 */
/** Broken pooled connections one batch gets past at most before it is answered retryable. */
const MAX_BROKEN_RETRIES = 8;

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
  private readonly method: WriteMethod;
  private readonly encryptor: RowEncryptor | undefined;
  /** Key of the content hashes when rows are encrypted (content-hash.ts). */
  private readonly hashKey: KeyObject | undefined;

  constructor(
    private readonly db: Database,
    options: WriterOptions = {},
    private readonly onBatch: (report: BatchReport) => void = () => {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? SINK_DEFAULTS.batchRows;
    this.maxDelayMs = options.maxDelayMs ?? SINK_DEFAULTS.batchDelayMs;
    this.maxQueueRows = options.maxQueueRows ?? SINK_DEFAULTS.maxQueueRows;
    this.concurrency = options.concurrency ?? SINK_DEFAULTS.writers;
    // PGlite has no COPY from a client's buffer (startSink also checks the privilege: usableWriteMethod).
    this.method = db.kind === 'postgres' ? (options.method ?? SINK_DEFAULTS.writeMethod) : 'unnest';
    this.encryptor = options.encryptor;
    this.hashKey = options.encryptor?.hashKey;
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
    const keys = keysOf(rows, this.hashKey);
    return new Promise<SubmitResult>((resolve, reject) => {
      this.queue.push({ rows, keys, rejects, source, result: { rejected: 0, conflicts: 0, reasons: [] }, resolve, reject });
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
      await new Promise((r) => setTimeout(r, CLOSE_POLL_MS));
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
   * Writes a batch; when the connection it got broke under it (a pooled
   * connection that a database restart ended), again at once: the pool
   * drops a broken connection, and it may hold several (the writers' and the
   * sink's jobs'), so the batch is tried until it gets a connection that
   * works or the error is another one, at most {@link MAX_BROKEN_RETRIES}
   * times. The first batch after a restart is stored, not answered
   * retryable. Safe to repeat: a row already committed is a duplicate, not a
   * second row.
   */
  private async writeRetryingBroken(batch: Pending[]): Promise<WriteTotals> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await writeBatch(this.db, batch, this.method, this.encryptor);
      } catch (err) {
        if (!isBrokenConnection(err) || attempt >= MAX_BROKEN_RETRIES) throw err;
      }
    }
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
    const totals: WriteTotals = { inserted: 0, duplicates: 0, conflicts: 0, refused: 0 };
    const add = (t: WriteTotals): void => addTotals(totals, t);
    const retryable = (err: unknown): RetryableError =>
      err instanceof RetryableError
        ? err
        : new RetryableError(isConnectionError(err) ? `database unavailable: ${(err as Error).message}` : `database error: ${(err as Error).message}`);
    const settled: Pending[] = [];
    try {
      add(await this.writeRetryingBroken(batch));
      settled.push(...batch);
    } catch (err) {
      if (!isDataError(err)) {
        const e = retryable(err);
        for (const p of batch) p.reject(e);
        return;
      }
      for (const p of batch) {
        try {
          add(batch.length > 1 ? await writeBatch(this.db, [p], this.method, this.encryptor) : await setAside(this.db, p, err as Error));
          settled.push(p);
        } catch (err2) {
          if (!isDataError(err2)) {
            p.reject(retryable(err2));
            continue;
          }
          try {
            add(await setAside(this.db, p, err2 as Error));
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
      ...(totals.outbox ? { outbox: totals.outbox } : {}),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    });
  }
}
