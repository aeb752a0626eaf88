import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let spool: { path: string; remove: () => void };
const apps: AppProcess[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('frameworks');
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await receiver?.stop();
  spool?.remove();
});

async function launch(fixture: string, loader: 'import' | 'require' = 'import'): Promise<AppProcess> {
  const app = await startApp(fixture, { loader, env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_SERVICE_NAME: fixture } });
  apps.push(app);
  return app;
}

async function oneRecord(app: AppProcess, method: string, path: string, body?: unknown): Promise<DecodedLogRecord[]> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const res = await request(app.url, method, path, { body, headers: { traceparent: `00-${traceId}-${'2'.repeat(16)}-01` } });
  expect(res.status).toBeLessThan(300);
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  await receiver.waitFor(() => of().length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  return of();
}

describe('frameworks and module systems', () => {
  it('fastify (ESM): route from the framework, body from fastify, manual record merged', async () => {
    const app = await launch('fastify-app.mjs');
    const read = await oneRecord(app, 'GET', '/orders/o-1');
    expect(read).toHaveLength(1);
    expect(read[0]!.attributes).toMatchObject({ 'audit.action': 'order.read', 'audit.resource.id': 'o-1', 'http.route': '/orders/:orderId' });
    const created = await oneRecord(app, 'POST', '/orders', { n: 3, password: 'p' });
    expect(created).toHaveLength(1);
    const a = created[0]!.attributes;
    expect(a['audit.action']).toBe('order.create');
    expect(a['audit.resource.id']).toBe('o-3');
    expect(String(a['audit.request'])).toContain('"n":3');
    expect(String(a['audit.request'])).not.toContain('"p"');
    expect(String(a['audit.change.after'])).toContain('[REDACTED]');
    expect(created[0]!.resource['service.name']).toBe('fastify-app.mjs');
  });

  it('fastify under --require: requests sharing a client-supplied traceparent are one record each', async () => {
    const app = await launch('fastify-app.mjs', 'require');
    const traceId = crypto.randomUUID().replace(/-/g, '');
    const headers = { traceparent: `00-${traceId}-${'6'.repeat(16)}-01` };
    const held = fetch(`${app.url}/hold?tag=f`, { headers });
    await receiver.waitFor(() => app.output().includes('HOLDING f'));
    for (let i = 0; i < 4; i++) expect((await request(app.url, 'POST', '/orders', { body: { n: 1 }, headers })).status).toBe(201);
    await request(app.url, 'GET', '/release?tag=f');
    await held;
    const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
    await receiver.waitFor(() => of().length >= 5);
    await new Promise((r) => setTimeout(r, 300));
    const orders = of().filter((r) => r.attributes['audit.action'] === 'order.create');
    expect(orders).toHaveLength(4);
    expect(new Set(orders.map((r) => r.spanId)).size).toBe(4);
    for (const r of orders) {
      expect(r.attributes['audit.resource.id']).toBe('o-1');
      expect(r.attributes['http.route']).toBe('/orders');
      expect(r.attributes['audit.incomplete']).toBeUndefined();
    }
    expect(of()).toHaveLength(5);
  });

  it('plain node:http (ESM): path templated, action derived', async () => {
    const app = await launch('http-app.mjs');
    const recs = await oneRecord(app, 'DELETE', '/accounts/3fa85f64-5717-4562-b3fc-2c963f66afa6');
    expect(recs).toHaveLength(1);
    expect(recs[0]!.attributes).toMatchObject({
      'audit.action': 'account.delete',
      'audit.resource.type': 'account',
      'audit.resource.id': '3fa85f64-5717-4562-b3fc-2c963f66afa6',
      'http.route': '/accounts/:id',
      'http.response.status_code': 204,
    });
  });

  it('CommonJS express app under --require: instrumented, audit.set() enriches the one record', async () => {
    const app = await launch('cjs-app.cjs', 'require');
    const recs = await oneRecord(app, 'POST', '/projects/p-1/members', { user: 'u-5' });
    expect(recs).toHaveLength(1);
    expect(recs[0]!.attributes).toMatchObject({
      'audit.action': 'member.create',
      'http.route': '/projects/:projectId/members',
      'audit.tenant.id': 'tenant-cjs',
      'audit.meta.invited': 'u-5',
    });
  });
});

describe('start-up failure', () => {
  it('never throws into the host: the app runs untraced and the failure is logged once', async () => {
    const app = await startApp('http-app.mjs', {
      env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_AUDIT_CONFIG: '/nonexistent/audit.config.cjs' },
    });
    apps.push(app);
    const res = await request(app.url, 'GET', '/widgets/1');
    expect(res.status).toBe(200);
    expect(app.output().match(/will not produce telemetry/g)).toHaveLength(1);
  });
});
