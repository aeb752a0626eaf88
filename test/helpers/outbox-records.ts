/**
 * The two halves of an outbox record, encoded by the project's own OTLP logs
 * encoder as the SDK (the request's record) and the relay (the outbox
 * record) send them.
 */
import { randomUUID } from 'node:crypto';
import { AUDIT_EVENT_NAME, AUDIT_SCOPE_NAME } from '../../src/contract/attributes.js';
import { VERSION } from '../../src/contract/version.js';
import { LogsEncoder } from '../../src/otlp/logs-encoder.js';
import type { AuditAttributeValue, AuditRecord } from '../../src/sdk/record.js';

/** One operation that wrote an outbox row: the ids both halves share. */
export interface OutboxOperation {
  traceId: string;
  spanId: string;
  outboxId: string;
  service: string;
  resourceId: string;
}

let n = 0;

/** A fresh operation (trace id, server span id, outbox id) of `service`. */
export function outboxOperation(service = 'orders'): OutboxOperation {
  n++;
  const tail = `${process.pid.toString(16)}${n.toString(16).padStart(8, '0')}`;
  return {
    traceId: `0b${tail.padStart(30, '0')}`,
    spanId: `5b${n.toString(16).padStart(14, '0')}`,
    outboxId: randomUUID(),
    service,
    resourceId: `o-${n}`,
  };
}

const ENCODER = new LogsEncoder({ scopeName: AUDIT_SCOPE_NAME, scopeVersion: VERSION, eventName: AUDIT_EVENT_NAME, severityNumber: 9, severityText: 'INFO' });

/** 2026-12-01T12:00:00Z in Unix nanoseconds, plus `ms`. */
const at = (ms: number): string => (BigInt(Date.UTC(2026, 11, 1, 12)) * 1_000_000n + BigInt(ms) * 1_000_000n).toString();

/** What both halves of an operation say alike: its trace, service, action, resource and actor. */
function half(op: OutboxOperation, atMs: number, observedMs: number, attributes: Record<string, AuditAttributeValue>): AuditRecord {
  return {
    traceId: op.traceId,
    spanId: op.spanId,
    traceFlags: 1,
    timeUnixNano: at(atMs),
    observedTimeUnixNano: at(observedMs),
    resource: { 'service.name': op.service },
    attributes: {
      'audit.action': 'order.update',
      'audit.resource.type': 'order',
      'audit.resource.id': op.resourceId,
      'audit.actor.id': 'u-7',
      'audit.actor.type': 'user',
      'audit.outcome': 'success',
      'audit.outbox.id': op.outboxId,
      ...attributes,
    },
  };
}

/** The SDK's span-derived record: request columns, its emitter id/seq, the outbox id, no change values. */
export function requestHalf(op: OutboxOperation, emitter: { id: string; seq: number }, extra: Record<string, AuditAttributeValue> = {}): AuditRecord {
  return half(op, 0, 40, {
    'http.request.method': 'PUT',
    'http.route': '/orders/:id',
    'http.response.status_code': 200,
    'audit.request': '{"body":{"qty":2}}',
    'audit.emitter.id': emitter.id,
    'audit.emitter.seq': emitter.seq,
    ...extra,
  });
}

/** The relay's record of the outbox row: the change values, meta, `audit.origin` = `outbox`, no emitter. */
export function outboxHalf(op: OutboxOperation, change: { before: unknown; after: unknown } = { before: { qty: 1 }, after: { qty: 2 } }): AuditRecord {
  // When inTransaction ran: after the request began.
  return half(op, 12, 12, {
    'audit.change.before': JSON.stringify(change.before),
    'audit.change.after': JSON.stringify(change.after),
    'audit.meta.reason': 'restock',
    'audit.origin': 'outbox',
  });
}

/** One ExportLogsServiceRequest of the records. */
export function encodeRecords(records: readonly AuditRecord[]): Buffer {
  const { bytes, count } = ENCODER.encode(records);
  if (count !== records.length) throw new Error(`${records.length - count} record(s) could not be encoded`);
  return bytes;
}
