import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, type LogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres');
});
afterAll(async () => {
  await t?.stop();
});

const hex = (n: number): string => randomBytes(n).toString('hex');
const START_NS = 1_763_727_600_123_456_789n; // 2025-11-21T12:20:00.123456789Z

/** Emit audit log records (as the SDK shapes them) through a real LoggerProvider into `exporter`. */
async function emit(exporter: LogRecordExporter, n: number, extra: (i: number) => Record<string, string | number | boolean> = () => ({})): Promise<{ traceId: string; spanId: string }[]> {
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': 'billing', 'service.version': '1.2.3' }),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  const logger = provider.getLogger('otel-audit', '0.1.0');
  const ids: { traceId: string; spanId: string }[] = [];
  const emitterId = hex(8);
  for (let i = 0; i < n; i++) {
    const traceId = hex(16);
    const spanId = hex(8);
    ids.push({ traceId, spanId });
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED });
    logger.emit({
      context: ctx,
      eventName: 'audit',
      timestamp: [Number(START_NS / 1_000_000_000n), Number(START_NS % 1_000_000_000n) + i],
      severityNumber: 9,
      body: { action: 'invoice.update', outcome: 'success' },
      attributes: {
        'audit.action': 'invoice.update',
        'audit.outcome': 'success',
        'audit.actor.id': 'u-42',
        'audit.actor.name': 'alice',
        'audit.actor.type': 'user',
        'audit.tenant.id': 't-7',
        'audit.resource.type': 'invoice',
        'audit.resource.id': `inv-${i}`,
        'audit.module': 'billing',
        'audit.level': 'full',
        'audit.request': '{"body":{"amount":12.5,"password":"[REDACTED]"}}',
        'audit.change.before': '{"amount":10}',
        'audit.change.after': '{"amount":12.5}',
        'audit.meta.reason': 'correction',
        'audit.duration_ms': 12.25,
        'http.request.method': 'PUT',
        'http.route': '/invoices/:id',
        'url.path': `/invoices/inv-${i}`,
        'http.response.status_code': 200,
        'client.address': '203.0.113.9',
        'user_agent.original': 'curl/8',
        'audit.emitter.id': emitterId,
        'audit.emitter.seq': i + 1,
        ...extra(i),
      },
    });
  }
  // A plain log record: acknowledged, never stored.
  logger.emit({ body: 'just a log line', severityNumber: 9 });
  await provider.forceFlush();
  await provider.shutdown();
  return ids;
}

