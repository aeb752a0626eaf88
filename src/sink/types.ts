import type { Logger } from 'pino';

/** Options of {@link startSink}; each is also a CLI flag and an `OTEL_AUDIT_SINK_*` variable. */
export interface SinkOptions {
  /** Address the listeners bind to. Default `127.0.0.1` (use `0.0.0.0` in a container). */
  host?: string;
  /** OTLP/gRPC port. Default 4317 (0 = any free port). */
  grpcPort?: number;
  /** OTLP/HTTP port. Default 4318 (0 = any free port). */
  httpPort?: number;
  /** Prometheus `/metrics`, `/healthz`, `/readyz` port. Default 9464 (0 = any free port). */
  metricsPort?: number;
  /** Postgres connection string. Default `DATABASE_URL`, else `PG*`, else the embedded database. */
  databaseUrl?: string;
  /** Embedded database directory. Default `OTEL_AUDIT_DATA_DIR` or `./.otel-audit`. */
  dataDir?: string;
  /** Require `Authorization: Bearer <token>`. Default: no authentication. */
  token?: string;
  /** TLS certificate and key (PEM paths) for both listeners. Default: plaintext. */
  tlsCert?: string;
  tlsKey?: string;
  /** Largest request accepted, bytes (after decompression). Default 16 MiB. */
  maxMessageBytes?: number;
  /** Largest single string value of a record, bytes. Default 64 KiB. */
  maxValueBytes?: number;
  /** Rows per database batch. Default 2000. */
  batchRows?: number;
  /** How long a lone batch waits for more rows, ms. Default 10. */
  batchDelayMs?: number;
  /** Rows waiting at most before exports are refused as retryable. Default 100000. */
  maxQueueRows?: number;
  /** Database connections. Default 10. */
  poolSize?: number;
  /** Batches written at once (at most poolSize). Default 2. */
  writers?: number;
  /** A sequence gap open longer than this is counted as missing records, ms. Default 300000. */
  gapWindowMs?: number;
  /** Least time between two gap checks, ms (scrapes of `/metrics` read the last figures). Default half the gap window, 250 to 30000. */
  gapCheckIntervalMs?: number;
  /** Require `Authorization: Bearer <token>` on `/metrics` (`/healthz` and `/readyz` stay open). Default: open. */
  metricsToken?: string;
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default `info`. */
  logLevel?: string;
  /** Apply migrations on start. Default true. */
  migrate?: boolean;
  /** Seal settled records into audit.digests this often, ms (0: never). Default 60,000. */
  sealIntervalMs?: number;
  /** Seal only records received at least this long ago, ms. Default 30,000. */
  sealSettleMs?: number;
  /** Sign each digest: an Ed25519 private key (PEM) or an HMAC secret file. */
  digestKeyFile?: string;
  /**
   * Programmatic only (no flag): the environment `DATABASE_URL`, `PG*` and
   * `OTEL_AUDIT_DATA_DIR` are read from when `databaseUrl` / `dataDir` leave
   * the choice open. Default `process.env`; `{}` makes `dataDir` select the
   * embedded database whatever the environment says.
   */
  env?: Record<string, string | undefined>;
}

/** What both OTLP listeners (gRPC and HTTP) are configured with. */
export interface ListenerOptions {
  host: string;
  port: number;
  /** Largest request, bytes (after decompression). */
  maxMessageBytes: number;
  /** Required bearer token, if any. */
  token: string | undefined;
  tls: { cert: string; key: string } | undefined;
  log: Logger;
}
