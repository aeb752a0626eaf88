import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { MAX_SEGMENT_LENGTH } from '../../src/sdk/input-limits.js';
import { baseEnv, FIXTURES, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let app: AppProcess;
let spool: { path: string; remove: () => void };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('hostile');
  app = await startApp('input-app.mjs', {
    env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_AUDIT_CONFIG: `${FIXTURES}input-config.cjs` },
  });
});

afterAll(async () => {
  await app?.stop();
  await receiver?.stop();
  spool?.remove();
});

/** Send one request (raw body) and return the single audit record of its trace. */
async function recordOf(method: string, path: string, body?: string, contentType?: string): Promise<DecodedLogRecord> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const headers: Record<string, string> = { traceparent: `00-${traceId}-${'1'.repeat(16)}-01` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  const res = await fetch(app.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  await res.arrayBuffer();
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  await receiver.waitFor(() => of().length >= 1);
  return of()[0] as DecodedLogRecord;
}

describe('hostile input under the register hook (express)', () => {
  it('a path of 15,000 underscores matching no route gets a short route and action', async () => {
    const r = await recordOf('GET', '/a' + '_'.repeat(15_000) + 'a1');
    expect(r.attributes['http.route']).toBe('/:id');
    expect(String(r.attributes['audit.action']).length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH + 16);
    expect(String(r.attributes['audit.resource.type']).length).toBeLessThanOrEqual(MAX_SEGMENT_LENGTH);
  });

  it('query parameters are recorded as sent, prototype names included', async () => {
    const r = await recordOf('GET', '/search?toString=z&a=1&a=2&__proto__=p&constructor=c');
    const request = JSON.parse(String(r.attributes['audit.request'])) as { query: Record<string, unknown> };
    expect(request.query).toEqual({ toString: 'z', a: ['1', '2'], ['__proto__']: 'p', constructor: 'c' });
  });

  it('text bodies are not recorded unless a rule asks for them', async () => {
    const r = await recordOf('POST', '/notes', 'user=bob&password=hunter2', 'text/plain');
    const request = String(r.attributes['audit.request']);
    expect(request).not.toContain('hunter2');
    expect(JSON.parse(request)).toEqual({ body: '[text body: 25 chars]' });
  });

  it('a captured text or XML body has the values of redacted keys replaced', async () => {
    const form = await recordOf('POST', '/notes-captured', 'user=bob&password=hunter2&pin=1234', 'text/plain');
    expect(JSON.parse(String(form.attributes['audit.request']))).toEqual({ body: 'user=bob&password=[REDACTED]&pin=[REDACTED]' });
    const xml = await recordOf('POST', '/notes-captured', '<login><user>bob</user><password>hunter2</password></login>', 'application/xml');
    expect(JSON.parse(String(xml.attributes['audit.request']))).toEqual({ body: '<login><user>bob</user><password>[REDACTED]</password></login>' });
  });

  it('a 1.4 MB body of 100k keys is not walked: the record says how big it was', async () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, i])));
    const r = await recordOf('POST', '/echo', body, 'application/json');
    expect(JSON.parse(String(r.attributes['audit.request']))).toEqual({ body: `[body: ${Buffer.byteLength(body)} bytes, not recorded]` });
  });

  it('a 50 KB body of 4,000 keys is recorded within the value cap', async () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`key${i}`, i])));
    const r = await recordOf('POST', '/echo', body, 'application/json');
    const request = String(r.attributes['audit.request']);
    expect(Buffer.byteLength(request)).toBeLessThanOrEqual(4096);
    expect(request).toContain('"key0":0');
    expect(request).toContain('[truncated');
  });
});
