import { describe, expect, it } from 'vitest';
import { fakeJwt, type AppProcess } from '../helpers/app-process.js';
import { recordsOf, type AppRequestInit } from '../helpers/app-records.js';
import { useFrameworkApps } from '../helpers/framework-apps.js';
import type { OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let esm: AppProcess;
let cjs: AppProcess;

useFrameworkApps('koa', (apps) => ({ receiver, esm, cjs } = apps));

const send = (method: string, path: string, init?: AppRequestInit, expected?: number) => recordsOf(receiver, esm, method, path, init, expected);

const sent = () => ({ title: 'Dune', draft: true, password: 'hunter2', meta: { author: { name: 'client' }, tags: ['a', 'b'] } });

describe('Koa 3 + @koa/router + @koa/bodyparser (ESM) under --import otel-audit/register', () => {
  it('action and resource from the router template; actor from the JWT', async () => {
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
    const replaced = await send('POST', '/replace', { body: { keep: 'this' } });
    expect(JSON.parse(String(replaced.records[0]!.attributes['audit.request']))).toEqual({ body: { keep: 'this' } });
  });

  it('a 500 carries the error message: from an error middleware (the app\'s or a router\'s), from Koa\'s own handling, from ctx.message', async () => {
    const caught = await send('GET', '/boom');
    expect(caught.status).toBe(500);
    expect(caught.body).toEqual({ error: 'something went wrong' });
    expect(caught.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'database exploded', 'http.route': '/boom' });
    expect(esm.output()).toContain('KOA ERROR database exploded');

    const uncaught = await send('GET', '/default-errors/boom');
    expect(uncaught.status).toBe(500);
    expect(uncaught.body).toBe('Internal Server Error');
    expect(uncaught.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'disk full' });

    const inRouter = await send('GET', '/reports/r-1');
    expect(inRouter.status).toBe(500);
    expect(inRouter.records[0]!.attributes).toMatchObject({
      'audit.action': 'report.read',
      'audit.resource.id': 'r-1',
      'audit.outcome': 'failure',
      'audit.error.message': 'report engine down',
      'http.route': '/reports/:id',
    });

    const phrase = await send('GET', '/status-message');
    expect(phrase.status).toBe(503);
    expect(phrase.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'maintenance window' });
  });

  it('401 and 403 are denied: the attempted principal of a failed login, the route of a refused delete', async () => {
    const login = await send('POST', '/login', { body: { username: 'mallory', password: 'wrong' } });
    expect(login.status).toBe(401);
    expect(login.records).toHaveLength(1);
    const a = login.records[0]!.attributes;
    expect(a).toMatchObject({ 'audit.action': 'session.create', 'audit.outcome': 'denied', 'audit.actor.id': 'mallory', 'audit.meta.attempted_principal': true });
    expect(String(a['audit.request'])).not.toContain('wrong');
    expect(a['audit.error.message']).toBeUndefined();

    const refused = await send('DELETE', '/books/isbn-978-0441');
    expect(refused.status).toBe(403);
    expect(refused.records[0]!.attributes).toMatchObject({
      'audit.action': 'book.delete',
      'audit.resource.id': 'isbn-978-0441',
      'audit.outcome': 'denied',
      'http.route': '/books/:isbn',
    });
    const forbidden = await send('GET', '/forbidden');
    expect(forbidden.records[0]!.attributes['audit.outcome']).toBe('denied');
  });
});

describe('Koa (CommonJS) under --require otel-audit/register', () => {
  it('route template, body as sent, audit.set() on the one record, the message of an error Koa handles itself', async () => {
    const read = await recordsOf(receiver, cjs, 'GET', '/books/isbn-978-0441');
    expect(read.records[0]!.attributes).toMatchObject({ 'audit.action': 'book.read', 'audit.resource.id': 'isbn-978-0441', 'http.route': '/books/:isbn' });
    expect(read.records[0]!.resource['service.name']).toBe('koa-cjs');

    const created = await recordsOf(receiver, cjs, 'POST', '/books', { body: { title: 'Dune', draft: true } });
    expect(created.status).toBe(201);
    expect(created.records).toHaveLength(1);
    expect(created.records[0]!.attributes).toMatchObject({ 'audit.action': 'book.create', 'audit.tenant.id': 'tenant-cjs' });
    expect(JSON.parse(String(created.records[0]!.attributes['audit.request']))).toEqual({ body: { title: 'Dune', draft: true } });

    const boom = await recordsOf(receiver, cjs, 'GET', '/boom');
    expect(boom.status).toBe(500);
    expect(boom.records[0]!.attributes).toMatchObject({ 'audit.outcome': 'failure', 'audit.error.message': 'database exploded' });
  });
});
