import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT_CONTEXT,
  SeverityNumber,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  createTraceState,
  trace,
  type HrTime,
  type SpanContext,
} from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { OTLP_PROTO_FILES, loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { OtlpSpanKind, OtlpStatusCode } from '../../src/otlp/enums.js';
import { decodeLogsRequest, decodeTraceRequest } from '../../src/otlp/protobuf-requests.js';
import { decodeMessage, encodeMessage } from '../../src/otlp/message-codec.js';
import { type DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const BYTES = new Uint8Array([0, 1, 127, 128, 254, 255]);
const BIG_INT = 2 ** 60; // an integer beyond Number.MAX_SAFE_INTEGER

/** Attributes covering every AnyValue kind, and the JS values they decode to. */
const ALL_KINDS_ATTRIBUTES = {
  'str': 'value',
  'str.empty': '',
  'str.unicode': 'héllo ✓ 日本',
  'bool.true': true,
  'bool.false': false,
  'int': 42,
  'int.zero': 0,
  'int.negative': -7,
  'int.big': BIG_INT,
  'int.min': -(2 ** 63),
  'double': 3.25,
  'double.negative': -0.5,
  'double.infinity': Infinity,
  'double.nan': NaN,
  'array.strings': ['a', 'b'],
  'array.mixed': [1, 'two', true, 2.5, [3], { k: 'v' }],
  'array.empty': [],
  'kvlist': { a: { b: [1, 2], c: 'd' }, e: false },
  'kvlist.empty': {},
  'bytes': BYTES,
  'empty': null,
};
const ALL_KINDS_DECODED = {
  'str': 'value',
  'str.empty': '',
  'str.unicode': 'héllo ✓ 日本',
  'bool.true': true,
  'bool.false': false,
  'int': 42,
  'int.zero': 0,
  'int.negative': -7,
  'int.big': '1152921504606846976',
  'int.min': '-9223372036854775808',
  'double': 3.25,
  'double.negative': -0.5,
  'double.infinity': Infinity,
  'double.nan': NaN,
  'array.strings': ['a', 'b'],
  'array.mixed': [1, 'two', true, 2.5, [3], { k: 'v' }],
  'array.empty': [],
  'kvlist': { a: { b: [1, 2], c: 'd' }, e: false },
  'kvlist.empty': {},
  'bytes': Buffer.from(BYTES).toString('base64'),
  'empty': null,
};

const AUDIT_BODY = {
  action: 'orders.read',
  outcome: 'success',
  request: { method: 'GET', path: '/orders/17', query: { limit: 10, tags: ['x', 'y'] } },
  durationMs: 12.5,
  digest: new Uint8Array([9, 8, 7]),
};
const AUDIT_BODY_DECODED = {
  action: 'orders.read',
  outcome: 'success',
  request: { method: 'GET', path: '/orders/17', query: { limit: 10, tags: ['x', 'y'] } },
  durationMs: 12.5,
  digest: Buffer.from([9, 8, 7]).toString('base64'),
};

function nanos(time: HrTime): string {
  return (BigInt(time[0]) * 1_000_000_000n + BigInt(time[1])).toString();
}

const resource = resourceFromAttributes({ 'service.name': 'schema-test', 'service.version': '1.2.3', 'host.cores': 8 });

/** Log records from a real LoggerProvider, plus hand-built ones for edge cases. */
function buildLogRecords(): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  const logger = provider.getLogger('otel-audit', '0.1.0');
  const spanContext: SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED };
  logger.emit({
    eventName: 'audit',
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: AUDIT_BODY,
    attributes: ALL_KINDS_ATTRIBUTES,
    context: trace.setSpanContext(ROOT_CONTEXT, spanContext),
  });
  logger.emit({
    severityNumber: SeverityNumber.WARN2,
    body: 'plain log line',
    attributes: { 'code.lineno': 3 },
    timestamp: new Date('2024-05-06T07:08:09.123Z'),
  });
  const handBuilt: ReadableLogRecord = {
    hrTime: [0, 0],
    hrTimeObserved: [1_700_000_000, 999_999_999],
    resource: resourceFromAttributes({ 'service.name': 'other-service' }),
    instrumentationScope: { name: '', version: undefined },
    attributes: {},
    droppedAttributesCount: 3,
    eventName: 'audit',
    spanContext: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE },
  };
  return [...memory.getFinishedLogRecords(), handBuilt];
}

