import type { Logger } from 'pino';
import type { DataDirHolder } from '../db/data-dir-lock.js';
import type { WriteMethod } from './writer-types.js';

/**
 * Options of {@link startSink}; each is also a CLI flag and an
 * `OTEL_AUDIT_SINK_*` variable. The defaults are written once, in
 * `SINK_DEFAULTS` (`config.ts`), and filled in by `resolveSinkConfig`.
 */
export interface SinkOptions {
  /** Address the listeners bind to. Default `SINK_DEFAULTS.host` (use `0.0.0.0` in a container). */
  host?: string;
  /** OTLP/gRPC port. Default `SINK_DEFAULTS.grpcPort` (0 = any free port). */
  grpcPort?: number;
  /** OTLP/HTTP port. Default `SINK_DEFAULTS.httpPort` (0 = any free port). */
  httpPort?: number;
  /** Prometheus `/metrics`, `/healthz`, `/readyz` port. Default `SINK_DEFAULTS.metricsPort` (0 = any free port). */
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
  /** Largest request accepted, bytes (after decompression). Default `SINK_DEFAULTS.maxMessageBytes`. */
  maxMessageBytes?: number;
  /** Largest single string value of a record, bytes. Default `SINK_DEFAULTS.maxValueBytes`. */
  maxValueBytes?: number;
  /** Rows per database batch. Default `SINK_DEFAULTS.batchRows`. */
  batchRows?: number;
  /** How long a lone batch waits for more rows, ms. Default `SINK_DEFAULTS.batchDelayMs`. */
  batchDelayMs?: number;
  /** Rows waiting at most before exports are refused as retryable. Default `SINK_DEFAULTS.maxQueueRows`. */
  maxQueueRows?: number;
  /** Database connections. Default `SINK_DEFAULTS.poolSize`. */
  poolSize?: number;
  /** Batches written at once (at most poolSize). Default `SINK_DEFAULTS.writers`. */
  writers?: number;
  /** How batches reach Postgres: `copy` (binary COPY into a staging table, then one INSERT … SELECT) or `unnest` (one INSERT of array parameters); the embedded database always uses `unnest`. Default `SINK_DEFAULTS.writeMethod`. */
  writeMethod?: WriteMethod;
  /** A sequence gap open longer than this is counted as missing records, ms. Default `SINK_DEFAULTS.gapWindowMs`. */
  gapWindowMs?: number;
  /** Least time between two gap checks, ms (scrapes of `/metrics` read the last figures). Default `defaultGapCheckIntervalMs`: half the gap window, within `GAP_CHECK_MIN_INTERVAL_MS` and `GAP_CHECK_MAX_INTERVAL_MS`. */
  gapCheckIntervalMs?: number;
  /** Require `Authorization: Bearer <token>` on `/metrics` (`/healthz` and `/readyz` stay open). Default: open. */
  metricsToken?: string;
  /** pino level: fatal, error, warn, info, debug, trace, silent. Default `SINK_DEFAULTS.logLevel`. */
  logLevel?: string;
  /** Apply migrations on start. Default `SINK_DEFAULTS.migrate`. */
  migrate?: boolean;
  /** Seal settled records into audit.digests this often, ms (0: never). Default `SINK_DEFAULTS.sealIntervalMs`. */
  sealIntervalMs?: number;
  /** Seal only records received at least this long ago, ms. Default `SINK_DEFAULTS.sealSettleMs`. */
  sealSettleMs?: number;
  /**
   * How long a half of an outbox record (`audit.outbox.id`) waits in
   * audit.outbox_pending for its partner before it is written alone, ms.
   * Default `SINK_DEFAULTS.outboxWindowMs` (30 s).
   */
  outboxWindowMs?: number;
  /** Sign each digest: an Ed25519 private key (PEM) or an HMAC secret file. */
  digestKeyFile?: string;
  /** Encrypt personal fields (src/crypto/): a file holding the 256-bit key-encryption key. Default: no encryption. */
  encryptionKeyFile?: string;
  /** The key-encryption key itself (64 hex digits or base64), when not in a file. */
  encryptionKey?: string;
  /** Columns to encrypt, comma-separated. Default `DEFAULT_ENCRYPTED_COLUMNS` (src/crypto/encryption-config.ts). */
  encryptColumns?: string;
  /** Whose data key encrypts a record: `actor` (default) or `tenant`. */
  encryptionSubject?: string;
  /**
   * `false` (`--no-encryption`): store personal fields in clear on purpose,
   * even into a database that holds encrypted ones. Without a key and without
   * this, a sink refuses to start on such a database. `true` requires a key.
   * Default: unset.
   */
  encryption?: boolean;
  /**
   * Programmatic only (no flag): the environment `DATABASE_URL`, `PG*` and
   * `OTEL_AUDIT_DATA_DIR` are read from when `databaseUrl` / `dataDir` leave
   * the choice open. Default `process.env`; `{}` makes `dataDir` select the
   * embedded database whatever the environment says.
   */
  env?: Record<string, string | undefined>;
  /**
   * Programmatic only (no flag): who holds the embedded database, named in
   * the error of another process that tries to open it. Default
   * `{ name: 'otel-audit sink' }` with a hint at `--serve`.
   */
  holder?: DataDirHolder;
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
