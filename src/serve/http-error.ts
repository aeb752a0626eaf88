/**
 * An error the API answers with its own status and a stable code
 * (`{"error": {"code", "message"}}`), and how database errors map to one.
 */
import { isConnectionError } from '../db/database.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** SQLSTATE of a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';
/** SQLSTATE of a permission refused by the database. */
const INSUFFICIENT_PRIVILEGE = '42501';

/** The answer for err: an HttpError as it is, database trouble as 503/403, anything else as 500. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === QUERY_CANCELED) return new HttpError(503, 'timeout', 'the query took longer than the viewer allows; narrow the filter (time range, actor, ...)');
  if (isConnectionError(err)) return new HttpError(503, 'database_unavailable', 'the database cannot be reached; try again');
  if (code === INSUFFICIENT_PRIVILEGE) return new HttpError(403, 'forbidden', `the database refused: ${(err as Error).message}`);
  return new HttpError(500, 'internal', 'internal error');
}
