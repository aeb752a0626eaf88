import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { createTraceState, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { randomId, randomTraceRequest as randomRequest } from '../helpers/otlp-random.js';
import { decodeTraceRequest } from '../../src/otlp/protobuf-requests.js';
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { decodeTracesWire } from '../../src/otlp/wire-traces.js';

/** A request with unknown fields of every wire type at every level (request, groups, span, event, link, status, KeyValue, AnyValue). */
function withUnknownFields(): Uint8Array {
  const { root } = loadOtlpSchema();
  const unknown = Buffer.from([
    0xf8, 0x07, 0x2a, // field 127, varint 42
    0xf9, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, // field 127, i64
    0xfa, 0x07, 0x02, 0x68, 0x69, // field 127, len "hi"
    0xfd, 0x07, 1, 2, 3, 4, // field 127, i32
  ]);
  const enc = (type: string, value: Record<string, unknown>): Buffer => Buffer.concat([Buffer.from(encodeMessage(root.lookupType(type), value)), unknown]);
  const T = 'opentelemetry.proto.trace.v1';
  const C = 'opentelemetry.proto.common.v1';
  const w = (): protobuf.Writer => protobuf.Writer.create();
  const kv = enc(`${C}.KeyValue`, { key: 'k', value: { stringValue: 'v' } });
  const anyV = Buffer.concat([unknown, enc(`${C}.AnyValue`, { intValue: '7' })]);
  const kv2 = w().uint32(0x0a).string('n').uint32(0x12).bytes(anyV).finish();
  const event = Buffer.concat([enc(`${T}.Span.Event`, { name: 'exception', timeUnixNano: '5' }), w().uint32(0x1a).bytes(kv).finish()]);
  const link = enc(`${T}.Span.Link`, { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2), flags: 0x301 });
  const status = enc(`${T}.Status`, { code: 2, message: 'boom' });
  const span = Buffer.concat([
    enc(`${T}.Span`, { traceId: Buffer.alloc(16, 3), spanId: Buffer.alloc(8, 4), name: 'GET /x', kind: 2, startTimeUnixNano: '10', endTimeUnixNano: '20' }),
    w().uint32(0x4a).bytes(kv).uint32(0x4a).bytes(kv2).uint32(0x5a).bytes(event).uint32(0x6a).bytes(link).uint32(0x7a).bytes(status).finish(),
  ]);
  const scope = enc(`${C}.InstrumentationScope`, { name: 's', version: '1', attributes: [{ key: 'a', value: { boolValue: true } }] });
  const resource = enc('opentelemetry.proto.resource.v1.Resource', { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] });
  const scopeSpans = Buffer.concat([unknown, w().uint32(0x0a).bytes(scope).uint32(0x12).bytes(span).uint32(0x12).bytes(span).finish()]);
  // The resource after its scope spans: read first all the same.
  const resourceSpans = Buffer.concat([w().uint32(0x12).bytes(scopeSpans).finish(), unknown, w().uint32(0x0a).bytes(resource).finish()]);
  return Buffer.concat([unknown, w().uint32(0x0a).bytes(resourceSpans).finish(), unknown]);
}

/** Spans from the real SDK: every kind, status, remote parent, trace state, events and links. */
async function sdkSpans(count: number): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'svc', 'service.version': '1.2.3', 'host.cores': 8 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const r = rng(5);
  const tracer = provider.getTracer('wire-test', '2.0.0');
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: createTraceState('vendor=abc'),
  });
  const kinds = [SpanKind.INTERNAL, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER];
  for (let i = 0; i < count; i++) {
    const attributes: Attributes = {
      'audit.action': `thing.${['read', 'create', 'delete'][i % 3]}`,
      'http.response.status_code': 200 + (i % 5),
      ratio: r(),
      ok: i % 2 === 0,
      list: ['a', String(i)],
      nums: [i, i + 0.5],
      flags: [true, false],
      big: 2 ** 60,
      empty: '',
    };
    const span = tracer.startSpan(`op ${i}`, {
      kind: kinds[i % kinds.length], attributes,
      links: i % 4 === 0 ? [{ context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE }, attributes: { why: 'follows' } }] : [],
    }, i % 3 === 0 ? parent : ROOT_CONTEXT);
    if (i % 5 === 0) span.recordException(new Error(`boom ${i}`));
    if (i % 7 === 0) span.addEvent('plain');
    span.setStatus(i % 3 === 0 ? { code: SpanStatusCode.ERROR, message: 'bad' } : i % 3 === 1 ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.UNSET });
    span.end();
  }
  await provider.forceFlush();
  return memory.getFinishedSpans();
}

/** A span with attribute values the SDK's API does not take but the serializer writes: maps, bytes, nested lists, null. */
function withRichAttributes(span: ReadableSpan, i: number): ReadableSpan {
  const attributes = {
    ...span.attributes,
    map: { a: 1, b: { c: 'deep', d: [1, 'x', false] } },
    bytes: new Uint8Array([0, 1, 255, i & 0xff]),
    nested: [[1, 2], { k: 'v' }],
    nothing: null,
  } as unknown as Attributes; // the serializer's AnyValue mapping takes any value; the Attributes type does not say so
  return { ...span, attributes, spanContext: () => span.spanContext(), parentSpanContext: span.parentSpanContext } as ReadableSpan;
}

