/**
 * Reading and deleting outbox rows, and a row as the audit record the
 * relay sends: the row's attributes plus `audit.outbox.id` and
 * `audit.origin` = `outbox`, no emitter id or sequence (the outbox table
 * itself is the relay path's proof of completeness).
 */
import { ATTR_AUDIT_ORIGIN, ATTR_AUDIT_OUTBOX_ID, ATTR_SERVICE_NAME } from '../contract/attributes.js';
import type { AuditAttributeValue, AuditRecord } from '../sdk/record.js';

/**
 * The oldest rows past the grace period that no other relay holds, locked
 * until this transaction ends. `$1` grace (ms), `$2` batch size.
 */
export const SELECT_BATCH_SQL = `
  SELECT id, trace_id, span_id, trace_flags, service_name, attributes,
         (extract(epoch FROM created_at) * 1000000)::int8::text AS created_us
    FROM audit_outbox.records
   WHERE created_at <= clock_timestamp() - make_interval(secs => $1::float8 / 1000)
   ORDER BY created_at
   LIMIT $2
     FOR UPDATE SKIP LOCKED`;

/** Rows sent and acknowledged. `$1` their ids. */
export const DELETE_BATCH_SQL = 'DELETE FROM audit_outbox.records WHERE id = ANY($1::uuid[])';

/** Value of `audit.origin` on records of the relay. */
export const ORIGIN_OUTBOX = 'outbox';

export interface OutboxRowRead {
  id: string;
  trace_id: string;
  span_id: string;
  trace_flags: number;
  service_name: string;
  attributes: unknown;
  /** created_at, Unix microseconds. */
  created_us: string;
}

/** Resources by service name: records of one service share one object, encoded once. */
const MAX_RESOURCES = 256;

export class RecordMaker {
  private readonly resources = new Map<string, Record<string, AuditAttributeValue>>();

  /** The audit record of a row (its non-scalar attribute values, if any, left out). */
  record(row: OutboxRowRead, nowNs: string): AuditRecord {
    const attributes: Record<string, AuditAttributeValue> = {};
    const raw = row.attributes;
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) attributes[k] = v;
      }
    }
    attributes[ATTR_AUDIT_OUTBOX_ID] = row.id;
    attributes[ATTR_AUDIT_ORIGIN] = ORIGIN_OUTBOX;
    return {
      traceId: row.trace_id,
      spanId: row.span_id,
      traceFlags: row.trace_flags,
      timeUnixNano: `${row.created_us}000`,
      observedTimeUnixNano: nowNs,
      attributes,
      resource: this.resource(row.service_name),
    };
  }

  private resource(serviceName: string): Record<string, AuditAttributeValue> {
    let r = this.resources.get(serviceName);
    if (!r) {
      if (this.resources.size >= MAX_RESOURCES) this.resources.clear();
      r = { [ATTR_SERVICE_NAME]: serviceName };
      this.resources.set(serviceName, r);
    }
    return r;
  }
}
