import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { timedGapSummary, type GapQueryHandle, type GapSummary, type GapSummaryOptions } from './gaps.js';
import type { SinkMetrics } from './metrics.js';

/** Options of {@link GapMonitor}. */
export interface GapMonitorOptions {
  /** A hole open longer than this counts as missing records, ms. */
  windowMs: number;
  /** Least time between two checks, ms; scrapes and the timer share it. */
  intervalMs: number;
  /** Ranges logged at each end per emitter. Default 3. */
  ranges?: number;
  /** Emitters logged one by one per check (the counts cover all). Default 100. */
  maxEmitters?: number;
  /** Longest a check may run, ms. Default the interval, at least 5000. */
  timeoutMs?: number;
  /** Runs one check; default {@link timedGapSummary}. Tests count or slow checks through it. */
  query?: (db: Database, options: GapSummaryOptions, timeoutMs: number, handle: GapQueryHandle) => Promise<GapSummary>;
}

/**
 * Sequence gap checks, at most one per interval whatever asks for them: a
 * timer, and `/metrics` scrapes, which never wait for a check but read the
 * figures of the last one. A check logs one line per emitter with gaps (counts
 * and the first and last few ranges), never one per hole. `close()` cancels
 * a check in progress instead of waiting for it.
 */
export class GapMonitor {
  private running: Promise<void> | undefined;
  private readonly handle: GapQueryHandle = {};
  private lastStart = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly query: NonNullable<GapMonitorOptions['query']>;
  /** The figures of the last completed check. */
  last: GapSummary | undefined;

  constructor(
    private readonly db: Database,
    private readonly metrics: SinkMetrics,
    private readonly log: Logger,
    private readonly options: GapMonitorOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? Math.max(5_000, options.intervalMs);
    this.query = options.query ?? timedGapSummary;
    this.schedule();
  }

  /** Start a check if none is running and the last one began an interval ago or more. */
  poke(): void {
    if (this.closed || this.running) return;
    // Too soon (a scrape, or a timer firing a little early): wait for the next turn.
    if (Date.now() - this.lastStart < this.options.intervalMs) return this.schedule();
    this.lastStart = Date.now();
    this.running = this.check().finally(() => {
      this.running = undefined;
      this.handle.pid = undefined;
      this.schedule();
    });
  }

  /** Stop checking; a check in progress is cancelled (Postgres) or left behind, never awaited. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const pid = this.handle.pid;
    if (this.running && pid !== undefined) {
      await this.db.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    }
  }

  private schedule(): void {
    if (this.closed || this.running) return;
    clearTimeout(this.timer);
    // The first check comes one interval after the start (or with the first scrape).
    const wait = Number.isFinite(this.lastStart) ? Math.max(0, this.lastStart + this.options.intervalMs - Date.now()) : this.options.intervalMs;
    this.timer = setTimeout(() => this.poke(), wait);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const started = process.hrtime.bigint();
    const options: GapSummaryOptions = { windowMs: this.options.windowMs, ranges: this.options.ranges ?? 3, maxEmitters: this.options.maxEmitters ?? 100 };
    let summary: GapSummary;
    try {
      summary = await this.query(this.db, options, this.timeoutMs, this.handle);
    } catch (err) {
      this.metrics.gapChecks.inc({ result: this.closed ? 'cancelled' : 'error' });
      if (!this.closed) this.log.warn({ err }, 'sequence gap check failed; figures kept from the last check');
      return;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.gapChecks.inc({ result: 'ok' });
    this.metrics.gapCheckSeconds.set(seconds);
    this.metrics.gapCheckTime.set(Date.now() / 1000);
    this.metrics.openGaps.set(summary.gaps);
    this.metrics.missingRecords.set(Number(summary.missing));
    this.metrics.emittersWithGaps.set(summary.emitters);
    this.last = summary;
    this.log.debug({ emitters: summary.emitters, gaps: summary.gaps, missing: summary.missing.toString(), seconds }, 'sequence gaps checked');
    if (this.closed) return;
    for (const e of summary.details) {
      this.log.warn(
        {
          emitter: e.emitterId, service: e.serviceName, gaps: e.gaps, missing: e.missing.toString(), first: e.first, last: e.last, since: e.since,
          ...(e.foldedGaps > 0 ? { folded: { gaps: e.foldedGaps, missing: e.foldedMissing.toString() } } : {}),
        },
        'audit records missing from an emitter',
      );
    }
    if (summary.emitters > summary.details.length) {
      this.log.warn({ emitters: summary.emitters - summary.details.length }, 'more emitters have audit records missing (not listed one by one)');
    }
  }
}
