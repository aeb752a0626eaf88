/**
 * The design card end to end: the example service under the register hook →
 * the collector with collector-config/otelcol.yaml → APM + sink → Postgres.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import { openDatabase } from '../../src/db/database.js';
import { checkRows, DEMO_STEPS, runScript, type RecordRow, type StepResult } from '../../src/demo/script.js';
import { waitFor } from '../helpers/processes.js';
import { BUILD_TIMEOUT_MS, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline;
let results: StepResult[];
const expectedRows = DEMO_STEPS.filter((s) => s.expect !== null).length;

/** Telemetry from a service without otel-audit, sent with the official OTLP exporters. */
async function sendOtherTelemetry(endpoint: string): Promise<{ auditTraceId: string; plainTraceId: string }> {
  const resource = resourceFromAttributes({ 'service.name': 'billing-service' });
  const tracerProvider = new TracerProvider({
    resource,
    spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: endpoint }) })],
  });
  const tracer = tracerProvider.getTracer('billing');
  // A span tagged as an audit record by the service itself (no SDK): becomes a row.
  const audited = tracer.startSpan('POST /invoices/:id/void', {
    attributes: {
      'audit.action': 'invoice.void',
      'audit.resource.type': 'invoice',
      'audit.resource.id': 'inv-42',
      'audit.outcome': 'success',
      'audit.actor.id': 'u-7',
      'audit.actor.type': 'user',
    },
  });
  audited.end();
  // An ordinary span: APM only.
  const plain = tracer.startSpan('GET /invoices');
  plain.end();
  await tracerProvider.forceFlush();
  await tracerProvider.shutdown();

  // Application logs that are not audit records: never in Postgres.
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: endpoint }) })],
  });
  const logger = loggerProvider.getLogger('billing');
  logger.emit({ severityNumber: SeverityNumber.INFO, body: 'invoice voided' });
  logger.emit({ eventName: 'billing.invoice', severityNumber: SeverityNumber.INFO, body: 'not an audit event', attributes: { 'audit.action': 'x.y' } });
  await loggerProvider.shutdown();
  return { auditTraceId: audited.spanContext().traceId, plainTraceId: plain.spanContext().traceId };
}

describe('service → collector (otelcol.yaml) → sink → Postgres, traces → APM', () => {
  let other: { auditTraceId: string; plainTraceId: string };

  beforeAll(async () => {
    p = await startPipeline();
    const svc = await p.startService();
    results = await runScript(svc.url);
    other = await sendOtherTelemetry(p.collectorGrpc);
    // SIGTERM: the register hook flushes traces and audit records, then the
    // signal ends the process as it would have without the hook.
    expect(await svc.service.stop()).toBe('SIGTERM');
    await p.waitForRows(expectedRows + 1);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await p?.close();
  });

  it('every scripted request gives exactly its expected row, the health check none', async () => {
    const rows = (await p.rows()) as unknown as RecordRow[];
    expect(checkRows(results, rows)).toEqual([]);
    const mine = rows.filter((r) => results.some((x) => x.traceId === r.trace_id));
    expect(mine).toHaveLength(expectedRows);
    for (const r of mine) expect(r).toMatchObject({ service_name: 'example-service' });
  });

  it('a span tagged audit.action by a service without the SDK becomes a row; nothing else does', async () => {
    const rows = await p.rows();
    expect(rows).toHaveLength(expectedRows + 1);
    const billing = rows.filter((r) => r['service_name'] === 'billing-service');
    expect(billing).toHaveLength(1);
    expect(billing[0]).toMatchObject({ trace_id: other.auditTraceId, action: 'invoice.void', resource_id: 'inv-42', outcome: 'success' });
    // Non-audit logs and spans (also the SDK-tagged server spans, sent as log
    // records already) were filtered at the collector: the sink saw none.
    expect(await p.sinkMetric('otel_audit_sink_non_audit_ignored_total')).toBe(0);
    expect(await p.sinkMetric('otel_audit_sink_records_received_total')).toBe(expectedRows + 1);
    expect(await p.rejected()).toEqual([]);
  });

  it('each row links to a trace the APM (Jaeger) holds: same trace id, same span', async () => {
    const rows = await p.rows();
    for (const r of rows) {
      const spans = await waitFor(
        async () => {
          const s = await p.apm.trace(String(r['trace_id']));
          return s.some((x) => x.spanId === r['span_id']) ? s : undefined;
        },
        20_000,
        () => `Jaeger holds no span ${r['span_id']} of trace ${r['trace_id']} (${r['action']})`,
      );
      const span = spans.find((s) => s.spanId === r['span_id']);
      expect(span?.serviceName).toBe(r['service_name']);
    }
    // The APM also gets what is not audit: the health check's trace, the plain span.
    const health = results.find((r) => r.expected === null);
    expect(await p.apm.trace(health?.traceId ?? '')).not.toEqual([]);
    expect(await p.apm.trace(other.plainTraceId)).not.toEqual([]);
  });

  it('the rows seal and verify', async () => {
    const db = await openDatabase({ url: p.databaseUrl, env: {}, poolSize: 1 });
    try {
      const sealed = await sealOnce(db, { settleMs: 0 });
      expect(sealed.digests.reduce((n, d) => n + d.rowCount, 0)).toBe(expectedRows + 1);
      const report = await verify(db);
      expect(report.findings).toEqual([]);
      expect(report.checkedRows).toBe(expectedRows + 1);
    } finally {
      await db.close();
    }
  });
});
