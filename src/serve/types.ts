/**
 * Options of `otel-audit serve`: the query API and the audit viewer.
 */
import type { KeyProvider } from '../crypto/kek.js';
import type { Database } from '../db/database.js';
import type { TokenSpec } from './tokens.js';

export interface ServeOptions {
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port; 0 picks a free one (see {@link Server.port}). Default 8080. */
  port?: number;
  /** Postgres connection URL; else `DATABASE_URL`, `PG*`, else the embedded database. */
  databaseUrl?: string;
  /** Embedded database directory (default `OTEL_AUDIT_DATA_DIR`, else `./.otel-audit`). */
  dataDir?: string;
  /** Use this database instead of opening one (the demo shares the sink's); not closed by the server. */
  db?: Database;
  /** Environment for the database selection (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** The viewer's own connections, apart from any sink's. Default 4. */
  poolSize?: number;
  /** Longest a viewer statement may run (statement_timeout). Default 5000 ms. */
  statementTimeoutMs?: number;
  /** Longest a statement of an export may run. Default 60000 ms. */
  exportStatementTimeoutMs?: number;
  /** Who may use the viewer: bearer tokens, each mapped to a database role and tenants. */
  tokens: readonly TokenSpec[];
  /**
   * Link to a trace in the APM; `{trace_id}`, `{span_id}`, `{service_name}`,
   * `{start_ms}` and `{end_ms}` are replaced. Default: none (no trace link).
   */
  traceUrl?: string;
  /** Where exports are written. Default: a new directory under the system's temporary directory, removed when the server stops. */
  exportDir?: string;
  /** How long an export can be downloaded before its files are removed, ms. Default 24 hours. */
  exportTtlMs?: number;
  /**
   * The key-encryption key of encrypted records: tokens with `decrypt` read
   * their encrypted fields in clear and find encrypted actor ids. Default:
   * none (encrypted fields read as `[encrypted]` or `[erased]`).
   */
  kek?: KeyProvider;
  /** Apply the database migrations on start (the query indexes are one). Default true. */
  migrate?: boolean;
  /** Where the viewer's files are (default: `dist/viewer` of the package). */
  assetsDir?: string;
  /** Lines for the operator (start-up, token checks). Default: stderr. */
  log?: (line: string) => void;
}

/** Defaults of {@link ServeOptions}. */
export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  poolSize: 4,
  statementTimeoutMs: 5_000,
  exportStatementTimeoutMs: 60_000,
  exportTtlMs: 24 * 3_600_000,
} as const;