/** Spans from a real TracerProvider: kinds, remote parent, events, links, statuses. */
async function buildSpans(): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const tracer = provider.getTracer('schema-test-tracer', '2.0.0', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });

  const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: createTraceState('vendor=abc,other=1'),
  });
  const linked: SpanContext = {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.NONE,
    traceState: createTraceState('k=v'),
  };
  const server = tracer.startSpan(
    'GET /orders/:id',
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'x.ratio': 0.5,
        'x.flag': true,
        'x.list': ['a', 'b'],
        'x.numbers': [1, 2, 3],
      },
      links: [{ context: linked, attributes: { 'link.reason': 'follows' } }],
    },
    remoteParent,
  );
  server.addEvent('audit.recorded', { 'audit.id': 'a-1', 'audit.count': 1 });
  server.addEvent('no-attributes');
  const client = tracer.startSpan('SELECT orders', { kind: SpanKind.CLIENT }, trace.setSpan(ROOT_CONTEXT, server));
  client.setStatus({ code: SpanStatusCode.OK });
  client.end();
  const internal = tracer.startSpan('compute', {}, trace.setSpan(ROOT_CONTEXT, server));
  internal.end();
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  server.end();
  for (const kind of [SpanKind.PRODUCER, SpanKind.CONSUMER]) tracer.startSpan(`kind-${kind}`, { kind }).end();

  await provider.forceFlush();
  return memory.getFinishedSpans();
}

function reencode(type: protobuf.Type, bytes: Uint8Array): Buffer {
  return Buffer.from(type.encode(decodeMessage(type, bytes)).finish());
}

