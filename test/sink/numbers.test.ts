import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres');
});
afterAll(async () => {
  await t?.stop();
});

const NOW_NS = (BigInt(Date.now()) * 1_000_000n).toString();
const hex = (n: number): string => randomBytes(n).toString('hex');

/** An OTLP/JSON audit log record tagged with `case`, with `patch` applied. */
function jsonRecord(tag: string, patch: Record<string, unknown> = {}, extraAttrs: unknown[] = []): Record<string, unknown> {
  return {
    timeUnixNano: NOW_NS,
    traceId: hex(16),
    spanId: hex(8),
    eventName: 'audit',
    attributes: [
      { key: 'audit.action', value: { stringValue: 'number.check' } },
      { key: 'audit.resource.id', value: { stringValue: tag } },
      ...extraAttrs,
    ],
    ...patch,
  };
}

async function postJson(path: '/v1/logs' | '/v1/traces', body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.httpEndpoint}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function stored(tag: string): Promise<number> {
  return (await t.rows(`resource_id = '${tag}'`)).length;
}

async function rejectedFor(tag: string): Promise<{ reason: string; record: unknown }[]> {
  const res = await t.sink.db.query<{ reason: string; record: unknown }>(
    `SELECT reason, record FROM audit.rejected WHERE convert_from(raw, 'UTF8') LIKE '%' || $1 || '%' ORDER BY id`,
    [`"${tag}"`],
  );
  return res.rows;
}

describe('OTLP/JSON numeric fields', () => {
  const bad: [string, Record<string, unknown>, unknown[], RegExp][] = [
    ['t-minus-one', { timeUnixNano: '-1' }, [], /^timeUnixNano "-1" is not an unsigned 64-bit integer$/],
    ['t-2pow64', { timeUnixNano: '99999999999999999999' }, [], /^timeUnixNano "99999999999999999999" is not an unsigned 64-bit integer$/],
    ['t-fraction', { timeUnixNano: '1796130925000000000.5' }, [], /^timeUnixNano "1796130925000000000\.5" is not/],
    ['t-letters', { timeUnixNano: '12abc' }, [], /^timeUnixNano "12abc" is not/],
    ['t-exponent', { timeUnixNano: '1e30' }, [], /^timeUnixNano "1e30" is not/],
    ['t-number-huge', { timeUnixNano: 1e30 }, [], /^timeUnixNano 1e\+30 is not/],
    ['t-number-unsafe', { timeUnixNano: 1.7e18 }, [], /^timeUnixNano 1700000000000000000 is not/],
    ['observed', { timeUnixNano: '0', observedTimeUnixNano: '-5' }, [], /^observedTimeUnixNano "-5" is not/],
    ['severity', { severityNumber: 99 }, [], /^severityNumber 99 is not an integer from 0 to 24$/],
    ['severity-text', { severityNumber: 'loud' }, [], /^severityNumber "loud" is not/],
    ['flags', { flags: 4294967296 }, [], /^flags 4294967296 is not an unsigned 32-bit integer$/],
    ['dropped', { droppedAttributesCount: -1 }, [], /^droppedAttributesCount -1 is not/],
    ['int-overflow', {}, [{ key: 'audit.meta.n', value: { intValue: '9223372036854775808' } }], /^attribute "audit\.meta\.n" intValue "9223372036854775808" is not a signed 64-bit integer$/],
    ['int-exponent', {}, [{ key: 'audit.meta.n', value: { intValue: '1e3' } }], /^attribute "audit\.meta\.n" intValue "1e3" is not/],
    ['int-fraction', {}, [{ key: 'audit.meta.n', value: { intValue: 1.5 } }], /^attribute "audit\.meta\.n" intValue 1\.5 is not/],
    ['double-text', {}, [{ key: 'audit.meta.d', value: { doubleValue: 'abc' } }], /^attribute "audit\.meta\.d" doubleValue "abc" is not a number$/],
    ['nested', {}, [{ key: 'audit.meta.m', value: { kvlistValue: { values: [{ key: 'k', value: { arrayValue: { values: [{ intValue: 'x' }] } } }] } } }], /^attribute "audit\.meta\.m"\."k"\[0\] intValue "x" is not/],
  ];

  it('a value out of its field\'s range refuses that record (partial success naming field and value) and keeps it in audit.rejected', async () => {
    const good = [
      jsonRecord('ok-plain'),
      jsonRecord('ok-limits', { severityNumber: 'SEVERITY_NUMBER_INFO', flags: 4294967295, droppedAttributesCount: '7' }, [
        { key: 'audit.meta.min', value: { intValue: '-9223372036854775808' } },
        { key: 'audit.meta.safe', value: { intValue: 9007199254740991 } },
        { key: 'audit.meta.nan', value: { doubleValue: 'NaN' } },
        { key: 'audit.meta.e', value: { doubleValue: '1.5e3' } },
      ]),
    ];
    const records = [...good, ...bad.map(([tag, patch, attrs]) => jsonRecord(tag, patch, attrs))];
    const res = await postJson('/v1/logs', { resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });
    expect(res.status).toBe(200);
    const partial = res.json['partialSuccess'] as { rejectedLogRecords: string; errorMessage: string };
    expect(partial.rejectedLogRecords).toBe(String(bad.length));
    expect(partial.errorMessage).toContain('timeUnixNano "-1" is not an unsigned 64-bit integer');

    expect(await stored('ok-plain')).toBe(1);
    const [limits] = await t.rows(`resource_id = 'ok-limits'`);
    expect((limits!['attributes'] as Record<string, unknown>)['audit.meta.min']).toBe('-9223372036854775808');
    expect((limits!['attributes'] as Record<string, unknown>)['audit.meta.nan']).toBe('NaN');
    for (const [tag, patch, , reason] of bad) {
      expect(await stored(tag), tag).toBe(0);
      const kept = await rejectedFor(tag);
      expect(kept, tag).toHaveLength(1);
      expect(kept[0]!.reason, tag).toMatch(reason);
      // Kept as it arrived, not as it would have been converted.
      for (const [k, v] of Object.entries(patch)) expect((kept[0]!.record as Record<string, unknown>)[k], tag).toEqual(v);
    }
  });

  it('a bad number in the resource refuses each record of that resource', async () => {
    const res = await postJson('/v1/logs', {
      resourceLogs: [
        { resource: { attributes: [{ key: 'host.cpus', value: { intValue: '-' } }] }, scopeLogs: [{ logRecords: [jsonRecord('res-1'), jsonRecord('res-2')] }] },
        { scopeLogs: [{ logRecords: [jsonRecord('res-ok')] }] },
      ],
    });
    expect((res.json['partialSuccess'] as { rejectedLogRecords: string }).rejectedLogRecords).toBe('2');
    expect(await stored('res-ok')).toBe(1);
    for (const tag of ['res-1', 'res-2']) {
      expect(await stored(tag)).toBe(0);
      expect((await rejectedFor(tag))[0]?.reason).toBe('resource attribute "host.cpus" intValue "-" is not a signed 64-bit integer');
    }
  });

  it('spans: audit spans with bad times are refused; other spans stay ignored', async () => {
    const span = (tag: string, start: unknown, action = true): Record<string, unknown> => ({
      traceId: hex(16), spanId: hex(8), name: 'GET /x', kind: 2, startTimeUnixNano: start, endTimeUnixNano: NOW_NS,
      attributes: action ? [{ key: 'audit.action', value: { stringValue: 'span.check' } }, { key: 'audit.resource.id', value: { stringValue: tag } }] : [],
    });
    const res = await postJson('/v1/traces', { resourceSpans: [{ scopeSpans: [{ spans: [span('span-bad', '-1'), span('span-plain', '12abc', false), span('span-ok', NOW_NS)] }] }] });
    expect(res.status).toBe(200);
    expect(res.json['partialSuccess']).toMatchObject({ rejectedSpans: '1' });
    expect(await stored('span-ok')).toBe(1);
    expect(await stored('span-bad')).toBe(0);
    expect((await rejectedFor('span-bad'))[0]?.reason).toBe('startTimeUnixNano "-1" is not an unsigned 64-bit integer');
  });
});

