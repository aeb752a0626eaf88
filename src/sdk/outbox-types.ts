/**
 * The transactional outbox, business side: what `audit.inTransaction()`
 * takes and what it writes with.
 */
import type { Actor } from './actor.js';
import type { HttpFacts } from './fragment.js';
import type { RecordValueLimits } from './record-values.js';
import type { AuditActorInput, AuditIdValue, AuditLevel, AuditMetaInput } from './types.js';

/**
 * Anything that runs one parameterised SQL statement in the caller's open
 * transaction: the adapter interface of `audit.inTransaction()`.
 * node-postgres' `Client` and `PoolClient` are one as they are. A query
 * builder's transaction object is wrapped in one line, e.g. for Kysely:
 * `{ query: (text, values) => trx.executeQuery(CompiledQuery.raw(text, values)) }`.
 *
 * The statement is an `INSERT` with PostgreSQL's own `$1`, `$2`, ...
 * placeholders, values in that order. The returned promise must reject
 * when the statement fails.
 */
export interface OutboxClient {
  query(text: string, values: unknown[]): PromiseLike<unknown>;
}

/** Input of `audit.inTransaction()`: one change made in the caller's transaction. */
export interface OutboxWriteInput {
  /** What was done, dotted lower case: `user.update`. */
  action: string;
  /** On what. */
  resource: { type: string; id?: AuditIdValue };
  /** Old value (sanitised and redacted like `audit.record`'s). */
  before?: unknown;
  /** New value (sanitised and redacted like `audit.record`'s). */
  after?: unknown;
  /** Who, when the request's own actor is not the one (default: the actor the request already has). */
  actor?: AuditActorInput;
  /** Tenant, when the request's own is not the one. */
  tenant?: AuditIdValue;
  meta?: Record<string, AuditMetaInput>;
}

/** What an outbox row takes from the running SDK and the current operation. */
export interface OutboxContext {
  /** The operation's trace and server span; absent outside any operation. */
  traceId?: string;
  spanId?: string;
  traceFlags?: number;
  /** Who and for which tenant, as the request knows it so far. */
  actor?: Actor;
  tenant?: string;
  level?: AuditLevel;
  module?: string;
  /** Method, route, path and client of the request (no status code: it is still running). */
  http?: HttpFacts;
  /** `service.name` of the process. */
  serviceName: string;
  limits: RecordValueLimits;
  /** Redaction and size cap of a value, as for request parameters. */
  sanitize(value: unknown): string | undefined;
}
