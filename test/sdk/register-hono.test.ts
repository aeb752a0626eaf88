import { describe, expect, it } from 'vitest';
import { fakeJwt, type AppProcess } from '../helpers/app-process.js';
import { recordsOf, type AppRequestInit } from '../helpers/app-records.js';
import { useFrameworkApps } from '../helpers/framework-apps.js';
import type { OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let esm: AppProcess;
let cjs: AppProcess;

useFrameworkApps('hono', (apps) => ({ receiver, esm, cjs } = apps));

const send = (method: string, path: string, init?: AppRequestInit, expected?: number) => recordsOf(receiver, esm, method, path, init, expected);

const sent = () => ({ title: 'Dune', draft: true, password: 'hunter2', meta: { author: { name: 'client' }, tags: ['a', 'b'] } });

describe('Hono 4 on @hono/node-server (ESM) under --import otel-audit/register', () => {
  it('action and resource from the matched route (a sub-app\'s too); actor from the JWT', async () => {
    const jwt = fakeJwt({ sub: 'u-7', preferred_username: 'carol', tenant_id: 't-9' });
    const book = await send('GET', '/books/isbn-978-0441', { headers: { authorization: `Bearer ${jwt}` } });
    expect(book.status).toBe(200);
    expect(book.records).toHaveLength(1);
    expect(book.records[0]!.attributes).toMatchObject({
      'audit.action': 'book.read',
      'audit.resource.type': 'book',
      'audit.resource.id': 'isbn-978-0441',
      'http.route': '/books/:isbn',
      'audit.outcome': 'success',
      'audit.actor.id': 'u-7',
      'audit.actor.name': 'carol',
      'audit.tenant.id': 't-9',
    });
    // The APM sees the template too: the server span carries it.
    const server = receiver.spans.find((s) => s.traceId === book.traceId && s.kind === 2);
    expect(server?.attributes['http.route']).toBe('/books/:isbn');

    const note = await send('GET', '/notes/by-slug/hello-world');
    expect(note.records).toHaveLength(1);
    expect(note.records[0]!.attributes).toMatchObject({
      'audit.action': 'note.read',
      'audit.resource.type': 'note',
      'audit.resource.id': 'hello-world',
      'http.route': '/notes/by-slug/:slug',
    });
  });

  it('takes the id of a created resource from the response when the route table says so', async () => {
    const { status, records } = await send('POST', '/items', { body: { n: 5 } });
    expect(status).toBe(201);
    expect(records).toHaveLength(1);
    expect(records[0]!.attributes).toMatchObject({ 'audit.action': 'item.create', 'audit.resource.id': 'it-5', 'audit.request': '{"body":{"n":5}}' });
  });

  it('records the body as the client sent it (password redacted), not as the handler changed it', async () => {
    for (const chunked of [false, true]) {
      const { status, records } = await send('POST', '/books', { body: sent(), chunked });
      expect(status).toBe(201);
      expect(records).toHaveLength(1);
      const a = records[0]!.attributes;
      expect(JSON.parse(String(a['audit.request']))).toEqual({ body: { ...sent(), password: '[REDACTED]' } });
      expect(a['audit.resource.id']).toBe('3');
      expect(JSON.parse(String(a['audit.change.after']))).toEqual({
        title: 'Dune',
        password: '[REDACTED]',
        meta: { author: { name: 'handler' }, tags: ['a', 'b', 'added'] },
        id: 3,
      });
    }
    const validated = await send('POST', '/tags', { body: { name: 'sci-fi' } });
    expect(validated.body).toEqual({ name: 'SCI-FI', id: 't-1' });
    expect(JSON.parse(String(validated.records[0]!.attributes['audit.request']))).toEqual({ body: { name: 'sci-fi' } });
  });

  it('records a form body read with parseBody(), repeated keys as arrays, secrets redacted', async () => {
    const traceId = crypto.randomUUID().replace(/-/g, '');
    const res = await fetch(`${esm.url}/form`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${'5'.repeat(16)}-01`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'tag=a&tag=b&password=hunter2',
    });
    expect(res.status).toBe(200);
    await receiver.waitFor(() => receiver.auditRecords().some((r) => r.traceId === traceId));
    const record = receiver.auditRecords().find((r) => r.traceId === traceId)!;
    expect(JSON.parse(String(record.attributes['audit.request']))).toEqual({ body: { tag: ['a', 'b'], password: '[REDACTED]' } });
  });

  it('a 500 handled by app.onError (or a sub-app\'s) carries the error message, with or without middleware in the chain', async () => {
    const alone = await send('GET', '/boom');
    expect(alone.status).toBe(500);
    expect(alone.body).toEqual({ error: 'something went wrong' });
    expect(alone.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'database exploded', 'http.route': '/boom' });
    expect(esm.output()).toContain('HONO ERROR database exploded');

    const composed = await send('POST', '/admin/boom', { headers: { 'x-role': 'admin' } });
    expect(composed.status).toBe(500);
    expect(composed.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'index corrupted', 'http.route': '/admin/boom' });

    // A sub-app's own onError answers inside the handler Hono mounted for it.
    const sub = await send('PUT', '/notes/n-1', { body: { text: 'x' } });
    expect(sub.status).toBe(503);
    expect(sub.records[0]!.attributes).toMatchObject({
      'audit.action': 'note.update',
      'audit.resource.id': 'n-1',
      'audit.outcome': 'failure',
      'audit.error.message': 'note store offline',
      'http.route': '/notes/:id',
    });
  });

  it('401 and 403 are denied: the attempted principal of a failed login, the route a middleware refused', async () => {
    const login = await send('POST', '/login', { body: { username: 'mallory', password: 'wrong' } });
    expect(login.status).toBe(401);
    expect(login.records).toHaveLength(1);
    const a = login.records[0]!.attributes;
    expect(a).toMatchObject({ 'audit.action': 'session.create', 'audit.outcome': 'denied', 'audit.actor.id': 'mallory', 'audit.meta.attempted_principal': true });
    expect(String(a['audit.request'])).not.toContain('wrong');

    // The middleware answers before the handler runs: the route is still the handler's.
    const refused = await send('DELETE', '/admin/books/isbn-978-0441');
    expect(refused.status).toBe(403);
    expect(refused.records[0]!.attributes).toMatchObject({
      'audit.action': 'book.delete',
      'audit.resource.id': 'isbn-978-0441',
      'audit.outcome': 'denied',
      'http.route': '/admin/books/:isbn',
    });
    const forbidden = await send('GET', '/forbidden');
    expect(forbidden.records[0]!.attributes['audit.outcome']).toBe('denied');
  });
});

describe('Hono (CommonJS, basePath) under --require otel-audit/register', () => {
  it('route template, body as sent, audit.set() on the one record, the message of an error Hono handles by default', async () => {
    const read = await recordsOf(receiver, cjs, 'GET', '/api/books/isbn-978-0441');
    expect(read.records[0]!.attributes).toMatchObject({ 'audit.action': 'book.read', 'audit.resource.id': 'isbn-978-0441', 'http.route': '/api/books/:isbn' });
    expect(read.records[0]!.resource['service.name']).toBe('hono-cjs');

    const created = await recordsOf(receiver, cjs, 'POST', '/api/books', { body: { title: 'Dune', draft: true } });
    expect(created.status).toBe(201);
    expect(created.records).toHaveLength(1);
    expect(created.records[0]!.attributes).toMatchObject({ 'audit.action': 'book.create', 'audit.tenant.id': 'tenant-cjs' });
    expect(JSON.parse(String(created.records[0]!.attributes['audit.request']))).toEqual({ body: { title: 'Dune', draft: true } });

    const boom = await recordsOf(receiver, cjs, 'GET', '/api/boom');
    expect(boom.status).toBe(500);
    expect(boom.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'database exploded' });
  });
});
