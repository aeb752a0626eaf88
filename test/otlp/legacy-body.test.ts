import type { AnyValue, Attributes } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_NAME, AUDIT_SCOPE_NAME } from '../../src/contract/attributes.js';
import { VERSION } from '../../src/contract/version.js';
import { LogsEncoder } from '../../src/otlp/logs-encoder.js';
import { decodeLogsWire } from '../../src/otlp/wire-logs.js';
import type { AuditFragment } from '../../src/sdk/fragment.js';
import { buildRecord } from '../../src/sdk/record-builder.js';
import { nanoStringToHrTime, type AuditRecord } from '../../src/sdk/record.js';
import { logRecordToRow, type LogOutcome } from '../../src/sink/transform.js';
import { legacyBody } from './legacy-body.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const RESOURCE = { 'service.name': 'users-api', 'service.version': '2.3.4' };

function fragment(over: Partial<AuditFragment> = {}): AuditFragment {
  return {
    source: 'auto',
    action: 'user.update',
    resourceType: 'user',
    resourceId: '42',
    actor: { id: 'u-1', name: 'alice', type: 'user' },
    tenant: 't-1',
    outcome: 'failure',
    module: 'core',
    level: 'full',
    error: 'db timeout',
    request: JSON.stringify({ query: { dry: 'true' }, body: { name: 'Alice' } }),
    before: JSON.stringify({ name: 'alice' }),
    after: JSON.stringify({ name: 'Alice' }),
    meta: { ticket: 'OPS-7', attempt: 2 },
    http: { method: 'PUT', route: '/users/:id', path: '/users/42', statusCode: 500, clientAddress: '203.0.113.9', userAgent: 'curl/8.5.0' },
    spanId: SPAN_ID,
    traceFlags: 1,
    startNs: '1700000000100000000',
    durationMs: 12.5,
    ...over,
  };
}

/** What an otel-audit 0.1 emitter put on the wire: the attributes and the record again as a map body. */
function asLegacyEmitter(record: AuditRecord, body: AnyValue): Uint8Array {
  const bytes = ProtobufLogsSerializer.serializeRequest([
    {
      hrTime: nanoStringToHrTime(record.timeUnixNano),
      hrTimeObserved: nanoStringToHrTime(record.observedTimeUnixNano),
      spanContext: { traceId: record.traceId, spanId: record.spanId, traceFlags: record.traceFlags },
      severityNumber: 9,
      severityText: 'INFO',
      eventName: AUDIT_EVENT_NAME,
      body,
      resource: resourceFromAttributes(record.resource),
      instrumentationScope: { name: AUDIT_SCOPE_NAME, version: VERSION },
      attributes: record.attributes as Attributes,
      droppedAttributesCount: 0,
    },
  ]);
  if (!bytes) throw new Error('nothing serialised');
  return bytes;
}

const encoder = new LogsEncoder({ scopeName: AUDIT_SCOPE_NAME, scopeVersion: VERSION, eventName: AUDIT_EVENT_NAME, severityNumber: 9, severityText: 'INFO' });

function onlyRow(bytes: Uint8Array): LogOutcome {
  const decoded = decodeLogsWire(bytes);
  expect(decoded).toHaveLength(1);
  return logRecordToRow(decoded[0]!);
}

describe('records without a body, and from emitters that sent one', () => {
  const cases: [string, AuditFragment, boolean][] = [
    ['a full-level record', fragment(), false],
    ['a minimal-level record', fragment({ level: 'minimal' }), false],
    ['an incomplete record without actor or resource', fragment({ actor: undefined, resourceType: undefined, resourceId: undefined }), true],
  ];
  for (const [name, f, incomplete] of cases) {
    it(`${name}: the same row either way`, () => {
      const record = buildRecord(f, { traceId: TRACE_ID, emitterId: 'em-1', emitterSeq: 3, resource: RESOURCE, nowMs: 1_700_000_000_200, incomplete });
      expect(record).not.toHaveProperty('body');
      const current = encoder.encode([record]);
      expect(decodeLogsWire(current.bytes)[0]?.body).toBeNull();
      const now = onlyRow(current.bytes);
      const before = onlyRow(asLegacyEmitter(record, legacyBody(f, incomplete)));
      expect(now.kind).toBe('row');
      expect(now).toEqual(before);
    });
  }
});
