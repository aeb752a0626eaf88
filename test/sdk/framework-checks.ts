import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { deriveOperation } from '../../src/sdk/operation.js';
import { baseEnv, FIXTURES, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

/** One fixture app of a framework, as the register hook sees it. */
export interface FrameworkApp {
  /** File in test/fixtures (the apps of frameworks-config.cjs's routes). */
  fixture: string;
  loader: 'import' | 'require';
  env?: Record<string, string>;
  /** The framework's template of `/books/:isbn` (hapi: `/books/{isbn}`). */
  template: (express: string) => string;
  /** More routes answering a server error (500 unless `status` says), with the message their record must carry. */
  errors?: { path: string; message: string; status?: number }[];
  /** More routes answering 401, with what their record must say. */
  denied?: { path: string; route: string; action: string; resourceId: string }[];
}

/**
 * The checks every framework app passes under the register hook, as the
 * express app does: action and resource from the route template (ids that
 * path guessing gets wrong), the id of a created resource from the response,
 * the body as the client sent it (a field the handler adds is not in
 * `audit.request`), a redacted password, a denied login with its attempted
 * principal, 403 denied, and a 500 with the thrown error's message.
 */
export function describeFrameworkApp(name: string, app: FrameworkApp): void {
  describe(name, () => {
    let receiver: OtlpReceiver;
    let spool: { path: string; remove: () => void };
    let running: AppProcess;

    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      spool = tempDir('framework');
      running = await startApp(app.fixture, {
        loader: app.loader,
        env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_SERVICE_NAME: app.fixture, OTEL_AUDIT_CONFIG: `${FIXTURES}frameworks-config.cjs`, ...app.env },
      });
    });

    afterAll(async () => {
      await running?.stop();
      await receiver?.stop();
      spool?.remove();
    });

    async function recordOf(method: string, path: string, body?: unknown): Promise<{ status: number; record: DecodedLogRecord }> {
      const traceId = crypto.randomUUID().replace(/-/g, '');
      const res = await request(running.url, method, path, { body, headers: { traceparent: `00-${traceId}-${'4'.repeat(16)}-01` } });
      const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
      await receiver.waitFor(() => of().length >= 1);
      // Give a wrongly emitted extra record the chance to arrive.
      await new Promise((r) => setTimeout(r, 300));
      expect(of()).toHaveLength(1);
      return { status: res.status, record: of()[0]! };
    }

    it('action and resource from the route template', async () => {
      const book = await recordOf('GET', '/books/isbn-978-0441');
      expect(book.status).toBe(200);
      expect(book.record.attributes).toMatchObject({
        'http.route': app.template('/books/:isbn'),
        'audit.action': 'book.read',
        'audit.resource.type': 'book',
        'audit.resource.id': 'isbn-978-0441',
        'audit.outcome': 'success',
      });
      const note = await recordOf('GET', '/notes/by-slug/hello-world');
      const derived = deriveOperation('GET', '/notes/by-slug/:slug', { slug: 'hello-world' });
      expect(note.record.attributes).toMatchObject({
        'http.route': app.template('/notes/by-slug/:slug'),
        'audit.action': derived.action,
        'audit.resource.type': derived.resourceType,
        'audit.resource.id': 'hello-world',
      });
    });

    it('a create: id from the response, the body as sent (not what the handler added), password redacted', async () => {
      const { status, record } = await recordOf('POST', '/books', { n: 5, title: 'Dune', password: 'hunter2' });
      expect(status).toBe(201);
      expect(record.attributes).toMatchObject({ 'http.route': '/books', 'audit.action': 'book.create', 'audit.resource.id': 'b-5', 'audit.outcome': 'success' });
      expect(JSON.parse(String(record.attributes['audit.request']))).toEqual({ body: { n: 5, title: 'Dune', password: '[REDACTED]' } });
    });

    it('a failed login is denied with the attempted principal; 403 is denied', async () => {
      const login = await recordOf('POST', '/login', { username: 'mallory', password: 'wrong' });
      expect(login.status).toBe(401);
      expect(login.record.attributes).toMatchObject({ 'audit.action': 'session.create', 'audit.outcome': 'denied', 'audit.actor.id': 'mallory' });
      expect(String(login.record.attributes['audit.request'])).not.toContain('wrong');
      const forbidden = await recordOf('GET', '/forbidden');
      expect(forbidden.status).toBe(403);
      expect(forbidden.record.attributes['audit.outcome']).toBe('denied');
    });

    it('a thrown error: 500, failure with its message', async () => {
      const { status, record } = await recordOf('GET', '/boom');
      expect(status).toBe(500);
      expect(record.attributes).toMatchObject({ 'http.route': '/boom', 'audit.outcome': 'failure', 'audit.error.message': 'database exploded' });
    });

    for (const { path, route, action, resourceId } of app.denied ?? []) {
      it(`GET ${path}: 401, denied, named by its route`, async () => {
        const { status, record } = await recordOf('GET', path);
        expect(status).toBe(401);
        expect(record.attributes).toMatchObject({ 'http.route': route, 'audit.action': action, 'audit.resource.id': resourceId, 'audit.outcome': 'denied' });
      });
    }

    for (const { path, message, status: expected = 500 } of app.errors ?? []) {
      it(`GET ${path}: ${expected}, failure with the message "${message}"`, async () => {
        const { status, record } = await recordOf('GET', path);
        expect(status).toBe(expected);
        expect(record.attributes).toMatchObject({ 'http.route': path, 'audit.outcome': 'failure', 'audit.error.message': message });
      });
    }
  });
}
