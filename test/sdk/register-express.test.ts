import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, FIXTURES, fakeJwt, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let app: AppProcess;
let spool: { path: string; remove: () => void };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('express');
  app = await startApp('express-app.mjs', {
    env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_AUDIT_CONFIG: `${FIXTURES}audit-config.cjs`, OTEL_AUDIT_ACTOR_HEADER: 'x-user-id', OTEL_AUDIT_MAX_VALUE_BYTES: '1024' },
  });
});

afterAll(async () => {
  await app?.stop();
  await receiver?.stop();
  spool?.remove();
});

/** Send one request and return the audit records of its trace (waits for them). */
async function recordsOf(
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
  expected = 1,
): Promise<{ status: number; records: DecodedLogRecord[]; traceId: string }> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const traceparent = `00-${traceId}-${'1'.repeat(16)}-01`;
  const res = await request(app.url, method, path, { ...init, headers: { traceparent, ...init.headers } });
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  if (expected > 0) await receiver.waitFor(() => of().length >= expected);
  // Give a wrongly emitted extra record the chance to arrive.
  await new Promise((r) => setTimeout(r, 300));
  return { status: res.status, records: of(), traceId };
}

describe('express app under --import otel-audit/register', () => {
  it('middleware + handler audit.record() for one POST /sessions → exactly one record with the handler id', async () => {
    const { status, records, traceId } = await recordsOf('POST', '/sessions', { body: { seed: '42' } });
    expect(status).toBe(201);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r.eventName).toBe('audit');
    expect(r.traceId).toBe(traceId);
    expect(r.attributes['audit.action']).toBe('session.create');
    expect(r.attributes['audit.resource.type']).toBe('session');
    expect(r.attributes['audit.resource.id']).toBe('s-42');
    expect(r.attributes['audit.meta.via']).toBe('handler');
    expect(r.attributes['http.route']).toBe('/sessions');
    expect(r.attributes['http.response.status_code']).toBe(201);
    // The record points at the server span of the request.
    const server = receiver.spans.find((s) => s.traceId === traceId && s.kind === 2);
    expect(server).toBeDefined();
    expect(r.spanId).toBe(server!.spanId);
    expect(server!.attributes['audit.action']).toBe('session.create');
    // Same instant as the span, to the nanosecond; the span names the emitter whose log record describes it.
    expect(r.timeUnixNano).toBe(server!.startTimeUnixNano);
    expect(server!.attributes['audit.emitter.id']).toBe(r.attributes['audit.emitter.id']);
  });

  it('derives route, action and resource from the framework route', async () => {
    const { records } = await recordsOf('PUT', '/users/77', { body: { name: 'n' } });
    expect(records).toHaveLength(1);
    const a = records[0]!.attributes;
    expect(a['audit.action']).toBe('user.update');
    expect(a['audit.resource.type']).toBe('user');
    expect(a['audit.resource.id']).toBe('77');
    expect(a['http.route']).toBe('/users/:id');
    expect(a['url.path']).toBe('/users/77');
    expect(a['http.request.method']).toBe('PUT');
    expect(a['audit.outcome']).toBe('success');
    expect(a['audit.module']).toBe('core');
    expect(a['client.address']).toBe('127.0.0.1');
    expect(records[0]!.resource['service.name']).toBe('fixture-service');
    // The attributes carry the whole record: no body.
    expect(records[0]!.body).toBeNull();
  });

  it('templates unknown paths and takes the resource id from the response when the route table says so', async () => {
    const unmatched = await recordsOf('GET', '/nothing/0123456789abcdef0123');
    expect(unmatched.status).toBe(404);
    expect(unmatched.records[0]!.attributes['http.route']).toBe('/nothing/:id');
    const created = await recordsOf('POST', '/items', { body: { n: 5 } });
    expect(created.records[0]!.attributes['audit.action']).toBe('item.create');
    expect(created.records[0]!.attributes['audit.resource.id']).toBe('it-5');
  });

  it('actor from a JWT, a header, req.user, the hook, or anonymous', async () => {
    const jwt = await recordsOf('GET', '/users/1', {
      headers: { authorization: `Bearer ${fakeJwt({ sub: 'u-7', preferred_username: 'carol', tenant_id: 't-9' })}` },
    });
    expect(jwt.records[0]!.attributes).toMatchObject({ 'audit.actor.id': 'u-7', 'audit.actor.name': 'carol', 'audit.actor.type': 'user', 'audit.tenant.id': 't-9' });
    const hdr = await recordsOf('GET', '/users/1', { headers: { 'x-user-id': 'u-header' } });
    expect(hdr.records[0]!.attributes).toMatchObject({ 'audit.actor.id': 'u-header', 'audit.actor.type': 'user' });
    const user = await recordsOf('GET', '/users/1', { headers: { 'x-test-user': 'u-req' } });
    expect(user.records[0]!.attributes).toMatchObject({ 'audit.actor.id': 'u-req', 'audit.actor.name': 'from-req-user' });
    const hook = await recordsOf('GET', '/users/1', { headers: { 'x-hook-actor': 'svc-1', 'x-user-id': 'ignored' } });
    expect(hook.records[0]!.attributes).toMatchObject({ 'audit.actor.id': 'svc-1', 'audit.actor.type': 'service', 'audit.tenant.id': 't-hook' });
    const anon = await recordsOf('GET', '/users/1');
    expect(anon.records[0]!.attributes['audit.actor.type']).toBe('anonymous');
    expect(anon.records[0]!.attributes['audit.actor.id']).toBeUndefined();
  });

  it('a failed login is denied and records the attempted principal', async () => {
    const { status, records } = await recordsOf('POST', '/login', { body: { username: 'mallory', password: 'wrong' } });
    expect(status).toBe(401);
    expect(records).toHaveLength(1);
    const a = records[0]!.attributes;
    expect(a['audit.action']).toBe('session.create');
    expect(a['audit.outcome']).toBe('denied');
    expect(a['audit.actor.id']).toBe('mallory');
    expect(a['audit.meta.attempted_principal']).toBe(true);
    expect(a['audit.request']).not.toContain('wrong');
  });

  it('403 is denied; a thrown error is a failure with its message', async () => {
    const denied = await recordsOf('GET', '/forbidden');
    expect(denied.records[0]!.attributes['audit.outcome']).toBe('denied');
    const boom = await recordsOf('GET', '/boom');
    expect(boom.status).toBe(500);
    expect(boom.records[0]!.attributes['audit.outcome']).toBe('failure');
    expect(boom.records[0]!.attributes['audit.error.message']).toBe('database exploded');
  });

  it('redacts nested secrets and caps oversize bodies with a marker', async () => {
    const { records } = await recordsOf('PUT', '/users/5', {
      body: { profile: { password: 'hunter2', nested: [{ api_key: 'k-123', ok: 'visible' }] }, card: '4111 1111 1111 1111' },
    });
    const req = String(records[0]!.attributes['audit.request']);
    expect(req).toContain('visible');
    expect(req).not.toContain('hunter2');
    expect(req).not.toContain('k-123');
    expect(req).not.toContain('4111 1111 1111 1111');
    expect(req).toContain('[REDACTED]');
    const big = await recordsOf('POST', '/echo', { body: { blob: 'x'.repeat(50_000), keep: 'me' } });
    const capped = String(big.records[0]!.attributes['audit.request']);
    expect(Buffer.byteLength(capped)).toBeLessThanOrEqual(1024);
    expect(capped).toContain('[truncated');
    expect(() => JSON.parse(capped)).not.toThrow();
  });

  it('does not record /healthz; basic level drops the body; module from the prefix', async () => {
    const health = await recordsOf('GET', '/healthz', {}, 0);
    expect(health.status).toBe(200);
    expect(health.records).toHaveLength(0);
    const basic = await recordsOf('POST', '/basic/things?x=1', { body: { secretish: 'body-value' } });
    const a = basic.records[0]!.attributes;
    expect(a['audit.level']).toBe('basic');
    expect(String(a['audit.request'])).toContain('"x"');
    expect(String(a['audit.request'])).not.toContain('body-value');
    const jenkins = await recordsOf('GET', '/api/jenkins/jobs/nightly');
    expect(jenkins.records[0]!.attributes['audit.module']).toBe('jenkins');
    expect(jenkins.records[0]!.attributes['audit.action']).toBe('job.read');
  });

  it('a user hook that throws: the request is served and the error is logged once', async () => {
    const first = await recordsOf('GET', '/users/3', { headers: { 'x-hook-throws': '1', 'x-user-id': 'fallback' } });
    const second = await recordsOf('GET', '/users/3', { headers: { 'x-hook-throws': '1' } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(first.records[0]!.attributes['audit.actor.id']).toBe('fallback');
    expect(second.records).toHaveLength(1);
    const logged = app.output().match(/actor hook threw/g) ?? [];
    expect(logged).toHaveLength(1);
  });

  it('requests that share a client-supplied trace id are never folded into one record; middleware + handler still one', async () => {
    const traceId = crypto.randomUUID().replace(/-/g, '');
    const headers = { traceparent: `00-${traceId}-${'3'.repeat(16)}-01` };
    // One request of the trace is held open while the others come and go.
    const held = fetch(`${app.url}/hold?tag=fold`, { headers });
    await receiver.waitFor(() => app.output().includes('HOLDING fold'));
    for (let i = 0; i < 5; i++) expect((await request(app.url, 'GET', '/forbidden', { headers })).status).toBe(403);
    const sessions = await Promise.all([1, 2, 3].map(() => request(app.url, 'POST', '/sessions', { body: { seed: '7' }, headers })));
    expect(sessions.map((s) => s.status)).toEqual([201, 201, 201]);
    await request(app.url, 'GET', '/release?tag=fold');
    expect((await held).status).toBe(200);

    const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
    const servers = (): string[] => receiver.spans.filter((sp) => sp.traceId === traceId && sp.kind === 2).map((sp) => sp.spanId);
    await receiver.waitFor(() => of().length >= 9 && servers().length >= 9);
    await new Promise((r) => setTimeout(r, 300));
    const records = of();
    expect(records).toHaveLength(9);
    const denied = records.filter((r) => r.attributes['url.path'] === '/forbidden');
    expect(denied).toHaveLength(5);
    for (const r of denied) expect(r.attributes['audit.outcome']).toBe('denied');
    const created = records.filter((r) => r.attributes['audit.action'] === 'session.create');
    expect(created).toHaveLength(3);
    for (const r of created) {
      expect(r.attributes['audit.resource.id']).toBe('s-7');
      expect(r.attributes['audit.meta.via']).toBe('handler');
      expect(r.attributes['http.response.status_code']).toBe(201);
    }
    expect(records.filter((r) => r.attributes['url.path'] === '/hold')).toHaveLength(1);
    for (const r of records) expect(r.attributes['audit.incomplete']).toBeUndefined();
    // Each record is the record of its own server span.
    expect(new Set(records.map((r) => r.spanId)).size).toBe(9);
    expect(records.map((r) => r.spanId).sort()).toEqual(servers().sort());
  });

  it('ids and meta values as ORMs return them (bigint, Date) are recorded as text', async () => {
    const { status, records } = await recordsOf('POST', '/bigint', { body: {} }, 2);
    expect(status).toBe(200);
    const touched = records.filter((r) => r.attributes['audit.action'] === 'account.touch');
    expect(touched).toHaveLength(1);
    expect(touched[0]!.attributes).toMatchObject({
      'audit.action': 'account.touch',
      'audit.actor.id': '123',
      'audit.actor.name': 'big',
      'audit.resource.id': '9007199254740993',
      'audit.meta.count': '5',
      'audit.meta.at': '1970-01-01T00:00:00.000Z',
    });
  });

  it('numbers records 1, 2, 3, ... per emitter', () => {
    const seqs = receiver.auditRecords().map((r) => Number(r.attributes['audit.emitter.seq']));
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(new Set(receiver.auditRecords().map((r) => r.attributes['audit.emitter.id'])).size).toBe(1);
  });
});
