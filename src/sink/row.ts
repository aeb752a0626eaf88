import type { ActorType, Level, Outcome } from '../contract/values.js';

/**
 * One row of `audit.records`, as the writer inserts it. Field names mirror
 * the column names (camelCase); each column names its field in
 * `RECORD_COLUMNS` (src/contract/columns.ts), and batch-params.ts checks that the
 * two agree. `null` is SQL NULL.
 */
export interface AuditRow {
  /** 32 lowercase hex. */
  traceId: string;
  /** 16 lowercase hex. */
  spanId: string;
  /** ISO-8601 UTC with microseconds, e.g. `2026-11-21T12:00:00.123456Z`. */
  occurredAt: string;
  serviceName: string;
  module: string | null;
  actorId: string | null;
  actorName: string | null;
  actorType: ActorType;
  tenantId: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: Outcome;
  statusCode: number | null;
  httpMethod: string | null;
  httpRoute: string | null;
  urlPath: string | null;
  /** A valid IPv4/IPv6 address, or null. */
  clientIp: string | null;
  userAgent: string | null;
  durationMs: number | null;
  level: Level | null;
  /** JSON values (stored as jsonb). */
  request: unknown;
  changeBefore: unknown;
  changeAfter: unknown;
  /**
   * Everything else: remaining record attributes, plus `resource` (resource
   * attributes), `scope`, and `audit.sanitized` (the altered columns) when
   * the record was stored sanitised.
   */
  attributes: Record<string, unknown>;
  emitterId: string | null;
  /** Decimal string (bigint). */
  emitterSeq: string | null;
}

/** Something that could not become a row, with a reason a person can act on. */
export interface RowRejection {
  reason: string;
  /** The offending record as decoded (JSON-safe), when it could be decoded. */
  record?: unknown;
}
