import { describe, expect, it } from 'vitest';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { decodeLogsRequest, decodeTraceRequest } from '../../src/otlp/protobuf-requests.js';
import { type DecodedLogRecord, type DecodedSpan } from '../../src/otlp/decoded-types.js';
import { AUDIT_EVENT_NAME, AUDIT_SCOPE_NAME } from '../../src/contract/attributes.js';
import type { AuditFragment } from '../../src/sdk/fragment.js';
import { buildRecord } from '../../src/sdk/record-builder.js';
import { nanoStringToHrTime, type AuditRecord } from '../../src/sdk/record.js';
import { LEVELS } from '../../src/contract/values.js';
import { VERSION } from '../../src/contract/version.js';
import { legacyBody } from '../otlp/legacy-body.js';
import type { AuditRow } from '../../src/sink/row.js';
import { nanosToIso } from '../../src/sink/row-checks.js';
import { DEFAULT_LIMITS, type TransformLimits } from '../../src/sink/transform-limits.js';
import { logRecordToRow, spanToRow, type LogOutcome } from '../../src/sink/transform.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const START_NS = '1700000000123456789';
const START_ISO = '2023-11-14T22:13:20.123456Z';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** An SDK record as the official serializer takes it (it writes the bytes the SDK's LogsEncoder writes: test/otlp/logs-encoder.test.ts). */
function toLogRecord(r: AuditRecord): ReadableLogRecord {
  return {
    hrTime: nanoStringToHrTime(r.timeUnixNano),
    hrTimeObserved: nanoStringToHrTime(r.observedTimeUnixNano),
    spanContext: { traceId: r.traceId, spanId: r.spanId, traceFlags: r.traceFlags },
    severityNumber: 9,
    severityText: 'INFO',
    eventName: AUDIT_EVENT_NAME,
    resource: resourceFromAttributes(r.resource),
    instrumentationScope: { name: AUDIT_SCOPE_NAME, version: VERSION },
    attributes: r.attributes as Attributes,
    droppedAttributesCount: 0,
  };
}

/** SDK record → official OTLP protobuf serializer → the sink's decoder. */
function overTheWire(records: AuditRecord[]): DecodedLogRecord[] {
  const bytes = ProtobufLogsSerializer.serializeRequest(records.map(toLogRecord));
  if (!bytes) throw new Error('serializer produced nothing');
  return decodeLogsRequest(bytes);
}

/** A decoded audit log record; attributes set to undefined are left out. */
function logRec(attrs: Record<string, unknown> = {}, over: Partial<DecodedLogRecord> = {}): DecodedLogRecord {
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries({ 'audit.action': 'user.update', ...attrs })) if (v !== undefined) attributes[k] = v;
  return {
    resource: { 'service.name': 'svc' },
    scope: { name: 'otel-audit', version: '0.1.0', attributes: {} },
    timeUnixNano: START_NS,
    observedTimeUnixNano: '1700000001000000000',
    severityNumber: 9,
    severityText: 'INFO',
    body: null,
    attributes,
    droppedAttributesCount: 0,
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    eventName: 'audit',
    flags: 1,
    ...over,
  };
}

function decodedSpan(attrs: Record<string, unknown>, over: Partial<DecodedSpan> = {}): DecodedSpan {
  return {
    resource: { 'service.name': 'billing' },
    scope: { name: 'billing-tracer', version: '1.0.0', attributes: {} },
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'POST /invoices/:id/pay',
    kind: 2,
    startTimeUnixNano: START_NS,
    endTimeUnixNano: '1700000000173456789',
    attributes: { 'audit.action': 'invoice.pay', ...attrs },
    droppedAttributesCount: 0,
    status: { code: 0, message: '' },
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    ...over,
  };
}

function rowOf(outcome: LogOutcome): AuditRow {
  if (outcome.kind !== 'row') throw new Error(`expected a row, got ${JSON.stringify(outcome)}`);
  return outcome.row;
}

