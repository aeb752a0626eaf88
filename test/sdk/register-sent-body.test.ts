import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let spool: { path: string; remove: () => void };
const apps = new Map<string, AppProcess>();

const FIXTURES = ['mutating-express-app.mjs', 'mutating-fastify-app.mjs'] as const;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('sent-body');
  for (const fixture of FIXTURES) {
    apps.set(fixture, await startApp(fixture, { env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_SERVICE_NAME: fixture } }));
  }
});

afterAll(async () => {
  await Promise.all([...apps.values()].map((a) => a.stop()));
  await receiver?.stop();
  spool?.remove();
});

/** Sends one request (`chunked`: as a stream, without Content-Length) and returns its trace's one audit record. */
async function recordOf(fixture: string, path: string, body: unknown, chunked = false): Promise<DecodedLogRecord> {
  const app = apps.get(fixture)!;
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const headers = { traceparent: `00-${traceId}-${'3'.repeat(16)}-01` };
  let status: number;
  if (chunked) {
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    // `duplex` is required by fetch for a stream body; the DOM typings lack it.
    const init = { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit;
    const res = await fetch(app.url + path, init);
    await res.arrayBuffer();
    status = res.status;
  } else {
    status = (await request(app.url, 'POST', path, { body, headers })).status;
  }
  expect(status).toBeLessThan(300);
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  await receiver.waitFor(() => of().length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  const records = of();
  expect(records).toHaveLength(1);
  return records[0]!;
}

const sent = () => ({ title: 'new', draft: true, meta: { author: { name: 'client' }, tags: ['a', 'b'] } });

describe.each(FIXTURES)('%s: the request body as the client sent it', (fixture) => {
  it('a handler that adds, deletes and changes fields: audit.request is the body as sent, after is the handler result', async () => {
    const r = await recordOf(fixture, '/posts', sent());
    expect(JSON.parse(String(r.attributes['audit.request']))).toEqual({ body: sent() });
    expect(r.attributes['audit.resource.id']).toBe('3');
    expect(JSON.parse(String(r.attributes['audit.change.after']))).toEqual({
      title: 'new',
      meta: { author: { name: 'handler' }, tags: ['a', 'b', 'added'] },
      id: 3,
    });
  });

  it('a chunked body (no Content-Length) is copied too', async () => {
    const r = await recordOf(fixture, '/posts', sent(), true);
    expect(JSON.parse(String(r.attributes['audit.request']))).toEqual({ body: sent() });
  });

  it('a handler that replaces the body: audit.request is the body as sent', async () => {
    const r = await recordOf(fixture, '/replace', { keep: 'this', password: 'p' });
    expect(JSON.parse(String(r.attributes['audit.request']))).toEqual({ body: { keep: 'this', password: '[REDACTED]' } });
  });
});
