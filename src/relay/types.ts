/** Options and handle of the outbox relay (`otel-audit relay`, `startRelay()`). */

export interface RelayOptions {
  /**
   * The business database holding `audit_outbox.records` (Postgres).
   * Default: `DATABASE_URL`, else the `PG*` variables.
   */
  databaseUrl?: string;
  /**
   * OTLP/gRPC endpoint the records go to, as the SDK's audit records do.
   * Default: `OTEL_AUDIT_EXPORTER_OTLP_ENDPOINT`, else
   * `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`,
   * else `http://localhost:4317` (the collector).
   */
  endpoint?: string;
  /** Rows younger than this are left for later, ms. Default 2000. */
  graceMs?: number;
  /** Rows per batch (one export, one transaction). Default 1000. */
  batchSize?: number;
  /** Batches in flight at once (each on its own connection). Default 2. */
  concurrency?: number;
  /** Pause after a batch that was not full, ms. Default 500. */
  pollIntervalMs?: number;
  /** Timeout of one export, ms. Default: `OTEL_AUDIT_EXPORTER_OTLP_TIMEOUT`, else 10000. */
  exportTimeoutMs?: number;
  /** First retry delay after a failure (endpoint or database down), ms. Default 500. */
  retryInitialMs?: number;
  /** Longest retry delay, ms. Default 30000. */
  retryMaxMs?: number;
  /** Where the relay's lines go (outage, recovery). Default: OpenTelemetry `diag.warn`. */
  log?: (line: string) => void;
  /** Environment read for the defaults. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

/** What a relay has done so far. */
export interface RelayStats {
  /** Records exported, acknowledged and deleted from the outbox. */
  sent: number;
  /** Batches committed. */
  batches: number;
  /** Attempts that failed (and were retried). */
  failedAttempts: number;
}

/** A running relay. */
export interface RelayHandle {
  readonly stats: Readonly<RelayStats>;
  /** Where records go. */
  readonly endpoint: string;
  /**
   * Finish the batches in flight (export, delete, commit), then stop and
   * close the connections. Idempotent.
   */
  stop(): Promise<void>;
}
