import { afterAll, beforeAll, expect, it } from 'vitest';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
let app: AppProcess;
let spool: { path: string; remove: () => void };

beforeAll(async () => {
  t = await startTestSink('postgres');
  spool = tempDir('sdk-to-sink');
  // Traces and audit records both go straight to the sink, as in development without a collector.
  app = await startApp('express-app.mjs', { env: baseEnv(t.grpcEndpoint, spool.path) });
});
afterAll(async () => {
  await app?.stop();
  await t?.stop();
  spool?.remove();
});

it('the register hook straight to the sink: one request → one row, with the server span trace id', async () => {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const res = await request(app.url, 'POST', '/sessions', { body: { seed: 'e2e' }, headers: { traceparent: `00-${traceId}-${'3'.repeat(16)}-01` } });
  expect(res.status).toBe(201);
  let rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 100 && rows.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await t.rows(`trace_id = '${traceId}'`);
  }
  // Give the spans (also exported to the sink) time to arrive: they must not add a row.
  await new Promise((r) => setTimeout(r, 1500));
  rows = await t.rows(`trace_id = '${traceId}'`);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({
    trace_id: traceId,
    action: 'session.create',
    resource_type: 'session',
    resource_id: 's-e2e',
    service_name: 'fixture-service',
    http_route: '/sessions',
    status_code: 201,
    outcome: 'success',
    emitter_seq: '1',
  });
  expect(rows[0]!['span_id']).toMatch(/^[0-9a-f]{16}$/);
  expect(rows[0]!['span_id']).not.toBe('3'.repeat(16)); // the server span, child of the caller's span
  expect(await t.metric('otel_audit_sink_non_audit_ignored_total')).toBeGreaterThan(0);
});

it('an application route under /audit lands as app.audit.*: the audit. namespace belongs to the commands', async () => {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const res = await request(app.url, 'GET', '/audit/42', { headers: { traceparent: `00-${traceId}-${'4'.repeat(16)}-01` } });
  expect(res.status).toBe(404);
  let rows: Record<string, unknown>[] = [];
  for (let i = 0; i < 100 && rows.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    rows = await t.rows(`trace_id = '${traceId}'`);
  }
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ action: 'app.audit.read', resource_type: 'audit', resource_id: '42' });
});
