import { context, diag } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { AuditRecord } from '../record.js';
import { emptyStats, type DeliveryStats } from './counters.js';
import { isEncodable } from './encodable.js';
import { OutageReport } from './outage.js';
import type { Spool, SpoolBatch } from './spool.js';
import type { AuditTransport, TransportResult } from './transport.js';

export interface DeliveryOptions {
  /** Records held in memory before new ones go to the spool. */
  queueSize: number;
  /** Records per send. */
  batchSize: number;
  /** Delay before a partial batch is sent (and before records waiting for the spool are written), ms. */
  exportDelayMs: number;
  /** First retry delay, ms. */
  retryInitialMs: number;
  /** Longest retry delay, ms. */
  retryMaxMs: number;
  /** Where records go, named in the lines about delivery problems. Default: `the receiver`. */
  endpoint?: string;
}

/** Retry delays grow by this factor per failed attempt. */
const BACKOFF_MULTIPLIER = 2;
/** ± share of a retry delay that is randomised, so that many processes do not retry in step. */
const JITTER = 0.2;
/** Drops are reported at most this often. */
const DROP_REPORT_INTERVAL_MS = 10_000;
/**
 * First retry delay while draining at shutdown, ms. The steady-state backoff
 * spares a receiver that is down; at shutdown what is not sent within the
 * window stays on this instance's disk, so the window is spent trying.
 */
const DRAIN_RETRY_INITIAL_MS = 50;
/** Longest retry delay while draining, ms (and never past the end of the window). */
const DRAIN_RETRY_MAX_MS = 1_000;
/**
 * Behind by two batches or more (a burst, a slow receiver, an app using
 * every cycle of its core): one export takes up to this many batches at
 * once, so that the per-export cost (a request, its frames, the wait for the
 * acknowledgement) does not grow with the backlog until the memory queue
 * overflows into the spool. The transport still splits what exceeds its
 * request size limit.
 */
const CATCH_UP_BATCHES = 8;

/**
 * Delivers audit records without silent loss, in emission order:
 *
 * - records go to a bounded memory queue and are sent in batches, one send
 *   at a time (so the receiver sees them in emitter-seq order);
 * - when the queue is full, or a send fails with a retryable error, delivery
 *   switches to the disk spool: the memory queue is written to it and new
 *   records follow it there, and sends continue from the spool with backoff
 *   and jitter until it is empty;
 * - only a full (or unusable) spool drops records, and every drop is counted
 *   and reported.
 *
 * At shutdown the whole window is spent sending, memory queue and spool
 * alike, retrying at once with a short backoff bounded by the time left;
 * only what still cannot be sent stays in (or goes to) the spool, and one
 * line says how many records and where.
 *
 * A delivery problem is reported in one line when it starts (what happens
 * next) and one when it is over (how long, what the spool carried), never
 * once per attempt.
 *
 * Records bound for the spool are written a batch at a time (when
 * `batchSize` have gathered or `exportDelayMs` has passed, and before the
 * spool is read, flushed or closed), not one write per record: in memory
 * they are no less safe than the memory queue, and SIGTERM, `beforeExit`
 * and `process.exit()` write them out like the queue.
 *
 * `enqueue` is synchronous and never throws.
 */
export class AuditDelivery {
  private readonly queue: AuditRecord[] = [];
  /** Records bound for the spool, newer than everything in it, written a batch at a time. */
  private readonly toWrite: AuditRecord[] = [];
  private spoolMode = false;
  private sending: Promise<void> | undefined;
  /** The batch being sent from memory, if any (not yet acknowledged). */
  private inFlight: AuditRecord[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private writeTimer: NodeJS.Timeout | undefined;
  // Timer callbacks made once: nothing is allocated per record.
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.pump();
  };
  private readonly onRetryTimer = (): void => {
    this.retryTimer = undefined;
    this.pump();
  };
  private readonly onWriteTimer = (): void => {
    this.writeTimer = undefined;
    this.writePending();
  };
  private backoffMs: number;
  private closed = false;
  /** End of the shutdown window while draining, epoch ms. */
  private drainUntil: number | undefined;
  private readonly stats: DeliveryStats = emptyStats();
  private dropReportedAt = -Infinity;
  private readonly outage: OutageReport;