function reasonOf(outcome: LogOutcome): string {
  if (outcome.kind !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.rejection.reason;
}

/** A row stored sanitised: the row, the columns flagged, and the reason kept with its raw input. */
function sanitizedOf(outcome: LogOutcome): { row: AuditRow; flagged: unknown; reason: string } {
  if (outcome.kind !== 'row' || !outcome.sanitized) throw new Error(`expected a sanitised row, got ${JSON.stringify(outcome)}`);
  return { row: outcome.row, flagged: outcome.row.attributes['audit.sanitized'], reason: outcome.sanitized.reason };
}
const logSanitized = (attrs: Record<string, unknown>, over: Partial<DecodedLogRecord> = {}, limits?: TransformLimits) =>
  sanitizedOf(logRecordToRow(logRec(attrs, over), limits));

const logReason = (attrs: Record<string, unknown>, over: Partial<DecodedLogRecord> = {}, limits?: TransformLimits): string =>
  reasonOf(logRecordToRow(logRec(attrs, over), limits));
const logRow = (attrs: Record<string, unknown>, over: Partial<DecodedLogRecord> = {}): AuditRow =>
  rowOf(logRecordToRow(logRec(attrs, over)));

// ---------------------------------------------------------------------------
// Records produced by the SDK
// ---------------------------------------------------------------------------

describe('logRecordToRow: records from the SDK over OTLP', () => {
  const resource = { 'service.name': 'users-api', 'service.version': '2.3.4', 'deployment.environment.name': 'test' };

  it('maps every column of a full-level record', () => {
    const fragment: AuditFragment = {
      source: 'auto',
      action: 'user.update',
      resourceType: 'user',
      resourceId: '42',
      actor: { id: 'u-1', name: 'alice', type: 'user' },
      tenant: 't-1',
      outcome: 'success',
      module: 'core',
      level: 'full',
      request: JSON.stringify({ query: { dry: 'true' }, body: { name: 'Alice', password: '[REDACTED]' } }),
      before: JSON.stringify({ name: 'alice', roles: ['dev'] }),
      after: JSON.stringify({ name: 'Alice', roles: ['dev', 'admin'] }),
      meta: { ticket: 'OPS-7', attempt: 2, dry_run: false },
      http: {
        method: 'PUT',
        route: '/users/:id',
        path: '/users/42',
        statusCode: 200,
        clientAddress: '203.0.113.9',
        userAgent: 'curl/8.5.0',
      },
      spanId: SPAN_ID,
      traceFlags: 1,
      startNs: START_NS,
      durationMs: 12.5,
    };
    const record = buildRecord(fragment, { traceId: TRACE_ID, emitterId: 'em-1f2e', emitterSeq: 7, resource, nowMs: 1_700_000_000_200 });
    const decoded = overTheWire([record]);
    expect(decoded).toHaveLength(1);

    expect(logRecordToRow(decoded[0]!)).toEqual({
      kind: 'row',
      row: {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        occurredAt: START_ISO,
        serviceName: 'users-api',
        module: 'core',
        actorId: 'u-1',
        actorName: 'alice',
        actorType: 'user',
        tenantId: 't-1',
        action: 'user.update',
        resourceType: 'user',
        resourceId: '42',
        outcome: 'success',
        statusCode: 200,
        httpMethod: 'PUT',
        httpRoute: '/users/:id',
        urlPath: '/users/42',
        clientIp: '203.0.113.9',
        userAgent: 'curl/8.5.0',
        durationMs: 12.5,
        level: 'full',
        request: { query: { dry: 'true' }, body: { name: 'Alice', password: '[REDACTED]' } },
        changeBefore: { name: 'alice', roles: ['dev'] },
        changeAfter: { name: 'Alice', roles: ['dev', 'admin'] },
        attributes: {
          'audit.meta.ticket': 'OPS-7',
          'audit.meta.attempt': 2,
          'audit.meta.dry_run': false,
          resource: { 'service.version': '2.3.4', 'deployment.environment.name': 'test' },
          scope: { name: 'otel-audit', version: VERSION },
        },
        emitterId: 'em-1f2e',
        emitterSeq: '7',
      },
    });
  });

  it('maps a minimal-level failed record flushed before its trace ended', () => {
    const fragment: AuditFragment = {
      source: 'manual',
      action: 'build.trigger',
      resourceType: 'job',
      resourceId: 'nightly',
      actor: { id: 'ci-bot', type: 'service' },
      outcome: 'failure',
      error: 'upstream timed out',
      module: 'jenkins',
      level: 'minimal',
      request: '{"ignored":true}',
      meta: { ignored: 'yes' },
      http: { method: 'POST', route: '/jobs/:name/build', statusCode: 504, clientAddress: '2001:db8::7', userAgent: 'x' },
      spanId: 'a1b2c3d4e5f60718',
      traceFlags: 0,
      startMs: 1_700_000_000_123.5,
    };
    const record = buildRecord(fragment, {
      traceId: TRACE_ID,
      emitterId: 'em-2',
      emitterSeq: 9_007_199_254_740_991,
      resource: { 'service.name': 'ci' },
      incomplete: true,
      nowMs: 1_700_000_009_000,
    });
    const [decoded] = overTheWire([record]);

    expect(rowOf(logRecordToRow(decoded!))).toEqual({
      traceId: TRACE_ID,
      spanId: 'a1b2c3d4e5f60718',
      occurredAt: '2023-11-14T22:13:20.123500Z',
      serviceName: 'ci',
      module: 'jenkins',
      actorId: 'ci-bot',
      actorName: null,
      actorType: 'service',
      tenantId: null,
      action: 'build.trigger',
      resourceType: 'job',
      resourceId: 'nightly',
      outcome: 'failure',
      statusCode: 504,
      httpMethod: 'POST',
      httpRoute: '/jobs/:name/build',
      urlPath: null,
      clientIp: '2001:db8::7',
      userAgent: null,
      durationMs: null,
      level: 'minimal',
      request: null,
      changeBefore: null,
      changeAfter: null,
      attributes: {
        'audit.error.message': 'upstream timed out',
        'audit.incomplete': true,
        resource: {},
        scope: { name: 'otel-audit', version: VERSION },
      },
      emitterId: 'em-2',
      emitterSeq: '9007199254740991',
    });
  });

  it('reads a record that carries its fields only in the body (older emitters mark it with event.name)', () => {
    const fragment: AuditFragment = {
      source: 'auto',
      action: 'session.create',
      resourceType: 'session',
      resourceId: 's-9',
      actor: { id: 'alice', name: 'alice', type: 'user' },
      tenant: 'acme',
      module: 'user_auth',
      level: 'full',
      request: '{"username":"alice"}',
      after: 'not json',
      meta: { via: 'sso' },
      error: 'none',
      http: { method: 'POST', route: '/sessions', path: '/sessions', statusCode: 201, clientAddress: '198.51.100.4', userAgent: 'ua/1' },
      spanId: SPAN_ID,
      startNs: START_NS,
      durationMs: 3,
    };
    const rec = logRec({}, { eventName: '', body: { ...legacyBody(fragment), extra: { k: 1 } } });
    rec.attributes = { 'event.name': 'audit', 'audit.meta.via': 'attribute wins' };

    expect(rowOf(logRecordToRow(rec))).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      occurredAt: START_ISO,
      serviceName: 'svc',
      module: 'user_auth',
      actorId: 'alice',
      actorName: 'alice',
      actorType: 'user',
      tenantId: 'acme',
      action: 'session.create',
      resourceType: 'session',
      resourceId: 's-9',
      outcome: 'success',
      statusCode: 201,
      httpMethod: 'POST',
      httpRoute: '/sessions',
      urlPath: '/sessions',
      clientIp: '198.51.100.4',
      userAgent: 'ua/1',
      durationMs: 3,
      level: 'full',
      request: { username: 'alice' },
      changeBefore: null,
      // The SDK stores unparsable JSON as the string itself.
      changeAfter: 'not json',
      attributes: {
        'event.name': 'audit',
        'audit.meta.via': 'attribute wins',
        'audit.error.message': 'none',
        resource: {},
        scope: { name: 'otel-audit', version: '0.1.0' },
        body: { extra: { k: 1 } },
      },
      emitterId: null,
      emitterSeq: null,
    });
  });
});

