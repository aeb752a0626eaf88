import { describe, expect, it } from 'vitest';
import type { DecodedSpan, DecodedSpanEvent } from '../../src/otlp/decoded-types.js';
import { fitRecord } from '../../src/sink/record-size.js';
import { checkSpanId, checkTime, checkTraceId, RowError } from '../../src/sink/row-checks.js';
import type { AuditRow } from '../../src/sink/row.js';
import { Sanitizer } from '../../src/sink/sanitizer.js';
import { spanDurationMs, spanErrorMessage } from '../../src/sink/span-fields.js';
import { escapedCopy, jsonScalar, NOT_SCALAR } from '../../src/sink/storable.js';
import { DEFAULT_LIMITS, MAX_JSON_DEPTH } from '../../src/sink/transform-limits.js';

const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof RowError) return err.message;
    throw err;
  }
  throw new Error('expected a RowError');
};

describe('row checks', () => {
  it('checkTime takes the first valid timestamp, and names every one when none is', () => {
    expect(checkTime({ a: '0', b: '1700000000123456789' })).toBe('2023-11-14T22:13:20.123456Z');
    expect(reasonOf(() => checkTime({ a: '0', b: 'x' }))).toBe('missing timestamp: a "0" and b "x" are zero or invalid');
    expect(reasonOf(() => checkTime({ start: '' }))).toBe('missing timestamp: start "" is zero or invalid');
  });

  it('trace and span ids are lowercase hex of their length, not all zero', () => {
    expect(checkTraceId('4BF92F3577B34DA6A3CE929D0E0E4736')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(checkSpanId('00f067aa0ba902b7')).toBe('00f067aa0ba902b7');
    expect(reasonOf(() => checkSpanId('0'.repeat(16)))).toBe('missing or invalid span id (expected 16 hex digits, not all zero; got "0000000000000000")');
    expect(reasonOf(() => checkTraceId('00f067aa0ba902b7'))).toContain('expected 32 hex digits');
    expect(reasonOf(() => checkTraceId(''))).toContain('got none');
    expect(reasonOf(() => checkTraceId(7))).toContain('got int');
  });
});

describe('storable values', () => {
  it('jsonScalar gives the JSON form of scalars other than strings', () => {
    expect([1.5, Number.NaN, -Infinity, true, null, undefined, 12n].map(jsonScalar)).toEqual([1.5, 'NaN', '-Infinity', true, null, null, '12']);
    expect(jsonScalar(new Uint8Array([1, 2, 255]))).toBe('AQL/');
    for (const v of ['s', [], {}]) expect(jsonScalar(v)).toBe(NOT_SCALAR);
  });

  it('escapedCopy escapes what jsonb refuses and cuts nesting, flagging nothing', () => {
    expect(escapedCopy({ 'k\u0000': ['a\uD800', 5n, Number.POSITIVE_INFINITY] })).toEqual({ 'k\\u0000': ['a\\ud800', '5', 'Infinity'] });
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_JSON_DEPTH * 2 + 1; i++) deep = [deep];
    expect(JSON.stringify(escapedCopy(deep))).toContain('"[nested too deep]"');
  });
});

describe('Sanitizer', () => {
  it('makes strings storable and notes each alteration on its column', () => {
    const s = new Sanitizer({ maxValueBytes: 80, maxRecordBytes: DEFAULT_LIMITS.maxRecordBytes });
    expect(s.storable('ok', 'f', 'c')).toBe('ok');
    expect(s.sanitization({})).toBeUndefined();
    expect(s.storable('a\u0000b', 'path', 'url_path')).toBe('a\uFFFDb');
    expect(s.storable('x'.repeat(100), 'agent', 'user_agent')).toMatch(/^x+…\[cut: 100 bytes, sha256 [0-9a-f]{16}\]$/);
    expect(s.alteredColumns()).toEqual(['url_path', 'user_agent']);
    expect(s.sanitization({ raw: 'a\u0000b' })).toEqual({
      reason: 'sanitized: path: NUL replaced; agent: 100 bytes, cut to 80',
      record: { raw: 'a\\u0000b' },
    });
  });

  it('clean copies JSON values storably and refuses what has no JSON form', () => {
    const s = new Sanitizer(DEFAULT_LIMITS);
    expect(s.clean({ 'k\uD800': [1, 'v\u0000'] }, 'request', 'request')).toEqual({ 'k\uFFFD': [1, 'v\uFFFD'] });
    expect(s.notesSince(0)).toEqual(['key "k\\ud800" in request: unpaired surrogate replaced', 'request["k\\ud800"][1]: NUL replaced']);
    expect(reasonOf(() => s.clean(() => 1, 'x', 'attributes'))).toBe('x has type function, which cannot be stored');
  });
});

describe('fitRecord', () => {
  const row = (request: unknown): AuditRow => ({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    occurredAt: '2026-01-01T00:00:00.000000Z',
    serviceName: 'svc',
    module: null,
    actorId: null,
    actorName: null,
    actorType: 'anonymous',
    tenantId: null,
    action: 'a',
    resourceType: null,
    resourceId: null,
    outcome: 'success',
    statusCode: null,
    httpMethod: null,
    httpRoute: null,
    urlPath: null,
    clientIp: null,
    userAgent: null,
    durationMs: null,
    level: null,
    request,
    changeBefore: null,
    changeAfter: null,
    attributes: { scope: { name: 's' } },
    emitterId: null,
    emitterSeq: null,
  });

  it('leaves a row within the limit as it is', () => {
    const s = new Sanitizer(DEFAULT_LIMITS);
    const r = row({ q: 1 });
    expect(fitRecord(r, s).request).toEqual({ q: 1 });
    expect(s.alteredColumns()).toEqual([]);
  });

  it('cuts the largest JSON value first, and refuses a row that cannot fit', () => {
    const s = new Sanitizer({ maxValueBytes: DEFAULT_LIMITS.maxValueBytes, maxRecordBytes: 900 });
    const r = fitRecord(row({ q: 'x'.repeat(1000) }), s);
    expect(r.request).toMatch(/^\[cut: \d+ bytes as JSON, sha256 [0-9a-f]{16}\]$/);
    expect(s.alteredColumns()).toEqual(['request']);
    const tiny = new Sanitizer({ maxValueBytes: DEFAULT_LIMITS.maxValueBytes, maxRecordBytes: 10 });
    expect(reasonOf(() => fitRecord(row(null), tiny))).toMatch(/^record is \d+ bytes as JSON even with its JSON values cut; the limit is 10$/);
  });
});

describe('span fields', () => {
  const span = (over: Partial<DecodedSpan>): DecodedSpan => ({ events: [], status: { code: 0, message: '' }, ...over }) as DecodedSpan;

  it('spanDurationMs is end minus start in ms, null when either is invalid or end is before start', () => {
    expect(spanDurationMs('1000000', '3500000')).toBe(2.5);
    expect(spanDurationMs('0', '5')).toBeNull();
    expect(spanDurationMs('5000', '4000')).toBeNull();
    expect(spanDurationMs('x', '4000')).toBeNull();
  });

  it('spanErrorMessage prefers the exception event\'s message over the status message', () => {
    const exception: DecodedSpanEvent = { timeUnixNano: '1', name: 'exception', attributes: { 'exception.message': 'boom' }, droppedAttributesCount: 0 };
    expect(spanErrorMessage(span({ events: [exception], status: { code: 2, message: 'status' } }))).toBe('boom');
    expect(spanErrorMessage(span({ status: { code: 2, message: 'status' } }))).toBe('status');
    expect(spanErrorMessage(span({}))).toBeUndefined();
  });
});
