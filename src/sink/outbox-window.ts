import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { keepRejected } from './batch-store.js';
import { countOutbox, type SinkMetrics } from './metrics.js';
import { addOutboxTotals, flushExpired, noOutboxTotals, type OutboxTotals, type PendingRow } from './outbox-merge.js';
import { COUNT_PENDING, EXPIRED_PENDING } from './outbox-sql.js';

/** Keys settled per transaction. */
const KEYS_PER_TRANSACTION = 500;
/** Checks run at least this far apart, ms. */
const MIN_INTERVAL_MS = 100;
/** Checks run at most this far apart, ms. */
const MAX_INTERVAL_MS = 5_000;

/** How often the window is checked: a quarter of it, within 100 ms to 5 s. */
export function outboxCheckIntervalMs(windowMs: number): number {
  return Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, windowMs / 4));
}

/** Options of {@link OutboxWindow}. */
export interface OutboxWindowOptions {
  /** A half waiting longer than this is written without its partner, ms. */
  windowMs: number;
  /** Time between checks, ms. Default {@link outboxCheckIntervalMs}. */
  intervalMs?: number;
  /** Key of the content hashes when rows are encrypted (content-hash.ts). */
  hashKey?: KeyObject;
}

/**
 * The merge window: halves of outbox records that waited longer than the
 * window in audit.outbox_pending are written alone (outbox-merge.ts), at
 * start and then every interval, in transactions of at most 500 keys. Rows are
 * taken with `FOR UPDATE SKIP LOCKED`: any number of sinks may run this on
 * one database, and a half being merged is left to its merge.
 */
export class OutboxWindow {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly intervalMs: number;

  constructor(
    private readonly db: Database,
    private readonly metrics: SinkMetrics,
    private readonly log: Logger,
    private readonly options: OutboxWindowOptions,
  ) {
    this.intervalMs = options.intervalMs ?? outboxCheckIntervalMs(options.windowMs);
    this.run();
  }

  /** Stop checking; waits for a check in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private run(): void {
    if (this.closed) return;
    this.running = this.check()
      .catch((err: unknown) => this.log.warn({ err }, 'outbox merge window check failed; retrying next interval'))
      .finally(() => {
        this.running = undefined;
        if (this.closed) return;
        this.timer = setTimeout(() => this.run(), this.intervalMs);
        this.timer.unref();
      });
  }

  /** Settles what is past the window, a transaction at a time, until less than a full one was found. */
  private async check(): Promise<void> {
    const totals = noOutboxTotals();
    let written = 0;
    for (;;) {
      const { keys, rows, t } = await this.db.transaction(async (tx) => {
        const pending = await tx.query<PendingRow>(EXPIRED_PENDING, [this.options.windowMs, KEYS_PER_TRANSACTION]);
        if (pending.rows.length === 0) return { keys: 0, rows: 0, t: noOutboxTotals() };
        const keys = new Set(pending.rows.map((r) => Buffer.from(r.k).toString('hex'))).size;
        const done = await flushExpired(tx, pending.rows, this.options.hashKey, (rejects) => keepRejected(tx, rejects));
        return { keys, rows: done.rows, t: done.totals };
      });
      addOutboxTotals(totals, t);
      written += rows;
      if (keys < KEYS_PER_TRANSACTION || this.closed) break;
    }
    if (written > 0) this.metrics.written.inc(written);
    if (totals.duplicates > 0) this.metrics.duplicates.inc(totals.duplicates);
    countOutbox(this.metrics, totals);
    this.report(totals);
    const count = await this.db.query<{ n: number }>(COUNT_PENDING);
    this.metrics.outboxWaiting.set(count.rows[0]?.n ?? 0);
  }

  private report(t: OutboxTotals): void {
    if (t.flushedOutbox + t.flushedRequest + t.merged + t.late === 0) return;
    this.log.info(
      { relayOnly: t.flushedOutbox, requestOnly: t.flushedRequest, merged: t.merged, late: t.late },
      'outbox halves written past the merge window',
    );
  }
}
