import * as grpc from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/pg.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let proxy: TcpProxy;
let t: TestSink;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  dropDb = db.drop;
  proxy = await startTcpProxy(5432);
  const url = db.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`);
  t = await startTestSink('postgres', { databaseUrl: url });
});
afterAll(async () => {
  proxy.restore();
  await t?.stop();
  await proxy?.close();
  await dropDb?.();
});

function records(n: number): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  const logger = provider.getLogger('otel-audit');
  for (let i = 0; i < n; i++) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: 1 });
    logger.emit({ context: ctx, eventName: 'audit', attributes: { 'audit.action': 'doc.read', 'audit.resource.type': 'doc', 'audit.resource.id': String(i) } });
  }
  return memory.getFinishedLogRecords();
}

function exportWith(exporter: OTLPLogExporter, batch: ReadableLogRecord[]): Promise<{ code: number; grpcCode?: number; message?: string }> {
  return new Promise((resolve) =>
    exporter.export(batch, (r) => resolve({ code: r.code, grpcCode: (r.error as { code?: number } | undefined)?.code, message: r.error?.message })),
  );
}

describe('database down during an export', () => {
  it('answers a retryable status; once the database is back, the retried export lands once', async () => {
    const exporter = new OTLPLogExporter({ url: t.grpcEndpoint, timeoutMillis: 10_000 });
    const batch = records(20);
    proxy.cut();
    const failed = await exportWith(exporter, batch);
    expect(failed.code).toBe(ExportResultCode.FAILED);
    expect(failed.grpcCode).toBe(grpc.status.UNAVAILABLE);
    expect(failed.message).toMatch(/database/i);
    // Readiness reflects it.
    const ready = await fetch(`http://127.0.0.1:${t.sink.metricsPort}/readyz`);
    expect(ready.status).toBe(503);

    proxy.restore();
    let ok = await exportWith(exporter, batch);
    for (let i = 0; i < 20 && ok.code !== ExportResultCode.SUCCESS; i++) {
      await new Promise((r) => setTimeout(r, 250));
      ok = await exportWith(exporter, batch);
    }
    expect(ok.code).toBe(ExportResultCode.SUCCESS);
    const n = await t.sink.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit.records WHERE action = 'doc.read'`);
    expect(n.rows[0]!.n).toBe('20');
    expect((await fetch(`http://127.0.0.1:${t.sink.metricsPort}/readyz`)).status).toBe(200);
    await exporter.shutdown();
  });

  it('the connection cut while a batch is in flight: retryable, then exactly once', async () => {
    const exporter = new OTLPLogExporter({ url: t.grpcEndpoint });
    const batch = records(500);
    const inflight = exportWith(exporter, batch);
    setTimeout(() => proxy.cut(), 1);
    const first = await inflight;
    proxy.restore();
    let code = first.code;
    for (let i = 0; i < 40 && code !== ExportResultCode.SUCCESS; i++) {
      await new Promise((r) => setTimeout(r, 250));
      code = (await exportWith(exporter, batch)).code;
    }
    expect(code).toBe(ExportResultCode.SUCCESS);
    // Whether the first attempt committed or not, a retry never doubles it.
    await exportWith(exporter, batch);
    const ids = batch.map((r) => `'${r.spanContext!.traceId}'`).join(',');
    const n = await t.sink.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit.records WHERE trace_id IN (${ids})`);
    expect(n.rows[0]!.n).toBe('500');
    await exporter.shutdown();
  });
});