describe('OTLP schema: byte-for-byte against the official serializer', () => {
  it('loads all proto files and exposes the gRPC method paths', () => {
    const schema = loadOtlpSchema();
    expect(loadOtlpSchema()).toBe(schema);
    expect(schema.protoDir).toBe(fileURLToPath(new URL('../../src/proto', import.meta.url)));
    expect(schema.logsExportPath).toBe('/opentelemetry.proto.collector.logs.v1.LogsService/Export');
    expect(schema.traceExportPath).toBe('/opentelemetry.proto.collector.trace.v1.TraceService/Export');
    const logRecord = schema.root.lookupType('opentelemetry.proto.logs.v1.LogRecord');
    const ids = Object.fromEntries(logRecord.fieldsArray.map((f) => [f.name, f.id]));
    expect(ids).toEqual({
      timeUnixNano: 1,
      observedTimeUnixNano: 11,
      severityNumber: 2,
      severityText: 3,
      body: 5,
      attributes: 6,
      droppedAttributesCount: 7,
      flags: 8,
      traceId: 9,
      spanId: 10,
      eventName: 12,
    });
  });

  it('re-encodes an ExportLogsServiceRequest to identical bytes', () => {
    const records = buildLogRecords();
    const bytes = ProtobufLogsSerializer.serializeRequest(records);
    expect(bytes).toBeDefined();
    const official = Buffer.from(bytes!);
    const { exportLogsServiceRequest: type } = loadOtlpSchema();

    expect(reencode(type, official).equals(official)).toBe(true);

    // Through a JSON-safe plain object (no defaults filled in) and back.
    const plain = type.toObject(decodeMessage(type, official), { longs: String, bytes: String, json: true });
    const viaJson = Buffer.from(encodeMessage(type, JSON.parse(JSON.stringify(plain)) as Record<string, unknown>));
    expect(viaJson.equals(official)).toBe(true);

    const decoded = decodeLogsRequest(official);
    expect(decoded.map((r) => r.eventName)).toEqual(['audit', '', 'audit']);
    // event_name survives a second round trip as well.
    expect(decodeLogsRequest(reencode(type, official)).map((r) => r.eventName)).toEqual(['audit', '', 'audit']);
  });

  it('decodes log records to plain values', () => {
    const records = buildLogRecords();
    const decoded = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(records)!);
    expect(decoded).toHaveLength(3);
    const [audit, plain, handBuilt] = decoded as [DecodedLogRecord, DecodedLogRecord, DecodedLogRecord];

    expect(audit).toEqual({
      resource: { 'service.name': 'schema-test', 'service.version': '1.2.3', 'host.cores': 8 },
      scope: { name: 'otel-audit', version: '0.1.0', attributes: {} },
      timeUnixNano: nanos(records[0]!.hrTime),
      observedTimeUnixNano: nanos(records[0]!.hrTimeObserved),
      severityNumber: 9,
      severityText: 'INFO',
      body: AUDIT_BODY_DECODED,
      attributes: ALL_KINDS_DECODED,
      droppedAttributesCount: 0,
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      eventName: 'audit',
      flags: 1,
    });

    expect(plain).toMatchObject({
      timeUnixNano: '1714979289123000000',
      severityNumber: 14,
      severityText: '',
      body: 'plain log line',
      attributes: { 'code.lineno': 3 },
      traceId: '',
      spanId: '',
      eventName: '',
      flags: 0,
    });

    expect(handBuilt).toEqual({
      resource: { 'service.name': 'other-service' },
      scope: { name: '', version: '', attributes: {} },
      timeUnixNano: '0',
      observedTimeUnixNano: '1700000000999999999',
      severityNumber: 0,
      severityText: '',
      body: null,
      attributes: {},
      droppedAttributesCount: 3,
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      eventName: 'audit',
      flags: 0,
    });
  });

  it('re-encodes an ExportTraceServiceRequest to identical bytes', async () => {
    const spans = await buildSpans();
    const official = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    const { exportTraceServiceRequest: type } = loadOtlpSchema();
    expect(reencode(type, official).equals(official)).toBe(true);

    const plain = type.toObject(decodeMessage(type, official), { longs: String, bytes: String, json: true });
    const viaJson = Buffer.from(encodeMessage(type, JSON.parse(JSON.stringify(plain)) as Record<string, unknown>));
    expect(viaJson.equals(official)).toBe(true);
  });

  it('decodes spans to plain values', async () => {
    const spans = await buildSpans();
    const decoded = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(decoded.map((s) => s.name)).toEqual(spans.map((s) => s.name));

    const byName = new Map(decoded.map((s) => [s.name, s]));
    const serverSpan = spans.find((s) => s.name === 'GET /orders/:id')!;
    const server = byName.get('GET /orders/:id')!;
    expect(server).toEqual({
      resource: { 'service.name': 'schema-test', 'service.version': '1.2.3', 'host.cores': 8 },
      scope: { name: 'schema-test-tracer', version: '2.0.0', attributes: {} },
      traceId: TRACE_ID,
      spanId: serverSpan.spanContext().spanId,
      parentSpanId: SPAN_ID,
      traceState: 'vendor=abc,other=1', // inherited from the remote parent
      flags: 0x1 | 0x100 | 0x200,
      name: 'GET /orders/:id',
      kind: OtlpSpanKind.SERVER,
      startTimeUnixNano: nanos(serverSpan.startTime),
      endTimeUnixNano: nanos(serverSpan.endTime),
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 200,
        'x.ratio': 0.5,
        'x.flag': true,
        'x.list': ['a', 'b'],
        'x.numbers': [1, 2, 3],
      },
      droppedAttributesCount: 0,
      status: { code: OtlpStatusCode.ERROR, message: 'boom' },
      events: [
        {
          timeUnixNano: nanos(serverSpan.events[0]!.time),
          name: 'audit.recorded',
          attributes: { 'audit.id': 'a-1', 'audit.count': 1 },
          droppedAttributesCount: 0,
        },
        { timeUnixNano: nanos(serverSpan.events[1]!.time), name: 'no-attributes', attributes: {}, droppedAttributesCount: 0 },
      ],
      droppedEventsCount: 0,
      links: [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceState: 'k=v',
          attributes: { 'link.reason': 'follows' },
          droppedAttributesCount: 0,
          flags: 0x100,
        },
      ],
      droppedLinksCount: 0,
    });

    const client = byName.get('SELECT orders')!;
    expect(client).toMatchObject({
      traceId: TRACE_ID,
      parentSpanId: server.spanId,
      kind: OtlpSpanKind.CLIENT,
      status: { code: OtlpStatusCode.OK, message: '' },
      flags: 0x1 | 0x100,
    });
    expect(byName.get('compute')).toMatchObject({ kind: OtlpSpanKind.INTERNAL, status: { code: OtlpStatusCode.UNSET } });
    expect(byName.get(`kind-${SpanKind.PRODUCER}`)).toMatchObject({ kind: OtlpSpanKind.PRODUCER, parentSpanId: '' });
    expect(byName.get(`kind-${SpanKind.CONSUMER}`)).toMatchObject({ kind: OtlpSpanKind.CONSUMER });
  });

  it('needs explicit presence: a plain proto3 reading drops the zero values the official serializer writes', async () => {
    // Same .proto files, loaded without the schema's presence configuration.
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(loadOtlpSchema().protoDir, target);
    root.loadSync([...OTLP_PROTO_FILES]);
    const cases: [string, Uint8Array][] = [
      ['opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest', ProtobufLogsSerializer.serializeRequest(buildLogRecords())!],
      ['opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest', ProtobufTraceSerializer.serializeRequest(await buildSpans())!],
    ];
    for (const [name, bytes] of cases) {
      const implicit = root.lookupType(name);
      const official = Buffer.from(bytes);
      const reencoded = Buffer.from(implicit.encode(implicit.decode(official)).finish());
      // e.g. dropped_attributes_count = 0, Status.code = UNSET, time_unix_nano = 0 are not re-emitted...
      expect(reencoded.length).toBeLessThan(official.length);
      // ...while both encodings carry the same content.
      const options = { longs: String, defaults: true };
      expect(implicit.toObject(implicit.decode(reencoded), options)).toEqual(implicit.toObject(implicit.decode(official), options));
    }
  });

  it('rejects malformed input', () => {
    expect(() => decodeLogsRequest(new Uint8Array([0x0a, 0x05, 0x01]))).toThrow();
  });
});