// ---------------------------------------------------------------------------
// Rules for log records
// ---------------------------------------------------------------------------

describe('logRecordToRow: what is an audit record', () => {
  it('ignores log records that are not audit events', () => {
    expect(logRecordToRow(logRec({}, { eventName: '' }))).toEqual({ kind: 'ignored' });
    expect(logRecordToRow(logRec({}, { eventName: 'http.request' }))).toEqual({ kind: 'ignored' });
    expect(logRecordToRow(logRec({ 'event.name': 'login' }, { eventName: '' }))).toEqual({ kind: 'ignored' });
    expect(logRecordToRow(logRec({}, { eventName: 'Audit' }))).toEqual({ kind: 'ignored' });
  });

  it('accepts event.name = audit when eventName is empty', () => {
    expect(logRecordToRow(logRec({ 'event.name': 'audit' }, { eventName: '' })).kind).toBe('row');
  });
});

describe('logRecordToRow: ids and time', () => {
  it('rejects missing, malformed and all-zero trace ids', () => {
    expect(logReason({}, { traceId: '' })).toBe(
      'missing or invalid trace id (expected 32 hex digits, not all zero; got none)',
    );
    expect(logReason({}, { traceId: '0'.repeat(32) })).toBe(
      `missing or invalid trace id (expected 32 hex digits, not all zero; got "${'0'.repeat(32)}")`,
    );
    expect(logReason({}, { traceId: 'abc' })).toMatch(/^missing or invalid trace id .*got "abc"\)$/);
    expect(logReason({}, { traceId: `${TRACE_ID}00` })).toMatch(/^missing or invalid trace id/);
  });

  it('rejects missing, malformed and all-zero span ids', () => {
    expect(logReason({}, { spanId: '' })).toBe('missing or invalid span id (expected 16 hex digits, not all zero; got none)');
    expect(logReason({}, { spanId: '0000000000000000' })).toMatch(/^missing or invalid span id/);
    expect(logReason({}, { spanId: 'zz00000000000001' })).toMatch(/^missing or invalid span id/);
  });

  it('lowercases ids', () => {
    const row = logRow({}, { traceId: TRACE_ID.toUpperCase(), spanId: SPAN_ID.toUpperCase() });
    expect([row.traceId, row.spanId]).toEqual([TRACE_ID, SPAN_ID]);
  });

  it('takes the observed time when the event time is zero, and rejects a record with neither', () => {
    expect(logRow({}, { timeUnixNano: '0' }).occurredAt).toBe('2023-11-14T22:13:21.000000Z');
    expect(logReason({}, { timeUnixNano: '0', observedTimeUnixNano: '0' })).toBe(
      'missing timestamp: timeUnixNano "0" and observedTimeUnixNano "0" are zero or invalid',
    );
  });
});

