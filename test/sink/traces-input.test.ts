import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { ExportResultCode } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLP_TRACE_EXPORT_PATH } from '../../src/otlp/schema-loader.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres');
});
afterAll(async () => {
  await t?.stop();
});

/** Sends one audit span (resource id `id`) and one plain span through `exporter`; returns the audit span's trace id. */
async function send(exporter: SpanExporter, id: string): Promise<string> {
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'trace-svc', 'service.instance.id': id }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('legacy', '1.0.0');
  const span = tracer.startSpan('DELETE /repos/:id', {
    kind: SpanKind.SERVER,
    attributes: {
      'audit.action': 'repo.delete', 'audit.resource.type': 'repo', 'audit.resource.id': id, 'audit.actor.id': 'bob',
      'http.response.status_code': 500, 'http.request.method': 'DELETE', 'audit.meta.count': 3, 'audit.meta.ratio': 0.5, 'audit.meta.flag': true, 'audit.meta.tags': ['a', 'b'],
    },
  });
  span.recordException(new Error('disk full'));
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  span.end();
  tracer.startSpan('plain').end();
  await provider.forceFlush();
  await provider.shutdown();
  return span.spanContext().traceId;
}

describe('traces into the sink: protobuf and OTLP/JSON decoded without a schema', () => {
  it('the official exporters over gRPC, HTTP/protobuf and HTTP/JSON give the same row', async () => {
    const exporters: [string, SpanExporter][] = [
      ['grpc', new GrpcTraceExporter({ url: t.grpcEndpoint })],
      ['proto', new ProtoTraceExporter({ url: `${t.httpEndpoint}/v1/traces` })],
      ['json', new JsonTraceExporter({ url: `${t.httpEndpoint}/v1/traces` })],
    ];
    const rows: Record<string, unknown>[] = [];
    for (const [name, exporter] of exporters) {
      const traceId = await send(exporter, `r-${name}`);
      const [row, ...more] = await t.rows(`trace_id = '${traceId}'`);
      expect(more, name).toHaveLength(0);
      expect(row, name).toMatchObject({ action: 'repo.delete', resource_id: `r-${name}`, actor_id: 'bob', outcome: 'failure', status_code: 500, service_name: 'trace-svc' });
      rows.push(row!);
    }
    const SAME = ['service_name', 'actor_id', 'actor_type', 'action', 'resource_type', 'outcome', 'status_code', 'http_method', 'http_route', 'level', 'request', 'change_before', 'change_after'];
    const comparable = (r: Record<string, unknown>): unknown => ({
      ...Object.fromEntries(SAME.map((k) => [k, r[k]])),
      attributes: { ...(r['attributes'] as object), resource: { ...((r['attributes'] as Record<string, object>)['resource']), 'service.instance.id': '' } },
    });
    expect(comparable(rows[1]!)).toEqual(comparable(rows[0]!));
    expect(comparable(rows[2]!)).toEqual(comparable(rows[0]!));
    expect((rows[2]!['attributes'] as Record<string, unknown>)['audit.meta.tags']).toEqual(['a', 'b']);
  });

  it('a truncated or garbled traces request is refused as a whole (400 / INVALID_ARGUMENT) and kept verbatim in audit.rejected', async () => {
    // Keep the spans (an in-memory exporter forgets them at shutdown).
    const spans: ReadableSpan[] = [];
    await send({ export: (batch, cb) => { spans.push(...batch); cb({ code: ExportResultCode.SUCCESS }); }, shutdown: () => Promise.resolve() }, 'r-cut');
    const bytes = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(bytes.length).toBeGreaterThan(100);
    const cut = bytes.subarray(0, bytes.length - 7);
    const res = await fetch(`${t.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: cut });
    expect(res.status).toBe(400);
    const json = await fetch(`${t.httpEndpoint}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}' });
    expect(json.status).toBe(400);

    const Client = grpc.makeGenericClientConstructor({ Export: { path: OTLP_TRACE_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } }, 'Trace');
    const client = new Client(`127.0.0.1:${t.sink.grpcPort}`, grpc.credentials.createInsecure()) as unknown as { Export(b: Buffer, cb: (e: grpc.ServiceError | null) => void): void; close(): void };
    const garbage = Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0x0f]);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => client.Export(garbage, resolve));
    client.close();
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);

    const rejected = (await t.rejected()).filter((r) => r['signal'] === 'traces');
    const reasons = rejected.map((r) => String(r['reason']));
    expect(reasons).toEqual([
      expect.stringMatching(/^cannot decode the traces request \(http\/protobuf\): truncated/),
      'cannot decode the traces request (http/json): traceId must be a hex string in OTLP/JSON',
      expect.stringMatching(/^cannot decode the traces request \(grpc\): invalid wire type 7/),
    ]);
    expect(Buffer.compare(rejected[0]!['raw'] as Buffer, cut)).toBe(0);
    expect(Buffer.compare(rejected[2]!['raw'] as Buffer, garbage)).toBe(0);
  });
});