function exportWith<T>(exporter: { export(items: T, cb: (r: ExportResult) => void): void }, items: T): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(items, resolve));
}

describe('OTLP receiver with the official gRPC exporters', () => {
  let receiver: OtlpReceiver;
  let logExporter: OTLPLogExporter;
  let traceExporter: OTLPTraceExporter;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    logExporter = new OTLPLogExporter({ url: receiver.endpoint, timeoutMillis: 2_000 });
    traceExporter = new OTLPTraceExporter({ url: receiver.endpoint, timeoutMillis: 2_000 });
  });

  afterAll(async () => {
    await logExporter.shutdown();
    await traceExporter.shutdown();
    await receiver.stop();
  });

  it('receives exported log records as they were sent', async () => {
    receiver.clear();
    const records = buildLogRecords();
    const result = await exportWith(logExporter, records);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.logs).toHaveLength(records.length);
    expect(receiver.logs).toEqual(decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(records)!));

    const audits = receiver.auditRecords();
    expect(audits).toHaveLength(2);
    const first = audits[0]!;
    expect(first.resource['service.name']).toBe('schema-test');
    expect(first.traceId).toBe(TRACE_ID);
    expect(first.spanId).toBe(SPAN_ID);
    expect(first.body).toEqual(AUDIT_BODY_DECODED);
    expect(first.attributes).toEqual(ALL_KINDS_DECODED);
    expect(audits[1]!.resource['service.name']).toBe('other-service');
  });

  it('receives exported spans as they were sent', async () => {
    receiver.clear();
    const spans = await buildSpans();
    const result = await exportWith(traceExporter, spans);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.spans).toHaveLength(spans.length);
    for (const sent of spans) {
      const got = receiver.spans.find((s) => s.spanId === sent.spanContext().spanId);
      expect(got).toBeDefined();
      expect(got!.traceId).toBe(sent.spanContext().traceId);
      expect(got!.parentSpanId).toBe(sent.parentSpanContext?.spanId ?? '');
      expect(got!.name).toBe(sent.name);
      expect(got!.attributes).toEqual(sent.attributes);
      expect(got!.resource['service.name']).toBe('schema-test');
      expect(got!.events.map((e) => e.name)).toEqual(sent.events.map((e) => e.name));
    }
  });

  it('failNext answers the next calls with the given status', async () => {
    receiver.clear();
    receiver.failNext(1, grpc.status.INVALID_ARGUMENT);
    expect((await exportWith(logExporter, buildLogRecords())).code).toBe(ExportResultCode.FAILED);
    expect(receiver.calls.logs).toBe(1);
    expect(receiver.logs).toHaveLength(0);
    expect((await exportWith(logExporter, buildLogRecords())).code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.logs).toHaveLength(3);

    receiver.failNext(1, grpc.status.PERMISSION_DENIED, 'traces');
    const spans = await buildSpans();
    expect((await exportWith(traceExporter, spans)).code).toBe(ExportResultCode.FAILED);
    expect(receiver.spans).toHaveLength(0);
    expect((await exportWith(traceExporter, spans)).code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.spans).toHaveLength(spans.length);
  });

  it('setAvailable(false) answers UNAVAILABLE until switched back', async () => {
    receiver.clear();
    receiver.setAvailable(false);
    expect((await exportWith(logExporter, buildLogRecords())).code).toBe(ExportResultCode.FAILED);
    expect(receiver.calls.logs).toBeGreaterThanOrEqual(1);
    expect(receiver.logs).toHaveLength(0);
    receiver.setAvailable(true);
    expect((await exportWith(logExporter, buildLogRecords())).code).toBe(ExportResultCode.SUCCESS);
    await receiver.waitFor(() => receiver.auditRecords().length === 2, 1_000);
  });

  it('can be stopped and restarted on the same port', async () => {
    const port = receiver.port;
    await receiver.stop();
    expect((await exportWith(logExporter, buildLogRecords())).code).toBe(ExportResultCode.FAILED);

    receiver = await startOtlpReceiver({ port });
    expect(receiver.port).toBe(port);
    // The client reconnects after its connection backoff; until then exports fail fast.
    let result: ExportResult | undefined;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      result = await exportWith(logExporter, buildLogRecords());
      if (result.code === ExportResultCode.SUCCESS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(result?.code).toBe(ExportResultCode.SUCCESS);
    expect(receiver.auditRecords()).toHaveLength(2);
  });

  it('waitFor rejects when the condition is not met in time', async () => {
    await expect(receiver.waitFor(() => false, 50)).rejects.toThrow(/within 50 ms/);
  });
});