describe('logRecordToRow: action, outcome, actor', () => {
  it('requires a non-empty string action; one over 256 characters is cut to 256, with a marker, and flagged', () => {
    expect(logReason({ 'audit.action': undefined })).toBe('missing audit.action: an audit record must name its action');
    expect(logReason({ 'audit.action': '' })).toBe('missing audit.action: an audit record must name its action');
    expect(logReason({ 'audit.action': 5 })).toBe('audit.action has type int; expected a string');
    const long = logSanitized({ 'audit.action': 'a'.repeat(257) });
    expect([...long.row.action]).toHaveLength(256);
    expect(long.row.action).toMatch(/^a+…\[cut: 257 characters, sha256 [0-9a-f]{16}\]$/);
    expect(long.flagged).toEqual(['action']);
    expect(long.reason).toBe('sanitized: audit.action: 257 characters, cut to 256');
    expect(logRow({ 'audit.action': 'é'.repeat(256) }).action).toBe('é'.repeat(256));
    // Different long actions stay different.
    expect(logSanitized({ 'audit.action': `${'a'.repeat(300)}1` }).row.action).not.toBe(logSanitized({ 'audit.action': `${'a'.repeat(300)}2` }).row.action);
    const type = logSanitized({ 'audit.resource.type': 't'.repeat(400) });
    expect([...(type.row.resourceType ?? '')]).toHaveLength(256);
    expect(type.flagged).toEqual(['resource_type']);
  });

  it('takes the action from the body when the attribute is absent', () => {
    expect(logRow({ 'audit.action': undefined }, { body: { action: 'doc.read' } }).action).toBe('doc.read');
    expect(logRow({ 'audit.action': 'attr.wins' }, { body: { action: 'doc.read' } }).action).toBe('attr.wins');
  });

  it('defaults the outcome to success and rejects unknown outcomes', () => {
    expect(logRow({}).outcome).toBe('success');
    expect(logRow({ 'audit.outcome': 'denied' }).outcome).toBe('denied');
    expect(logRow({}, { body: { outcome: 'failure' } }).outcome).toBe('failure');
    expect(logReason({ 'audit.outcome': 'maybe' })).toBe('audit.outcome "maybe" is not one of success, failure, denied');
    expect(logReason({ 'audit.outcome': true })).toBe('audit.outcome has type bool; expected a string');
  });

  it('takes the level from the contract\'s levels, leaves it null when absent, and rejects any other', () => {
    for (const level of LEVELS) expect(logRow({ 'audit.level': level }).level).toBe(level);
    expect(logRow({}).level).toBeNull();
    expect(logRow({}, { body: { level: 'basic' } }).level).toBe('basic');
    expect(logReason({ 'audit.level': 'FULL' })).toBe('audit.level "FULL" is not one of full, basic, minimal');
    expect(logReason({ 'audit.level': 'ignore' })).toBe('audit.level "ignore" is not one of full, basic, minimal');
    expect(logReason({}, { body: { level: 'debug' } })).toBe('body.level "debug" is not one of full, basic, minimal');
    expect(logReason({ 'audit.level': 3 })).toBe('audit.level has type int; expected a string');
  });

  it('defaults the actor type from the presence of an id, and rejects unknown types', () => {
    expect(logRow({ 'audit.actor.id': 'u-1' }).actorType).toBe('user');
    expect(logRow({}).actorType).toBe('anonymous');
    expect(logRow({ 'audit.actor.type': 'service' }).actorType).toBe('service');
    expect(logReason({ 'audit.actor.type': 'robot' })).toBe(
      'audit.actor.type "robot" is not one of user, service, anonymous',
    );
  });

  it('accepts integer ids as decimal strings (int64 beyond the safe range arrives as a string)', () => {
    const row = logRow({
      'audit.actor.id': 1234,
      'audit.tenant.id': -5,
      'audit.resource.id': '9223372036854775807',
    });
    expect([row.actorId, row.tenantId, row.resourceId]).toEqual(['1234', '-5', '9223372036854775807']);
  });

  it('rejects non-scalar, boolean and fractional values where strings belong', () => {
    expect(logReason({ 'audit.actor.id': { a: 1 } })).toBe('audit.actor.id has type kvlist; expected a string');
    expect(logReason({ 'audit.actor.id': ['a'] })).toBe('audit.actor.id has type array; expected a string');
    expect(logReason({ 'audit.actor.id': true })).toBe('audit.actor.id has type bool; expected a string');
    expect(logReason({ 'audit.actor.id': 1.5 })).toBe('audit.actor.id has type double; expected a string');
    expect(logReason({ 'audit.actor.name': 7 })).toBe('audit.actor.name has type int; expected a string');
    expect(logReason({ 'audit.module': ['core'] })).toBe('audit.module has type array; expected a string');
    expect(logReason({}, { body: { actor: { id: { x: 1 } } } })).toBe('body.actor.id has type kvlist; expected a string');
  });
});

describe('logRecordToRow: service, http, duration', () => {
  it('takes service.name from the resource, else unknown_service', () => {
    expect(logRow({}, { resource: {} }).serviceName).toBe('unknown_service');
    expect(logRow({}, { resource: { 'service.name': '' } }).serviceName).toBe('unknown_service');
    expect(logReason({}, { resource: { 'service.name': ['a'] } })).toBe(
      'resource attribute service.name has type array; expected a string',
    );
  });

  it('stores status codes 100..599, keeps others as attributes, rejects non-integers', () => {
    expect(logRow({ 'http.response.status_code': 404 }).statusCode).toBe(404);
    const out = logRow({ 'http.response.status_code': 700 });
    expect(out.statusCode).toBeNull();
    expect(out.attributes['http.response.status_code']).toBe(700);
    expect(logReason({ 'http.response.status_code': 200.5 })).toBe(
      'http.response.status_code has type double; expected an integer',
    );
    expect(logReason({ 'http.response.status_code': 'OK' })).toBe(
      'http.response.status_code has type string; expected an integer',
    );
  });

  it('stores valid client addresses only, keeping an invalid one as an attribute', () => {
    expect(logRow({ 'client.address': '::ffff:10.0.0.1' }).clientIp).toBe('::ffff:10.0.0.1');
    for (const bad of ['unknown', '10.0.0.1:8080', '[::1]', 'fe80::1%eth0', '300.1.1.1']) {
      const row = logRow({ 'client.address': bad });
      expect(row.clientIp).toBeNull();
      expect(row.attributes['client.address']).toBe(bad);
    }
    expect(logReason({ 'client.address': 10 })).toBe('client.address has type int; expected a string');
  });

  it('reads audit.duration_ms as a number', () => {
    expect(logRow({ 'audit.duration_ms': 0.25 }).durationMs).toBe(0.25);
    expect(logRow({}, { body: { duration_ms: 4 } }).durationMs).toBe(4);
    const negative = logRow({ 'audit.duration_ms': -1 });
    expect(negative.durationMs).toBeNull();
    expect(negative.attributes['audit.duration_ms']).toBe(-1);
    expect(logReason({ 'audit.duration_ms': '12' })).toBe('audit.duration_ms has type string; expected a number');
  });
});