describe('decodeTracesWire', () => {
  it('decodes exactly like the schema path, over 2,000 generated requests', () => {
    const r = rng(17);
    for (let i = 0; i < 2000; i++) {
      const bytes = randomRequest(r);
      expect(decodeTracesWire(bytes)).toEqual(decodeTraceRequest(bytes));
    }
  });

  it('decodes what the official serializer writes exactly like the schema path, every attribute kind included', async () => {
    const spans = await sdkSpans(60);
    const rich = spans.map(withRichAttributes);
    for (const batch of [spans, rich]) {
      const bytes = ProtobufTraceSerializer.serializeRequest(batch)!;
      const fast = decodeTracesWire(bytes);
      expect(fast).toHaveLength(60);
      expect(fast).toEqual(decodeTraceRequest(bytes));
    }
    const [first] = decodeTracesWire(ProtobufTraceSerializer.serializeRequest(rich)!);
    expect(first!.attributes).toMatchObject({ map: { a: 1, b: { c: 'deep', d: [1, 'x', false] } }, bytes: 'AAH/AA==', nested: [[1, 2], { k: 'v' }], big: '1152921504606846976' });
    expect(first!.events[0]!.name).toBe('exception');
  });

  it('skips unknown fields at every level and reads the resource wherever it stands', () => {
    const bytes = withUnknownFields();
    const spans = decodeTracesWire(bytes);
    expect(spans).toEqual(decodeTraceRequest(bytes));
    expect(spans).toHaveLength(2);
    expect(spans[0]).toMatchObject({
      resource: { 'service.name': 'svc' }, scope: { name: 's', version: '1', attributes: { a: true } }, name: 'GET /x', kind: 2,
      attributes: { k: 'v', n: 7 }, status: { code: 2, message: 'boom' }, events: [{ name: 'exception', timeUnixNano: '5', attributes: { k: 'v' } }],
      links: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), flags: 0x301 }],
    });
  });

  it('varints beyond their field mark the span invalid with the field named', () => {
    const { root } = loadOtlpSchema();
    const spanType = root.lookupType('opentelemetry.proto.trace.v1.Span');
    const request = (extra: number[]): Uint8Array => {
      const span = Buffer.concat([Buffer.from(encodeMessage(spanType, { name: 'x', kind: 2 })), Buffer.from(extra)]);
      const scopeSpans = protobuf.Writer.create().uint32(0x12).bytes(span).finish();
      const rs = protobuf.Writer.create().uint32(0x12).bytes(scopeSpans).finish();
      return protobuf.Writer.create().uint32(0x0a).bytes(rs).finish();
    };
    const reason = (extra: number[]): string | undefined => decodeTracesWire(request(extra))[0]!.invalid?.reason;
    expect(reason([])).toBeUndefined();
    expect(reason([0x50, 0x80, 0x80, 0x80, 0x80, 0x10])).toBe('droppedAttributesCount 4294967296 is not an unsigned 32-bit integer');
    expect(reason([0x60, 0x80, 0x80, 0x80, 0x80, 0x10])).toBe('droppedEventsCount 4294967296 is not an unsigned 32-bit integer');
    expect(reason([0x30, 0x09])).toBe('kind 9 is not an integer from 0 to 5');
    expect(reason([0x7a, 0x02, 0x18, 0x03])).toBe('status.code 3 is not an integer from 0 to 2');
    const anyValue = [0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    const kv = [0x0a, 0x01, 0x6e, 0x12, anyValue.length, ...anyValue];
    expect(reason([0x4a, kv.length, ...kv])).toMatch(/^attribute "n" intValue "varint of \d+" is not a signed 64-bit integer$/);
    const event = [0x20, 0x80, 0x80, 0x80, 0x80, 0x10];
    expect(reason([0x5a, event.length, ...event])).toBe('events[0].droppedAttributesCount 4294967296 is not an unsigned 32-bit integer');
  });

  it('throws on truncated input, impossible wire types, deep nesting and invalid UTF-8; never pollutes prototypes', async () => {
    const bytes = ProtobufTraceSerializer.serializeRequest(await sdkSpans(3))!;
    // One ResourceSpans: every cut inside it leaves a length that runs past the end.
    for (let cut = 1; cut < bytes.length; cut++) expect(() => decodeTracesWire(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow();
    expect(() => decodeTracesWire(Buffer.from([0x0f, 0x01]))).toThrow(/wire type/);
    // A resource whose attribute runs past the resource's own length (into its neighbour's bytes).
    expect(() => decodeTracesWire(Buffer.from([0x0a, 0x06, 0x0a, 0x02, 0x0a, 0x02, 0x12, 0x00]))).toThrow(/Resource overran/);
    expect(() => decodeTracesWire(Buffer.from([0x0a, 0x08, 0x12, 0x06, 0x0a, 0x02, 0x1a, 0x02, 0x12, 0x00]))).toThrow(/InstrumentationScope overran/);
    let deep: Record<string, unknown> = { stringValue: 'x' };
    for (let i = 0; i < 40; i++) deep = { arrayValue: { values: [deep] } };
    const tooDeep = encodeMessage(loadOtlpSchema().exportTraceServiceRequest, { resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'd', value: deep }] }] }] }] });
    expect(() => decodeTracesWire(tooDeep)).toThrow(/nested too deeply/);
    const badUtf8 = Buffer.from(encodeMessage(loadOtlpSchema().exportTraceServiceRequest, { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'ab' }] }] }] }));
    badUtf8[badUtf8.length - 1] = 0xff;
    expect(() => decodeTracesWire(badUtf8)).toThrow(/UTF-8/);
    const polluted = encodeMessage(loadOtlpSchema().exportTraceServiceRequest, {
      resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: { boolValue: true } }] } } }] }] }] }],
    });
    const [span] = decodeTracesWire(polluted);
    expect(Object.getPrototypeOf(span!.attributes)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // Garbage: an error or some spans, never anything else.
    const r = rng(23);
    for (let i = 0; i < 2000; i++) {
      const junk = randomId(r, 1 + Math.floor(r() * 64));
      let result: unknown;
      try {
        result = decodeTracesWire(junk);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        continue;
      }
      expect(Array.isArray(result)).toBe(true);
    }
  });
});