describe('OTLP/protobuf numeric fields', () => {
  /** LogRecord bytes: time, trace and span id, event name, the given extra fields (already encoded). */
  function wireRecord(tag: string, extra: (w: protobuf.Writer) => void): Uint8Array {
    const kv = (key: string, anyValue: Uint8Array): Uint8Array => protobuf.Writer.create().uint32(10).string(key).uint32(18).bytes(anyValue).finish();
    const str = (s: string): Uint8Array => protobuf.Writer.create().uint32(10).string(s).finish();
    const w = protobuf.Writer.create();
    w.uint32(9).fixed64(NOW_NS);
    w.uint32(50).bytes(kv('audit.action', str('number.check')));
    w.uint32(50).bytes(kv('audit.resource.id', str(tag)));
    w.uint32(74).bytes(Buffer.from(hex(16), 'hex'));
    w.uint32(82).bytes(Buffer.from(hex(8), 'hex'));
    w.uint32(98).string('audit');
    extra(w);
    return w.finish();
  }

  async function postWire(records: Uint8Array[]): Promise<{ status: number; partial: { rejectedLogRecords?: unknown; errorMessage?: string } | undefined }> {
    const scope = protobuf.Writer.create();
    for (const r of records) scope.uint32(18).bytes(r);
    const rl = protobuf.Writer.create().uint32(18).bytes(scope.finish()).finish();
    const body = Buffer.from(protobuf.Writer.create().uint32(10).bytes(rl).finish());
    const res = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    const resp = loadOtlpSchema().exportLogsServiceResponse.decode(Buffer.from(await res.arrayBuffer())) as unknown as { partialSuccess?: { rejectedLogRecords?: unknown; errorMessage?: string } };
    return { status: res.status, partial: resp.partialSuccess };
  }

  it('varints beyond their field (int64 over 64 bits, uint32 over 32, severity over 24) refuse the record instead of being truncated', async () => {
    // intValue: a 10-byte varint whose last byte carries bits 64..69.
    const overflow = Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    const intKv = protobuf.Writer.create().uint32(10).string('audit.meta.n').uint32(18).bytes(overflow).finish();
    const records = [
      wireRecord('w-ok', () => undefined),
      wireRecord('w-int', (w) => w.uint32(50).bytes(intKv)),
      wireRecord('w-dropped', (w) => w.uint32(56).uint64('4294967296')),
      wireRecord('w-severity', (w) => w.uint32(16).int32(99)),
      wireRecord('w-severity-neg', (w) => w.uint32(16).int32(-1)),
    ];
    const res = await postWire(records);
    expect(res.status).toBe(200);
    expect(Number(res.partial?.rejectedLogRecords)).toBe(4);
    expect(await stored('w-ok')).toBe(1);
    for (const tag of ['w-int', 'w-dropped', 'w-severity', 'w-severity-neg']) expect(await stored(tag), tag).toBe(0);
    expect((await rejectedFor('w-int'))[0]?.reason).toMatch(/^attribute "audit\.meta\.n" intValue "varint of \d+" is not a signed 64-bit integer$/);
    expect((await rejectedFor('w-dropped'))[0]?.reason).toBe('droppedAttributesCount 4294967296 is not an unsigned 32-bit integer');
    expect((await rejectedFor('w-severity'))[0]?.reason).toBe('severityNumber 99 is not an integer from 0 to 24');
  });

  it('protobuf-encoded requests with in-range values are unaffected', async () => {
    const { exportLogsServiceRequest } = loadOtlpSchema();
    const body = encodeMessage(exportLogsServiceRequest, {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: NOW_NS, severityNumber: 24, droppedAttributesCount: 4294967295, flags: 1, traceId: randomBytes(16), spanId: randomBytes(8), eventName: 'audit', attributes: [{ key: 'audit.action', value: { stringValue: 'n.ok' } }, { key: 'audit.resource.id', value: { stringValue: 'w-max' } }, { key: 'audit.meta.i', value: { intValue: '-9223372036854775808' } }] }] }] }],
    });
    const res = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(body) });
    expect(res.status).toBe(200);
    const [row] = await t.rows(`resource_id = 'w-max'`);
    expect((row!['attributes'] as Record<string, unknown>)['audit.meta.i']).toBe('-9223372036854775808');
  });

  it('protobuf spans: counts over 32 bits, int64 over 64 bits and unknown enums refuse the audit span (never truncated)', async () => {
    const { root } = loadOtlpSchema();
    const spanType = root.lookupType('opentelemetry.proto.trace.v1.Span');
    const span = (tag: string, action: boolean, extra: number[]): Buffer =>
      Buffer.concat([
        Buffer.from(encodeMessage(spanType, {
          traceId: randomBytes(16), spanId: randomBytes(8), name: 'GET /n', kind: 2, startTimeUnixNano: NOW_NS, endTimeUnixNano: NOW_NS,
          attributes: action ? [{ key: 'audit.action', value: { stringValue: 'span.check' } }, { key: 'audit.resource.id', value: { stringValue: tag } }] : [],
        })),
        Buffer.from(extra),
      ]);
    // Span field 10 (dropped_attributes_count) = 2^32; field 6 (kind) = 9; field 9 attribute with a 70-bit intValue.
    const dropped = [0x50, 0x80, 0x80, 0x80, 0x80, 0x10];
    const kind = [0x30, 0x09];
    const anyValue = [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    const kv = [0x0a, 0x01, 0x6e, 0x12, anyValue.length, ...anyValue];
    const attr = [0x4a, kv.length, ...kv];
    const spans = [span('ps-ok', true, []), span('ps-dropped', true, dropped), span('ps-kind', true, kind), span('ps-int', true, attr), span('ps-plain', false, dropped)];
    const scope = protobuf.Writer.create();
    for (const sp of spans) scope.uint32(18).bytes(sp);
    const rs = protobuf.Writer.create().uint32(18).bytes(scope.finish()).finish();
    const body = Buffer.from(protobuf.Writer.create().uint32(10).bytes(rs).finish());
    const res = await fetch(`${t.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    expect(res.status).toBe(200);
    const resp = loadOtlpSchema().exportTraceServiceResponse.decode(Buffer.from(await res.arrayBuffer())) as unknown as { partialSuccess?: { rejectedSpans?: unknown } };
    expect(Number(resp.partialSuccess?.rejectedSpans)).toBe(3);
    expect(await stored('ps-ok')).toBe(1);
    for (const tag of ['ps-dropped', 'ps-kind', 'ps-int']) expect(await stored(tag), tag).toBe(0);
    expect((await rejectedFor('ps-dropped'))[0]?.reason).toBe('droppedAttributesCount 4294967296 is not an unsigned 32-bit integer');
    expect((await rejectedFor('ps-kind'))[0]?.reason).toBe('kind 9 is not an integer from 0 to 5');
    expect((await rejectedFor('ps-int'))[0]?.reason).toMatch(/^attribute "n" intValue "varint of \d+" is not a signed 64-bit integer$/);
  });
});