describe('logRecordToRow: request and changes', () => {
  it('parses JSON strings, keeps invalid JSON as a string, accepts maps', () => {
    const row = logRow({
      'audit.request': '{"q":[1,"two",null]}',
      'audit.change.before': '{broken',
      'audit.change.after': { name: 'kv' },
    });
    expect(row.request).toEqual({ q: [1, 'two', null] });
    expect(row.changeBefore).toBe('{broken');
    expect(row.changeAfter).toEqual({ name: 'kv' });
    expect(logRow({}, { body: { request: { a: 1 }, change: { before: 1, after: [2] } } })).toMatchObject({
      request: { a: 1 },
      changeBefore: 1,
      changeAfter: [2],
    });
  });

  it('replaces NUL characters in values and in keys, at any depth, by U+FFFD and flags the column', () => {
    const id = logSanitized({ 'audit.resource.id': 'a\u0000b' });
    expect(id.row.resourceId).toBe('a\uFFFDb');
    expect(id.flagged).toEqual(['resource_id']);
    expect(id.reason).toBe('sanitized: audit.resource.id: NUL replaced');
    const nested = logSanitized({ 'audit.request': '{"user":{"name":"a\\u0000"}}' });
    expect(nested.row.request).toEqual({ user: { name: 'a\uFFFD' } });
    expect(nested.reason).toBe('sanitized: audit.request.user.name: NUL replaced');
    const key = logSanitized({ 'audit.request': '{"x\\u0000y":1}' });
    expect(key.row.request).toEqual({ 'x\uFFFDy': 1 });
    expect(key.reason).toBe('sanitized: key "x\\u0000y" in audit.request: NUL replaced');
    expect(logSanitized({ 'audit.meta.note': ['ok', 'bad\u0000'] })).toMatchObject({
      flagged: ['attributes'],
      reason: 'sanitized: audit.meta.note[1]: NUL replaced',
    });
    const attrKey = logSanitized({ 'bad\u0000key': 1, 'audit.actor.id': 'u\u0000' });
    expect(attrKey.row.attributes['bad\uFFFDkey']).toBe(1);
    expect(attrKey.row.actorId).toBe('u\uFFFD');
    expect(attrKey.flagged).toEqual(['actor_id', 'attributes']);
  });

  it('replaces unpaired surrogates; a genuine U+FFFD is data (invalid UTF-8 is refused by the decoder)', () => {
    expect(logRecordToRow(logRec({ 'audit.action': 'user.\uFFFDupdate' }))).toMatchObject({ kind: 'row', row: { action: 'user.\uFFFDupdate' } });
    expect(logRecordToRow(logRec({ 'audit.action': 'user.\uFFFDupdate' }))).not.toHaveProperty('sanitized');
    const lone = logSanitized({ 'audit.request': '{"a":"\\ud800"}' });
    expect(lone.row.request).toEqual({ a: '\uFFFD' });
    expect(lone.reason).toBe('sanitized: audit.request.a: unpaired surrogate replaced');
    const resource = logSanitized({}, { resource: { 'service.name': 's\u0000', 'host.name': 'h\uD800' } });
    expect(resource.row.serviceName).toBe('s\uFFFD');
    expect(resource.row.attributes['resource']).toEqual({ 'host.name': 'h\uFFFD' });
    expect(resource.flagged).toEqual(['attributes', 'service_name']);
  });

  it('cuts JSON nested deeper than 64 levels, with a marker', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 80; i++) deep = { k: deep };
    const out = logSanitized({ 'audit.request': JSON.stringify(deep) });
    let v: unknown = out.row.request;
    for (let i = 0; i < 64; i++) v = (v as { k: unknown }).k;
    expect(v).toMatch(/^\[cut: nested deeper than 64 levels, \d+ bytes as JSON, sha256 [0-9a-f]{16}\]$/);
    expect(out.flagged).toEqual(['request']);
  });
});

