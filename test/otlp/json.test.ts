import { JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { IConversionOptions, Type } from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { randomLogsRequest, randomTraceRequest } from '../helpers/otlp-random.js';
import { decodeLogsJson, decodeTraceJson } from '../../src/otlp/json.js';
import { decodeLogsRequest, decodeTraceRequest } from '../../src/otlp/protobuf-requests.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { decodeLogsWire } from '../../src/otlp/wire-logs.js';
import { decodeTracesWire } from '../../src/otlp/wire-traces.js';

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

/** The OTLP/JSON form of protobuf bytes: protobuf's JSON mapping with ids in hex, as OTLP/JSON has them. */
function otlpJson(type: Type, bytes: Uint8Array, options: IConversionOptions, tweak: (key: string, value: unknown) => unknown = (_k, v) => v): string {
  const plain = type.toObject(type.decode(bytes), { json: true, bytes: String, ...options });
  return JSON.stringify(plain, (key, value: unknown) => (ID_FIELDS.has(key) && typeof value === 'string' ? Buffer.from(value, 'base64').toString('hex') : tweak(key, value)));
}

/** The variations OTLP/JSON allows: int64 as strings or numbers, enums as numbers or names, hex in either case, defaults written or left out. */
const VARIANTS: readonly { name: string; options: IConversionOptions; tweak?: (key: string, value: unknown) => unknown }[] = [
  { name: 'int64 as strings, enums as numbers', options: { longs: String, enums: Number } },
  { name: 'enums as names, defaults written', options: { longs: String, enums: String, defaults: true, arrays: true } },
  {
    name: 'safe int64 as numbers, upper-case ids',
    options: { longs: String, enums: Number },
    tweak: (key, value) => {
      if (typeof value !== 'string') return value;
      if (key === 'intValue' || key.endsWith('UnixNano')) return Number.isSafeInteger(Number(value)) ? Number(value) : value;
      return value;
    },
  },
];

function upperIds(text: string): string {
  return text.replace(/"(traceId|spanId|parentSpanId)":"([0-9a-f]*)"/g, (_m, k: string, hex: string) => `"${k}":"${hex.toUpperCase()}"`);
}

describe('OTLP/JSON decoding without a schema', () => {
  it('logs: the same records as the protobuf decoders, over 500 generated requests in every variation', () => {
    const r = rng(31);
    const { exportLogsServiceRequest: type } = loadOtlpSchema();
    for (let i = 0; i < 500; i++) {
      const bytes = randomLogsRequest(r);
      const expected = decodeLogsWire(bytes);
      expect(expected).toEqual(decodeLogsRequest(bytes));
      for (const v of VARIANTS) {
        const text = otlpJson(type, bytes, v.options, v.tweak);
        expect(decodeLogsJson(i % 2 === 0 ? text : upperIds(text)), v.name).toEqual(expected);
      }
    }
  });

  it('traces: the same spans as the protobuf decoders, over 500 generated requests in every variation', () => {
    const r = rng(37);
    const { exportTraceServiceRequest: type } = loadOtlpSchema();
    for (let i = 0; i < 500; i++) {
      const bytes = randomTraceRequest(r);
      const expected = decodeTracesWire(bytes);
      expect(expected).toEqual(decodeTraceRequest(bytes));
      for (const v of VARIANTS) {
        const text = otlpJson(type, bytes, v.options, v.tweak);
        expect(decodeTraceJson(i % 2 === 0 ? text : upperIds(text)), v.name).toEqual(expected);
      }
    }
  });

  it('JsonLogsSerializer and ProtobufLogsSerializer of the same records decode alike', async () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', n: 3 }), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    const logger = provider.getLogger('otel-audit', '0.1.0');
    for (let i = 0; i < 30; i++) {
      logger.emit({
        context: trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(31) + (i % 10), spanId: 'b'.repeat(16), traceFlags: 1 }),
        eventName: i % 3 === 0 ? 'audit' : undefined,
        severityNumber: i % 25,
        severityText: 'INFO',
        body: i % 4 === 0 ? 'text' : { action: 'x.read', bytes: new Uint8Array([1, 2, 255]), nested: { list: [1, 'two', true, null, -(2 ** 53) + 1, 1.5] } },
        attributes: { 'audit.action': 'x.read', 'audit.emitter.seq': i + 1, safe: 2 ** 53 - 1, f: 1.5, ok: true, list: ['a', 'b'] },
      });
    }
    await provider.forceFlush();
    const records = memory.getFinishedLogRecords();
    const json = new TextDecoder().decode(JsonLogsSerializer.serializeRequest(records));
    const fromJson = decodeLogsJson(json);
    expect(fromJson).toHaveLength(30);
    expect(fromJson).toEqual(decodeLogsWire(ProtobufLogsSerializer.serializeRequest(records)!));
    expect(fromJson.every((r) => r.invalid === undefined)).toBe(true);
  });

  it('JsonTraceSerializer and ProtobufTraceSerializer of the same spans decode alike, every attribute kind included', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc' }), spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    const tracer = provider.getTracer('json-test', '1.0.0');
    const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    for (let i = 0; i < 30; i++) {
      const span = tracer.startSpan(`op ${i}`, {
        kind: [SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL][i % 3],
        attributes: { 'audit.action': 'x.read', n: i, f: 0.25, ok: false, list: ['a'] },
        links: i % 5 === 0 ? [{ context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE }, attributes: { why: 'x' } }] : [],
      }, i % 2 === 0 ? parent : ROOT_CONTEXT);
      if (i % 4 === 0) span.recordException(new Error('boom'));
      span.setStatus({ code: i % 3 === 0 ? SpanStatusCode.ERROR : SpanStatusCode.OK, message: i % 3 === 0 ? 'bad' : undefined });
      span.end();
    }
    await provider.forceFlush();
    const spans = memory.getFinishedSpans().map((s, i): ReadableSpan => ({
      ...s,
      // The serializers' AnyValue mapping takes maps and bytes, which the SDK's API does not.
      attributes: { ...s.attributes, map: { a: i, b: [1, 'x'] }, bytes: new Uint8Array([0, 255, i]) } as unknown as Attributes,
      spanContext: () => s.spanContext(),
    }));
    const json = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    const fromJson = decodeTraceJson(json);
    expect(fromJson).toHaveLength(30);
    expect(fromJson).toEqual(decodeTracesWire(ProtobufTraceSerializer.serializeRequest(spans)!));
    expect(fromJson[0]!.attributes).toMatchObject({ map: { a: 0, b: [1, 'x'] }, bytes: 'AP8A' });
    expect(fromJson.every((s) => s.invalid === undefined)).toBe(true);
  });

  it('an integer beyond 2^53 written as a JSON number (as JsonTraceSerializer writes one) is refused, not rounded; as a string it decodes like protobuf', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    provider.getTracer('json-test').startSpan('big', { attributes: { big: 2 ** 60 } }).end();
    await provider.forceFlush();
    const spans = memory.getFinishedSpans();
    const json = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
    expect(json).toContain('"intValue":1152921504606847000');
    expect(decodeTraceJson(json)[0]!.invalid?.reason).toBe('attribute "big" intValue 1152921504606847000 is not a signed 64-bit integer');
    const asString = decodeTraceJson(json.replace('"intValue":1152921504606847000', '"intValue":"1152921504606846976"'));
    expect(asString).toEqual(decodeTracesWire(ProtobufTraceSerializer.serializeRequest(spans)!));
  });

  it('unknown fields are ignored; malformed structure is an error that names it', () => {
    const span = { traceId: 'AB'.repeat(16), spanId: '01'.repeat(8), name: 'x', kind: 'SPAN_KIND_SERVER', status: { code: 'STATUS_CODE_ERROR' }, futureField: { a: 1 } };
    const ok = decodeTraceJson(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span], other: 1 }], resource: { attributes: [], entityRefs: [] } }], extra: true }));
    expect(ok[0]).toMatchObject({ traceId: 'ab'.repeat(16), kind: 2, status: { code: 2, message: '' }, resource: {} });
    const bad = (req: unknown): (() => unknown) => () => decodeTraceJson(JSON.stringify(req));
    expect(() => decodeTraceJson('[]')).toThrow(/not a JSON object/);
    expect(() => decodeTraceJson('{')).toThrow();
    expect(bad({ resourceSpans: {} })).toThrow(/resourceSpans must be an array/);
    expect(bad({ resourceSpans: [1] })).toThrow(/resourceSpans must hold objects/);
    expect(bad({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz' }] }] }] })).toThrow(/traceId must be a hex string/);
    expect(bad({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'b', value: { bytesValue: '!!' } }] }] }] }] })).toThrow(/bytesValue must be base64/);
    expect(bad({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'a', value: { arrayValue: [] } }] }] }] }] })).toThrow(/arrayValue must be an object/);
    expect(bad({ resourceSpans: [{ resource: 'r', scopeSpans: [] }] })).toThrow(/resource must be an object/);
    let deep: unknown = { stringValue: 'x' };
    for (let i = 0; i < 600; i++) deep = { arrayValue: { values: [deep] } };
    expect(bad({ resourceSpans: [{ scopeSpans: [{ spans: [{ attributes: [{ key: 'd', value: deep }] }] }] }] })).toThrow(/nested too deeply/);
    const polluted = decodeLogsJson(JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: { boolValue: true } }] } } }] }] }] }] }));
    expect(Object.getPrototypeOf(polluted[0]!.attributes)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