  constructor(
    private readonly transport: AuditTransport,
    private readonly spool: Spool | undefined,
    private readonly options: DeliveryOptions,
  ) {
    this.backoffMs = options.retryInitialMs;
    this.outage = new OutageReport({ endpoint: options.endpoint ?? 'the receiver', spoolDir: spool?.directory });
    // Records left in the spool by an earlier run (or a process that is gone) go first.
    if (spool && !spool.isEmpty) {
      this.spoolMode = true;
      this.schedule(0);
    }
  }

  /** Hand over one finished record. Never throws. */
  enqueue(record: AuditRecord): void {
    this.stats.emitted++;
    try {
      if (!isEncodable(record)) {
        // Set aside: a record no transport can carry must never hold up the ones after it.
        this.countUnencodable(1);
        return;
      }
      if (this.closed) {
        this.toSpool([record], false);
      } else if (this.spoolMode || this.queue.length >= this.options.queueSize) {
        this.spoolMode = true;
        this.toWrite.push(record);
        if (this.toWrite.length >= this.options.batchSize) this.writePending();
        else if (!this.writeTimer) {
          this.writeTimer = setTimeout(this.onWriteTimer, this.options.exportDelayMs);
          this.writeTimer.unref();
        }
      } else {
        this.queue.push(record);
      }
      if (!this.closed) {
        if (this.queue.length >= this.options.batchSize) this.schedule(0);
        else this.schedule(this.options.exportDelayMs);
      }
    } catch (err) {
      diag.error('otel-audit: enqueue failed', err);
    }
  }

  /** Counters, with the current queue depth and spool size. */
  getStats(): DeliveryStats {
    return { ...this.stats, queued: this.queue.length + this.toWrite.length, spoolBytes: this.spool?.bytes ?? 0 };
  }

  /** True when nothing is waiting in memory or in the spool. */
  get idle(): boolean {
    return this.queue.length === 0 && this.toWrite.length === 0 && (this.spool?.isEmpty ?? true) && this.sending === undefined;
  }

  /**
   * Send everything pending, retrying as usual, until done or `timeoutMs`.
   * Resolves true when nothing is left.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.idle && Date.now() < deadline) {
      if (!this.sending && !this.retryTimer) this.pump();
      const wait = this.sending ?? new Promise<void>((r) => setTimeout(r, 25));
      // Cleared once the race is decided: left pending, it would hold the process open until the deadline.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([wait, new Promise<void>((r) => (timer = setTimeout(r, Math.max(1, deadline - Date.now()))))]);
      clearTimeout(timer);
    }
    return this.idle;
  }

  /**
   * Drain for at most `timeoutMs`: send the memory queue and the spool,
   * retrying at once with a short backoff (a retry waiting out the
   * steady-state backoff is started now). Then write what is still in
   * memory, including a batch whose send is not acknowledged, to the spool
   * (sent by the next start, or by `otel-audit spool replay`), say how many
   * records were left there, and close the transport. Idempotent.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    this.drainUntil = Date.now() + timeoutMs;
    this.backoffMs = DRAIN_RETRY_INITIAL_MS;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    try {
      await this.flush(timeoutMs);
    } finally {
      this.closed = true;
      clearTimeout(this.timer);
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.writePending();
      // A batch still in flight is written too: if it did arrive, the receiver stores it once.
      const pending = [...(this.inFlight ?? []), ...this.queue.splice(0)];
      this.inFlight = undefined;
      if (pending.length > 0) this.toSpool(pending, true);
      this.reportLeft(timeoutMs);
      this.spool?.close();
      await this.transport.shutdown();
      const s = this.getStats();
      diag.info(
        `otel-audit: delivery closed: emitted=${s.emitted} exported=${s.exported} spooled=${s.spooled} ` +
          `replayed=${s.replayed} dropped=${s.dropped} rejected=${s.rejected}`,
      );
    }
  }

  /**
   * The process is exiting now (`process.exit()`, no event loop left): write
   * everything still in memory, including a batch whose send has not been
   * acknowledged, to the spool synchronously. It is sent by the next start
   * (a batch that did arrive is stored once: receivers deduplicate).
   */
  spoolNow(): void {
    if (this.closed) return;
    this.closed = true;
    // The newest first, at the end of the spool; the older ones as a fresh segment that sorts before it.
    this.writePending();
    const pending = [...(this.inFlight ?? []), ...this.queue.splice(0)];
    this.inFlight = undefined;
    if (pending.length > 0) this.toSpool(pending, true);
    this.reportLeft(undefined);
    this.spool?.close();
  }