describe('logRecordToRow: limits', () => {
  it('cuts any single string over maxValueBytes (counted in UTF-8 bytes) to the limit, ending in a marker', () => {
    const request = `"${'a'.repeat(69_998)}"`;
    const cut = logSanitized({ 'audit.request': request });
    expect(cut.row.request).toMatch(/^"a+…\[cut: 70000 bytes, sha256 [0-9a-f]{16}\]$/);
    expect(Buffer.byteLength(cut.row.request as string)).toBeLessThanOrEqual(65_536);
    expect(cut.reason).toBe('sanitized: audit.request: 70000 bytes, cut to 65536');
    // 2-byte characters: 40000 characters are 80000 bytes; the cut falls between characters.
    const note = logSanitized({ 'audit.meta.note': 'é'.repeat(40_000) });
    const kept = note.row.attributes['audit.meta.note'] as string;
    expect(kept).toMatch(/^é+…\[cut: 80000 bytes, sha256 [0-9a-f]{16}\]$/);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(65_536);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(65_400);
    expect(logRow({ 'audit.meta.note': 'é'.repeat(32_768) }).attributes['audit.meta.note']).toHaveLength(32_768);
    const small: TransformLimits = { maxValueBytes: 10, maxRecordBytes: DEFAULT_LIMITS.maxRecordBytes };
    expect(logSanitized({ 'audit.action': 'a.b', 'audit.request': '{"k":"01234567890"}' }, {}, small)).toMatchObject({
      row: { request: '{"k":"0…' },
      reason: 'sanitized: audit.request: 19 bytes, cut to 10',
    });
    expect(logSanitized({ 'audit.action': undefined }, { body: { action: 'a.b', request: { k: 'x'.repeat(11) } } }, small)).toMatchObject({
      row: { request: { k: 'xxxxxxx…' } },
      reason: 'sanitized: body.request.k: 11 bytes, cut to 10',
    });
    // Indexed columns have a tighter limit.
    const actor = logSanitized({ 'audit.actor.id': 'u'.repeat(5000) });
    expect(Buffer.byteLength(actor.row.actorId ?? '')).toBeLessThanOrEqual(1024);
    expect(actor.flagged).toEqual(['actor_id']);
  });

  it('cuts the largest JSON values of a row whose JSON exceeds maxRecordBytes', () => {
    const attrs = { 'audit.meta.a': 'x'.repeat(30_000), 'audit.meta.b': 'y'.repeat(20_000) };
    const row = logRow(attrs);
    const bytes = Buffer.byteLength(JSON.stringify(row), 'utf8');
    expect(bytes).toBeGreaterThan(50_000);
    const limits = { maxValueBytes: DEFAULT_LIMITS.maxValueBytes, maxRecordBytes: bytes - 1 };
    const out = logSanitized(attrs, {}, limits);
    expect(out.row.attributes['audit.meta.a']).toMatch(/^\[cut: 30002 bytes as JSON, sha256 [0-9a-f]{16}\]$/);
    expect(out.row.attributes['audit.meta.b']).toBe('y'.repeat(20_000));
    expect(out.flagged).toEqual(['attributes']);
    expect(Buffer.byteLength(JSON.stringify(out.row))).toBeLessThanOrEqual(bytes - 1);
    expect(logRecordToRow(logRec(attrs), { ...limits, maxRecordBytes: bytes })).not.toHaveProperty('sanitized');
    // Text columns alone over the limit: rejected.
    const text = { 'user_agent.original': 'u'.repeat(60_000), 'url.path': 'p'.repeat(60_000) };
    expect(logReason(text, {}, { maxValueBytes: 65_536, maxRecordBytes: 100_000 })).toMatch(/^record is \d+ bytes as JSON even with its JSON values cut; the limit is 100000$/);
  });
});

describe('logRecordToRow: emitter', () => {
  it('stores id and sequence as strings, null when absent', () => {
    expect(logRow({ 'audit.emitter.id': 'e-1', 'audit.emitter.seq': 3 })).toMatchObject({ emitterId: 'e-1', emitterSeq: '3' });
    expect(logRow({ 'audit.emitter.seq': '9223372036854775806' }).emitterSeq).toBe('9223372036854775806');
    expect(logRow({})).toMatchObject({ emitterId: null, emitterSeq: null });
  });

  it('rejects wrong types and out-of-range sequence numbers', () => {
    expect(logReason({ 'audit.emitter.id': 12 })).toBe('audit.emitter.id has type int; expected a string');
    expect(logReason({ 'audit.emitter.id': 'e'.repeat(129) })).toBe('audit.emitter.id is 129 characters; the limit is 128');
    expect(logReason({ 'audit.emitter.seq': 0 })).toBe('audit.emitter.seq 0 is out of range (1..9223372036854775806)');
    expect(logReason({ 'audit.emitter.seq': -2 })).toBe('audit.emitter.seq -2 is out of range (1..9223372036854775806)');
    // The loss accounting stores seq + 1 in a bigint: the largest bigint itself is out of range.
    expect(logReason({ 'audit.emitter.seq': '9223372036854775807' })).toBe(
      'audit.emitter.seq 9223372036854775807 is out of range (1..9223372036854775806)',
    );
    expect(logReason({ 'audit.emitter.seq': '9223372036854775808' })).toBe(
      'audit.emitter.seq 9223372036854775808 is out of range (1..9223372036854775806)',
    );
    expect(logReason({ 'audit.emitter.seq': 1.5 })).toBe('audit.emitter.seq has type double; expected a positive integer');
    expect(logReason({ 'audit.emitter.seq': 'x' })).toBe('audit.emitter.seq has type string; expected a positive integer');
  });
});

describe('logRecordToRow: attributes column', () => {
  it('keeps unmapped attributes, resource and scope; leaves out what has a column', () => {
    const row = logRow(
      {
        'audit.actor.id': 'u',
        'audit.meta.big': '18446744073709551615',
        'audit.meta.ratio': Number.NaN,
        'custom.bytes': 'AAEC',
        resource: 'a record attribute named resource',
      },
      { resource: { 'service.name': 'svc', 'host.name': 'h1' }, scope: { name: 'lib', version: '', attributes: { x: 1 } } },
    );
    expect(row.attributes).toEqual({
      'audit.meta.big': '18446744073709551615',
      'audit.meta.ratio': 'NaN',
      'custom.bytes': 'AAEC',
      'attribute.resource': 'a record attribute named resource',
      resource: { 'host.name': 'h1' },
      scope: { name: 'lib', version: '', attributes: { x: 1 } },
    });
    expect(Object.getPrototypeOf(row.attributes)).toBe(Object.prototype);
  });

  it('keeps an own __proto__ attribute as data', () => {
    const attributes: Record<string, unknown> = { 'audit.action': 'a.b' };
    Object.defineProperty(attributes, '__proto__', { value: { polluted: true }, enumerable: true });
    const row = rowOf(logRecordToRow(logRec({}, { attributes })));
    expect(Object.getOwnPropertyDescriptor(row.attributes, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(row.attributes)).toBe(Object.prototype);
    expect(JSON.stringify(row.attributes)).toContain('"__proto__":{"polluted":true}');
  });
});

describe('logRecordToRow: never throws', () => {
  it('turns an unexpected exception into an internal rejection', () => {
    const attributes = new Proxy<Record<string, unknown>>(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error('attribute store exploded');
        },
      },
    );
    const outcome = logRecordToRow(logRec({}, { attributes }));
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { reason: 'internal: attribute store exploded' } });
  });

  it('attaches a storable copy of the offending record (to rejections and to sanitised rows)', () => {
    const outcome = logRecordToRow(logRec({ 'audit.resource.id': 'a\u0000b', 'audit.meta.nan': Number.POSITIVE_INFINITY, 'audit.outcome': 'maybe' }));
    if (outcome.kind !== 'rejected') throw new Error('expected a rejection');
    expect((outcome.rejection.record as DecodedLogRecord).attributes['audit.resource.id']).toBe('a\\u0000b');
    const sanitised = logRecordToRow(logRec({ 'audit.resource.id': 'a\u0000b', 'audit.meta.nan': Number.POSITIVE_INFINITY }));
    if (sanitised.kind !== 'row' || !sanitised.sanitized) throw new Error('expected a sanitised row');
    const record = sanitised.sanitized.record as DecodedLogRecord;
    expect(record.attributes).toEqual({
      'audit.action': 'user.update',
      'audit.resource.id': 'a\\u0000b',
      'audit.meta.nan': 'Infinity',
    });
    expect(record.traceId).toBe(TRACE_ID);
  });
});