describe('the official exporters as clients', () => {
  for (const [name, make] of [
    ['logs over gRPC', () => new GrpcLogExporter({ url: t.grpcEndpoint })],
    ['logs over HTTP/protobuf', () => new ProtoLogExporter({ url: `${t.httpEndpoint}/v1/logs` })],
    ['logs over HTTP/JSON', () => new JsonLogExporter({ url: `${t.httpEndpoint}/v1/logs` })],
  ] as const) {
    it(`${name}: rows match what was sent, column by column`, async () => {
      const ids = await emit(make(), 3);
      const rows = await t.rows(`trace_id IN ('${ids.map((x) => x.traceId).join("','")}')`);
      expect(rows).toHaveLength(3);
      const r = rows.find((x) => x['trace_id'] === ids[1]!.traceId)!;
      expect(r).toMatchObject({
        trace_id: ids[1]!.traceId,
        span_id: ids[1]!.spanId,
        service_name: 'billing',
        module: 'billing',
        actor_id: 'u-42',
        actor_name: 'alice',
        actor_type: 'user',
        tenant_id: 't-7',
        action: 'invoice.update',
        resource_type: 'invoice',
        resource_id: 'inv-1',
        outcome: 'success',
        status_code: 200,
        http_method: 'PUT',
        http_route: '/invoices/:id',
        url_path: '/invoices/inv-1',
        client_ip: '203.0.113.9',
        user_agent: 'curl/8',
        duration_ms: 12.25,
        level: 'full',
        request: { body: { amount: 12.5, password: '[REDACTED]' } },
        change_before: { amount: 10 },
        change_after: { amount: 12.5 },
        emitter_seq: '2',
      });
      // Microseconds: Postgres keeps what it can of the nanosecond timestamp.
      expect((r['occurred_at'] as Date).toISOString()).toBe('2025-11-21T12:20:00.123Z');
      const us = await t.sink.db.query<{ us: string }>(`SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'US') AS us FROM audit.records WHERE trace_id = $1`, [ids[1]!.traceId]);
      expect(us.rows[0]!.us).toBe('123456');
      const attrs = r['attributes'] as Record<string, unknown>;
      expect(attrs['audit.meta.reason']).toBe('correction');
      expect((attrs['resource'] as Record<string, unknown>)['service.version']).toBe('1.2.3');
      expect(attrs['audit.action']).toBeUndefined();
      expect(typeof r['emitter_id']).toBe('string');
      expect(r['received_at']).toBeInstanceOf(Date);
    });
  }

  it('traces over gRPC: a span following the attribute convention is a row; SDK-tagged and plain spans are not', async () => {
    const exporter = new OTLPTraceExporter({ url: t.grpcEndpoint });
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'legacy-go-service' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    const tracer = provider.getTracer('x');
    const conv = tracer.startSpan('DELETE /repos/:id', {
      kind: SpanKind.SERVER,
      attributes: { 'audit.action': 'repo.delete', 'audit.resource.type': 'repo', 'audit.resource.id': 'r-1', 'audit.actor.id': 'bob', 'http.response.status_code': 403, 'http.request.method': 'DELETE' },
    });
    conv.end();
    const tagged = tracer.startSpan('GET /x', { kind: SpanKind.SERVER, attributes: { 'audit.action': 'x.read', 'audit.emitter.id': 'abc' } });
    tagged.end();
    const plain = tracer.startSpan('plain', { kind: SpanKind.SERVER });
    plain.end();
    await provider.forceFlush();
    await provider.shutdown();
    const rows = await t.rows(`trace_id IN ('${conv.spanContext().traceId}','${tagged.spanContext().traceId}','${plain.spanContext().traceId}')`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'repo.delete', resource_id: 'r-1', actor_id: 'bob', actor_type: 'user', outcome: 'denied', service_name: 'legacy-go-service', span_id: conv.spanContext().spanId });
  });

  it('every batch sent twice: no duplicate rows, duplicates counted', async () => {
    const count = async (): Promise<number> => Number((await t.sink.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit.records')).rows[0]!.n);
    // Keep the records (an in-memory exporter forgets them at shutdown).
    const batch: ReadableLogRecord[] = [];
    await emit({ export: (logs, cb) => { batch.push(...logs); cb({ code: ExportResultCode.SUCCESS }); }, shutdown: () => Promise.resolve(), forceFlush: () => Promise.resolve() }, 6);
    expect(batch).toHaveLength(7); // 6 audit records + 1 plain log
    const rowsBefore = await count();
    const dupBefore = await t.metric('otel_audit_sink_records_duplicate_total');
    const exporter = new GrpcLogExporter({ url: t.grpcEndpoint });
    const send = (): Promise<number> => new Promise((resolve) => exporter.export(batch, (r) => resolve(r.code)));
    expect(await send()).toBe(ExportResultCode.SUCCESS);
    expect(await count()).toBe(rowsBefore + 6);
    expect(await send()).toBe(ExportResultCode.SUCCESS);
    // And once more over HTTP/protobuf: a redelivery through another path is still the same record.
    const proto = new ProtoLogExporter({ url: `${t.httpEndpoint}/v1/logs` });
    expect(await new Promise((resolve) => proto.export(batch, (r) => resolve(r.code)))).toBe(ExportResultCode.SUCCESS);
    expect(await count()).toBe(rowsBefore + 6);
    expect((await t.metric('otel_audit_sink_records_duplicate_total')) - dupBefore).toBe(12);
    expect(await t.metric('otel_audit_sink_non_audit_ignored_total')).toBeGreaterThanOrEqual(3);
    await exporter.shutdown();
    await proto.shutdown();
  });
});
