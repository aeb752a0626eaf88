/**
 * The outbox relay: moves rows of `audit_outbox.records` (written by
 * `audit.inTransaction()` in business transactions) to the audit pipeline
 * as OTLP log records, and deletes them only once the receiver has
 * acknowledged them, in the transaction that read them.
 *
 * Each batch: `SELECT … FOR UPDATE SKIP LOCKED` of the oldest rows past the
 * grace period, export, `DELETE`, `COMMIT`. Several relays (and several
 * batches of one relay) run at once without taking the same rows. A relay
 * killed mid-batch leaves its rows locked only until Postgres notices the
 * connection is gone; a commit lost after the export only sends the rows
 * again, which the sink stores once (idempotency key).
 */
import { diag } from '@opentelemetry/api';
import type { Database } from '../db/database.js';
import { describeConfig, describeUrl, nonEmpty, PG_SELECTORS, pgConfigFromEnv } from '../db/pg-config.js';
import { openPostgres } from '../db/postgres.js';
import { defaultAuditEndpoint } from '../sdk/config.js';
import { OtlpTransport } from '../sdk/delivery/otlp-transport.js';
import { envText } from '../sdk/env.js';
import { msToNanoString } from '../sdk/record.js';
import { DELETE_BATCH_SQL, RecordMaker, SELECT_BATCH_SQL, type OutboxRowRead } from './outbox-rows.js';
import { ExportFailedError, RelayOutage } from './relay-outage.js';
import type { RelayHandle, RelayOptions, RelayStats } from './types.js';

export const RELAY_DEFAULTS = {
  graceMs: 2_000,
  batchSize: 1_000,
  concurrency: 2,
  pollIntervalMs: 500,
  exportTimeoutMs: 10_000,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
} as const;

/** Retry delays grow by this factor per failed attempt. */
const BACKOFF_MULTIPLIER = 2;
/** ± share of a retry delay that is randomised, so that relays do not retry in step. */
const JITTER = 0.2;

function positive(name: string, v: number | undefined, fallback: number, min = 1): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < min) throw new RangeError(`otel-audit relay: ${name} must be a number >= ${min}, got ${v}`);
  return v;
}

class Relay implements RelayHandle {
  readonly stats: RelayStats = { sent: 0, batches: 0, failedAttempts: 0 };
  private stopping = false;
  private readonly sleepers = new Set<() => void>();
  private readonly workers: Promise<void>[] = [];
  private stopped: Promise<void> | undefined;
  private readonly maker = new RecordMaker();
  private backoffMs: number;

  constructor(
    private readonly db: Database,
    private readonly transport: OtlpTransport,
    readonly endpoint: string,
    private readonly o: Required<Omit<RelayOptions, 'databaseUrl' | 'endpoint' | 'env' | 'log'>>,
    private readonly outage: RelayOutage,
  ) {
    this.backoffMs = o.retryInitialMs;
    for (let i = 0; i < o.concurrency; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      let moved: number;
      try {
        moved = await this.moveBatch();
      } catch (err) {
        this.stats.failedAttempts++;
        const delay = this.nextBackoff();
        this.outage.failed(err, delay);
        await this.sleep(delay);
        continue;
      }
      this.backoffMs = this.o.retryInitialMs;
      this.outage.recovered(moved > 0);
      if (moved < this.o.batchSize) await this.sleep(this.o.pollIntervalMs);
    }
  }

  /** One batch in one transaction; resolves with the rows moved. */
  private moveBatch(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<OutboxRowRead>(SELECT_BATCH_SQL, [this.o.graceMs, this.o.batchSize]);
      if (rows.length === 0) return 0;
      const now = msToNanoString(Date.now());
      const records = rows.map((r) => this.maker.record(r, now));
      const result = await this.transport.send(records);
      // Not acknowledged: the rows stay (ROLLBACK releases them for the next attempt).
      if (result.kind !== 'success') throw new ExportFailedError(result.error);
      await tx.query(DELETE_BATCH_SQL, [rows.map((r) => r.id)]);
      return rows.length;
    }).then((n) => {
      if (n > 0) {
        this.stats.sent += n;
        this.stats.batches++;
      }
      return n;
    });
  }

  private nextBackoff(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.o.retryMaxMs, this.backoffMs * BACKOFF_MULTIPLIER);
    return base * (1 - JITTER + Math.random() * 2 * JITTER);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      for (const wake of [...this.sleepers]) wake();
      await Promise.all(this.workers);
      await this.transport.shutdown();
      await this.db.close();
    })();
    return this.stopped;
  }
}

/**
 * Start a relay in this process (the in-process form of `otel-audit
 * relay`): it runs until `stop()`. Throws on bad options or when no
 * business database is named; an unreachable database or endpoint is
 * retried with backoff, one line per outage.
 */
export function openRelay(options: RelayOptions = {}): RelayHandle {
  const env = options.env ?? process.env;
  const url = options.databaseUrl ?? nonEmpty(env['DATABASE_URL']);
  if (url === undefined && !PG_SELECTORS.some((n) => nonEmpty(env[n]) !== undefined)) {
    throw new Error('otel-audit relay: no business database: pass databaseUrl (--database-url), or set DATABASE_URL or PG* variables');
  }
  const envTimeout = envText(env, 'OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT');
  const o = {
    graceMs: positive('graceMs', options.graceMs, RELAY_DEFAULTS.graceMs, 0),
    batchSize: Math.floor(positive('batchSize', options.batchSize, RELAY_DEFAULTS.batchSize)),
    concurrency: Math.floor(positive('concurrency', options.concurrency, RELAY_DEFAULTS.concurrency)),
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, RELAY_DEFAULTS.pollIntervalMs, 0),
    exportTimeoutMs: positive('exportTimeoutMs', options.exportTimeoutMs ?? (envTimeout !== undefined ? Number(envTimeout) : undefined), RELAY_DEFAULTS.exportTimeoutMs),
    retryInitialMs: positive('retryInitialMs', options.retryInitialMs, RELAY_DEFAULTS.retryInitialMs),
    retryMaxMs: positive('retryMaxMs', options.retryMaxMs, RELAY_DEFAULTS.retryMaxMs),
  };
  const endpoint = options.endpoint ?? envText(env, 'OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT') ?? defaultAuditEndpoint(env);
  const log = options.log ?? ((line: string) => diag.warn(line));
  const pgConfig = url !== undefined ? { connectionString: url } : pgConfigFromEnv(env);
  const db = openPostgres(pgConfig, url !== undefined ? describeUrl(url) : describeConfig(pgConfig), {
    poolSize: o.concurrency + 1,
    // An idle connection dropped by a restart: the next batch reconnects, and reports the outage if it cannot.
    onError: () => undefined,
  });
  const transport = new OtlpTransport({ url: endpoint, timeoutMs: o.exportTimeoutMs });
  return new Relay(db, transport, endpoint, o, new RelayOutage(endpoint, db.description, log));
}