// ---------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------

describe('spanToRow: spans over OTLP', () => {
  async function exportedSpans(): Promise<DecodedSpan[]> {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'billing', 'service.namespace': 'shop' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
    });
    const tracer = provider.getTracer('billing-tracer', '1.0.0');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    const conventionAttrs = {
      'audit.action': 'invoice.pay',
      'audit.actor.id': 77,
      'audit.actor.name': 'bob',
      'audit.tenant.id': 'acme',
      'audit.resource.type': 'invoice',
      'audit.resource.id': 'inv-9',
      'audit.module': 'billing',
      'audit.request': '{"amount":12.5}',
      'audit.meta.channel': 'web',
      'http.request.method': 'POST',
      'http.route': '/invoices/:id/pay',
      'url.path': '/invoices/inv-9/pay',
      'http.response.status_code': 403,
      'client.address': '192.0.2.1',
      'user_agent.original': 'Mozilla/5.0',
      'server.port': 8080,
    };
    const start: [number, number] = [1_700_000_000, 123_456_789];
    const end: [number, number] = [1_700_000_000, 173_456_789];
    tracer.startSpan('convention', { kind: SpanKind.SERVER, attributes: conventionAttrs, startTime: start }, parent).end(end);
    tracer
      .startSpan('sdk-tagged', { kind: SpanKind.SERVER, attributes: { ...conventionAttrs, 'audit.emitter.id': 'em-1' }, startTime: start }, parent)
      .end(end);
    const plain = tracer.startSpan('plain', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } }, parent);
    plain.setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    plain.end();
    await provider.forceFlush();
    const bytes = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans());
    if (!bytes) throw new Error('serializer produced nothing');
    return decodeTraceRequest(bytes);
  }

  it('turns a convention span into a row, and ignores SDK-tagged and plain spans', async () => {
    const spans = await exportedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const convention = byName.get('convention')!;

    expect(spanToRow(byName.get('sdk-tagged')!)).toEqual({ kind: 'ignored' });
    expect(spanToRow(byName.get('plain')!)).toEqual({ kind: 'ignored' });
    expect(spanToRow(convention)).toEqual({
      kind: 'row',
      row: {
        traceId: TRACE_ID,
        spanId: convention.spanId,
        occurredAt: START_ISO,
        serviceName: 'billing',
        module: 'billing',
        actorId: '77',
        actorName: 'bob',
        actorType: 'user',
        tenantId: 'acme',
        action: 'invoice.pay',
        resourceType: 'invoice',
        resourceId: 'inv-9',
        outcome: 'denied',
        statusCode: 403,
        httpMethod: 'POST',
        httpRoute: '/invoices/:id/pay',
        urlPath: '/invoices/inv-9/pay',
        clientIp: '192.0.2.1',
        userAgent: 'Mozilla/5.0',
        durationMs: 50,
        level: null,
        request: { amount: 12.5 },
        changeBefore: null,
        changeAfter: null,
        attributes: {
          'audit.meta.channel': 'web',
          'server.port': 8080,
          resource: { 'service.namespace': 'shop' },
          scope: { name: 'billing-tracer', version: '1.0.0' },
        },
        emitterId: null,
        emitterSeq: null,
      },
    });
  });
});