  /** One line when records stay behind in the spool: how many, and where. */
  private reportLeft(windowMs: number | undefined): void {
    if (!this.spool) return;
    let left: number;
    try {
      left = this.spool.pendingRecords();
    } catch (err) {
      diag.debug('otel-audit: cannot count the spool', err);
      return;
    }
    if (left === 0) return;
    const dir = this.spool.directory;
    const why = windowMs === undefined ? 'the process is exiting' : `not delivered within the shutdown window (${windowMs} ms)`;
    diag.warn(
      `otel-audit: ${left} audit records left in the spool ${dir} (${why}); ` +
        `the next start with this spool directory sends them, or run: otel-audit spool replay --dir ${dir}`,
    );
  }

  private schedule(delayMs: number): void {
    if (this.sending || this.retryTimer) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, delayMs);
    this.timer.unref();
  }

  private pump(): void {
    if (this.sending) return;
    const next = this.nextBatch();
    if (!next) {
      if (this.spoolMode && this.queue.length === 0 && this.toWrite.length === 0 && (this.spool?.isEmpty ?? true)) this.spoolMode = false;
      return;
    }
    this.inFlight = next.fromSpool ? undefined : next.records;
    this.sending = this.send(next).finally(() => {
      this.inFlight = undefined;
      this.sending = undefined;
      if (!this.retryTimer && !this.closed && !this.idle) this.schedule(0);
    });
  }

  private nextBatch(): { records: AuditRecord[]; fromSpool?: SpoolBatch } | undefined {
    if (this.queue.length > 0) return { records: this.queue.splice(0, this.takeCount(this.queue.length)) };
    // What waits for the spool follows what is in it.
    this.writePending();
    if (!this.spool) return undefined;
    try {
      // The spool is a backlog by definition: it goes out in catch-up batches.
      const batch = this.spool.peek(this.options.batchSize * CATCH_UP_BATCHES);
      return batch ? { records: batch.records, fromSpool: batch } : undefined;
    } catch (err) {
      diag.error('otel-audit: cannot read the spool', err);
      return undefined;
    }
  }

  /** Records one export takes from `waiting` records in memory: a batch, more when behind. */
  private takeCount(waiting: number): number {
    const { batchSize } = this.options;
    return waiting >= 2 * batchSize ? Math.min(waiting, batchSize * CATCH_UP_BATCHES) : batchSize;
  }

  private async send(batch: { records: AuditRecord[]; fromSpool?: SpoolBatch }): Promise<void> {
    let result: TransportResult;
    try {
      // The pipeline never traces itself.
      result = await context.with(suppressTracing(context.active()), () => this.transport.send(batch.records));
    } catch (err) {
      result = { kind: 'retryable', error: err instanceof Error ? err : new Error(String(err)) };
    }
    const n = batch.records.length;
    if (result.kind === 'success' || result.kind === 'failure') {
      if (result.kind === 'success') {
        const left = result.unencodable ?? 0;
        if (left > 0) this.countUnencodable(left);
        this.stats.exported += n - left;
        if (batch.fromSpool) this.stats.replayed += n - left;
      } else {
        this.stats.rejected += n;
        diag.error(`otel-audit: the receiver refused ${n} audit records: ${result.error.message}`);
      }
      if (batch.fromSpool) this.spool?.ack(batch.fromSpool);
      this.backoffMs = this.drainUntil === undefined ? this.options.retryInitialMs : DRAIN_RETRY_INITIAL_MS;
      if (this.outage.active && this.toWrite.length === 0 && (this.spool?.isEmpty ?? true)) this.outage.recovered(this.stats);
      return;
    }
    this.stats.retries++;
    const delay = this.retryDelay(result.retryInMs);
    // Before the spooling below: what the outage spooled counts from here.
    this.outage.failed(result.error, this.stats, delay);
    // Closed meanwhile: the batch was written to the spool on the way out.
    if (!batch.fromSpool && !this.closed) {
      // Put the batch back in front and move memory to disk: the endpoint is down.
      this.queue.unshift(...batch.records);
      if (this.spool) {
        this.spoolMode = true;
        this.toSpool(this.queue.splice(0), true);
      }
    }
    diag.debug(`otel-audit: audit export failed (${result.error.message}); retrying in ${Math.round(delay)} ms`);
    if (this.closed) return;
    this.retryTimer = setTimeout(this.onRetryTimer, delay);
    this.retryTimer.unref();
  }

  private countUnencodable(n: number): void {
    const before = this.stats.unencodable;
    this.stats.unencodable += n;
    if (before === 0 || Math.floor(before / 1000) !== Math.floor(this.stats.unencodable / 1000)) {
      diag.error(
        `otel-audit: audit records with values that cannot be encoded were set aside, not sent ` +
          `(${this.stats.unencodable} so far); the records around them are delivered`,
      );
    }
  }

  /**
   * Delay before the next attempt: the peer's, else the backoff. While
   * draining, short and never past the end of the window.
   */
  private retryDelay(peerMs: number | undefined): number {
    if (this.drainUntil === undefined) return peerMs ?? this.nextBackoff();
    const base = Math.min(peerMs ?? this.backoffMs, DRAIN_RETRY_MAX_MS);
    this.backoffMs = Math.min(this.backoffMs * BACKOFF_MULTIPLIER, DRAIN_RETRY_MAX_MS);
    return Math.max(1, Math.min(base, this.drainUntil - Date.now()));
  }

  private nextBackoff(): number {
    const base = Math.min(this.backoffMs, this.options.retryMaxMs);
    this.backoffMs = Math.min(this.backoffMs * BACKOFF_MULTIPLIER, this.options.retryMaxMs);
    return Math.max(1, base * (1 + (Math.random() * 2 - 1) * JITTER));
  }

  /** Write the records waiting for the spool, in one append. */
  private writePending(): void {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (this.toWrite.length > 0) this.toSpool(this.toWrite.splice(0), false);
  }

  private toSpool(records: AuditRecord[], fresh: boolean): void {
    if (records.length === 0) return;
    let written = 0;
    if (this.spool) {
      const skippedBefore = this.spool.unencodable;
      try {
        written = this.spool.append(records, fresh);
      } catch (err) {
        diag.error('otel-audit: cannot write to the spool', err);
      }
      const skipped = this.spool.unencodable - skippedBefore;
      this.stats.unencodable += skipped;
      this.stats.spooled += written - skipped;
    } else {
      this.stats.spooled += written;
    }
    const rest = records.slice(written);
    if (rest.length === 0) return;
    // No room on disk: keep them in memory while there is room there, else drop (counted, loud).
    if (!this.closed && !this.spool) {
      const room = Math.max(0, this.options.queueSize - this.queue.length);
      this.queue.push(...rest.slice(0, room));
      rest.splice(0, room);
    }
    if (rest.length > 0) {
      this.stats.dropped += rest.length;
      // Loud, but not once per record: the first drop, then at most every 10 s, with the total.
      const now = Date.now();
      if (now - this.dropReportedAt >= DROP_REPORT_INTERVAL_MS) {
        this.dropReportedAt = now;
        diag.error(
          `otel-audit: DROPPING audit records (spool ${this.spool ? 'full' : 'unavailable'}); ` +
            `${this.stats.dropped} dropped in total`,
        );
      }
    }
  }
}
