/**
 * Telling "the database cannot be reached right now" (retry later) from
 * "this statement is wrong". Driver errors that carry a connection errno or
 * SQLSTATE are recognised by that code; the failures that carry no code (a
 * connect that timed out, a socket that closed under a query, a database that
 * was closed) are raised by the database wrapper as
 * {@link DatabaseUnavailableError}, because only the wrapper knows which
 * state its pool, client or PGlite instance was in.
 */

/** Why the database could not serve: the `code` of a {@link DatabaseUnavailableError}. */
export const UNAVAILABLE = {
  /** No connection could be made (refused, timed out, pool at its end). */
  connectFailed: 'OTEL_AUDIT_DB_CONNECT_FAILED',
  /** The connection broke while in use (server ended it, network cut). */
  connectionLost: 'OTEL_AUDIT_DB_CONNECTION_LOST',
  /** `close()` was called: this database serves no more statements. */
  closed: 'OTEL_AUDIT_DB_CLOSED',
} as const;

export type UnavailableCode = (typeof UNAVAILABLE)[keyof typeof UNAVAILABLE];

const REASON: Record<UnavailableCode, string> = {
  [UNAVAILABLE.connectFailed]: 'cannot connect to the database',
  [UNAVAILABLE.connectionLost]: 'the database connection was lost',
  [UNAVAILABLE.closed]: 'the database is closed',
};

/** The database cannot serve now; `cause` holds the driver's error, if any. */
export class DatabaseUnavailableError extends Error {
  constructor(
    readonly code: UnavailableCode,
    options?: { cause?: unknown },
  ) {
    const detail = causeMessage(options?.cause);
    super(detail ? `${REASON[code]}: ${detail}` : REASON[code], options);
    this.name = 'DatabaseUnavailableError';
  }
}

function causeMessage(cause: unknown): string {
  if (cause instanceof AggregateError && cause.message === '') {
    return cause.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return cause instanceof Error ? cause.message : '';
}

/**
 * err as a connection error: unchanged when it already is one (so its errno
 * or SQLSTATE stays on top), else wrapped in a {@link DatabaseUnavailableError}
 * with that code.
 */
export function asUnavailable(err: unknown, code: UnavailableCode): Error {
  if (isConnectionError(err) && err instanceof Error) return err;
  return new DatabaseUnavailableError(code, { cause: err });
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovery)
  '57P05', // idle_session_timeout
  '53300', // too_many_connections
]);

/** SQLSTATE class 08: connection exception. */
const CONNECTION_EXCEPTION_CLASS = /^08[0-9A-Z]{3}$/;

/** How deep `cause` / `errors` chains are followed. */
const MAX_DEPTH = 5;

/**
 * Whether err means the database cannot be reached right now (refused, reset,
 * timed out, lost, closed, shutting down, out of connection slots, connection
 * class 08), as opposed to an error in the statement or its data. The sink
 * answers those with a retryable status.
 */
export function isConnectionError(err: unknown): boolean {
  return connectionError(err, 0);
}

function connectionError(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > MAX_DEPTH) return false;
  if (err instanceof DatabaseUnavailableError) return true;
  const { code, cause, errors } = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.has(code)) return true;
    if (CONNECTION_EXCEPTION_CLASS.test(code)) return true;
  }
  // Node reports a failed connect to several addresses as an AggregateError.
  if (Array.isArray(errors) && errors.some((e) => connectionError(e, depth + 1))) return true;
  return cause !== undefined && connectionError(cause, depth + 1);
}

/** Errnos of a connection that was open and broke. */
const BROKEN_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
/** SQLSTATEs of a session the server ended. */
const ENDED_SQLSTATES = new Set(['57P01', '57P02', '57P05', '08003', '08006']);

/**
 * Whether err means that a connection which was open broke (the server
 * restarted or ended the session since it was pooled), as opposed to a
 * server that cannot be reached now. A statement that failed this way may
 * be tried once more at once: the pool makes a fresh connection.
 */
export function isBrokenConnection(err: unknown): boolean {
  return brokenConnection(err, 0);
}

function brokenConnection(err: unknown, depth: number): boolean {
  if (typeof err !== 'object' || err === null || depth > MAX_DEPTH) return false;
  if (err instanceof DatabaseUnavailableError) {
    if (err.code === UNAVAILABLE.connectionLost) return true;
    if (err.code === UNAVAILABLE.closed) return false;
  }
  const { code, cause } = err as { code?: unknown; cause?: unknown };
  if (typeof code === 'string' && (BROKEN_ERRNOS.has(code) || ENDED_SQLSTATES.has(code))) return true;
  return cause !== undefined && brokenConnection(cause, depth + 1);
}
