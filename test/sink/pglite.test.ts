import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { startSink } from '../../src/sink/sink.js';

const dir = mkdtempSync(join(tmpdir(), 'otel-audit-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('with no Postgres configured, the embedded database serves, and keeps the rows across restarts', async () => {
  const env = { DATABASE_URL: process.env['DATABASE_URL'], PGHOST: process.env['PGHOST'] };
  delete process.env['DATABASE_URL'];
  delete process.env['PGHOST'];
  try {
    const sink = await startSink({ grpcPort: 0, httpPort: 0, metricsPort: 0, dataDir: dir }, pino({ level: 'silent' }));
    expect(sink.db.kind).toBe('pglite');
    const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `http://127.0.0.1:${sink.grpcPort}` }) })] });
    const traceId = 'ab'.repeat(16);
    logger(provider).emit({
      context: trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'cd'.repeat(8), traceFlags: 1 }),
      eventName: 'audit',
      attributes: { 'audit.action': 'user.delete', 'audit.resource.type': 'user', 'audit.resource.id': '9', 'audit.actor.id': 'root', 'audit.emitter.id': 'e', 'audit.emitter.seq': 1 },
    });
    await provider.forceFlush();
    await provider.shutdown();
    await sink.close();

    const again = await startSink({ grpcPort: 0, httpPort: 0, metricsPort: 0, dataDir: dir }, pino({ level: 'silent' }));
    const rows = await again.db.query<Record<string, unknown>>('SELECT trace_id, action, resource_id, actor_id, emitter_seq FROM audit.records');
    expect(rows.rows).toEqual([{ trace_id: traceId, action: 'user.delete', resource_id: '9', actor_id: 'root', emitter_seq: '1' }]);
    const ready = await fetch(`http://127.0.0.1:${again.metricsPort}/readyz`);
    expect(ready.status).toBe(200);
    await again.close();
  } finally {
    for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
  }
});

function logger(p: LoggerProvider): ReturnType<LoggerProvider['getLogger']> {
  return p.getLogger('otel-audit');
}