describe('spanToRow: rules', () => {
  it('ignores spans without audit.action or with audit.emitter.id', () => {
    expect(spanToRow(decodedSpan({ 'audit.action': undefined }))).toEqual({ kind: 'ignored' });
    expect(spanToRow(decodedSpan({ 'audit.action': '' }))).toEqual({ kind: 'ignored' });
    expect(spanToRow(decodedSpan({ 'audit.emitter.id': 'em' }))).toEqual({ kind: 'ignored' });
  });

  it('derives the outcome from the span when audit.outcome is absent', () => {
    const outcome = (attrs: Record<string, unknown>, over: Partial<DecodedSpan> = {}): string =>
      rowOf(spanToRow(decodedSpan(attrs, over))).outcome;
    expect(outcome({})).toBe('success');
    expect(outcome({ 'http.response.status_code': 200 })).toBe('success');
    expect(outcome({ 'http.response.status_code': 401 })).toBe('denied');
    expect(outcome({ 'http.response.status_code': 404 })).toBe('failure');
    expect(outcome({ 'http.response.status_code': 503 })).toBe('failure');
    expect(outcome({}, { status: { code: 2, message: '' } })).toBe('failure');
    expect(outcome({ 'audit.outcome': 'success' }, { status: { code: 2, message: '' } })).toBe('success');
  });

  it('records the error message of a failed span', () => {
    const fromStatus = rowOf(spanToRow(decodedSpan({}, { status: { code: 2, message: 'card declined' } })));
    expect(fromStatus.attributes['audit.error.message']).toBe('card declined');
    const fromException = rowOf(
      spanToRow(
        decodedSpan(
          {},
          {
            status: { code: 2, message: 'status text' },
            events: [{ timeUnixNano: START_NS, name: 'exception', attributes: { 'exception.message': 'boom' }, droppedAttributesCount: 0 }],
          },
        ),
      ),
    );
    expect([fromException.outcome, fromException.attributes['audit.error.message']]).toEqual(['failure', 'boom']);
    const explicit = rowOf(spanToRow(decodedSpan({ 'audit.error.message': 'mine' }, { status: { code: 2, message: 'x' } })));
    expect(explicit.attributes['audit.error.message']).toBe('mine');
  });

  it('computes the duration from start and end unless audit.duration_ms says otherwise', () => {
    expect(rowOf(spanToRow(decodedSpan({}))).durationMs).toBe(50);
    expect(rowOf(spanToRow(decodedSpan({}, { endTimeUnixNano: '1700000000123457789' }))).durationMs).toBe(0.001);
    expect(rowOf(spanToRow(decodedSpan({ 'audit.duration_ms': 7 }))).durationMs).toBe(7);
    expect(rowOf(spanToRow(decodedSpan({}, { endTimeUnixNano: '0' }))).durationMs).toBeNull();
  });

  it('applies the same checks as log records', () => {
    expect(reasonOf(spanToRow(decodedSpan({}, { traceId: '' })))).toMatch(/^missing or invalid trace id/);
    expect(reasonOf(spanToRow(decodedSpan({}, { startTimeUnixNano: '0' })))).toBe(
      'missing timestamp: startTimeUnixNano "0" is zero or invalid',
    );
    expect(reasonOf(spanToRow(decodedSpan({ 'audit.action': 3 })))).toBe('audit.action has type int; expected a string');
    expect(reasonOf(spanToRow(decodedSpan({ 'audit.actor.type': 'bot' })))).toBe(
      'audit.actor.type "bot" is not one of user, service, anonymous',
    );
    expect(sanitizedOf(spanToRow(decodedSpan({ 'audit.resource.id': 'x\u0000' })))).toMatchObject({
      row: { resourceId: 'x\uFFFD' },
      flagged: ['resource_id'],
      reason: 'sanitized: audit.resource.id: NUL replaced',
    });
  });
});

// ---------------------------------------------------------------------------
// nanosToIso
// ---------------------------------------------------------------------------

describe('nanosToIso', () => {
  it('formats with microseconds, truncating nanoseconds', () => {
    expect(nanosToIso('1700000000123456789')).toBe('2023-11-14T22:13:20.123456Z');
    expect(nanosToIso('1700000000123456999')).toBe('2023-11-14T22:13:20.123456Z');
    expect(nanosToIso('1700000000000000000')).toBe('2023-11-14T22:13:20.000000Z');
  });

  it('handles the start of the epoch', () => {
    expect(nanosToIso('1')).toBe('1970-01-01T00:00:00.000000Z');
    expect(nanosToIso('1000')).toBe('1970-01-01T00:00:00.000001Z');
    expect(nanosToIso('86400000000000')).toBe('1970-01-02T00:00:00.000000Z');
  });

  it('handles the largest OTLP timestamp and the end of year 9999', () => {
    expect(nanosToIso('18446744073709551615')).toBe('2554-07-21T23:34:33.709551Z');
    expect(nanosToIso('253402300799999999999')).toBe('9999-12-31T23:59:59.999999Z');
  });

  it('returns undefined for zero, invalid input, year 10000 and beyond', () => {
    for (const ns of ['0', '000', '', '-1', '1.5', '1e18', ' 1', 'abc', '253402300800000000000', '9'.repeat(40)]) {
      expect(nanosToIso(ns), ns).toBeUndefined();
    }
  });
});

describe('records sharing one decoded resource', () => {
  const rec = (resource: Record<string, unknown>, i: number): DecodedLogRecord => ({
    resource,
    scope: { name: 'otel-audit', version: '', attributes: {} },
    timeUnixNano: START_NS,
    observedTimeUnixNano: '0',
    severityNumber: 9,
    severityText: '',
    body: null,
    attributes: { 'audit.action': 'x.read', 'audit.resource.id': String(i) },
    droppedAttributesCount: 0,
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    eventName: 'audit',
    flags: 1,
  });

  it('give every record the same cleaned resource attributes, and flag each when the resource was sanitised', () => {
    const good = { 'service.name': 'svc', 'host.name': 'h1', region: 'eu' };
    const rows = [0, 1, 2].map((i) => logRecordToRow(rec(good, i)));
    for (const out of rows) {
      expect(out.kind).toBe('row');
      if (out.kind === 'row') {
        expect(out.row.serviceName).toBe('svc');
        expect(out.row.attributes['resource']).toEqual({ 'host.name': 'h1', region: 'eu' });
      }
    }
    const bad = { 'service.name': 'svc', 'host.name': 'h\u00001' };
    for (const i of [0, 1]) {
      const out = sanitizedOf(logRecordToRow(rec(bad, i)));
      expect(out.row.attributes['resource']).toEqual({ 'host.name': 'h\uFFFD1' });
      expect(out.flagged).toEqual(['attributes']);
      expect(out.reason).toBe('sanitized: resource attribute host.name: NUL replaced');
    }
    // Tighter limits are checked again, not served from what was checked with looser ones.
    const long = { 'service.name': 'svc', note: 'n'.repeat(300) };
    expect(logRecordToRow(rec(long, 0))).not.toHaveProperty('sanitized');
    expect(sanitizedOf(logRecordToRow(rec(long, 1), { maxValueBytes: 100, maxRecordBytes: 1_048_576 })).flagged).toEqual(['attributes']);
  });
});
