import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, fakeJwt, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

/** Crafted requests: each one's record must land, storable and bounded. */

const MAX_VALUE_BYTES = 1024;
const NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

let receiver: OtlpReceiver;
let app: AppProcess;
let spool: { path: string; remove: () => void };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('hostile');
  app = await startApp('express-app.mjs', {
    env: {
      ...baseEnv(receiver.endpoint, spool.path),
      OTEL_AUDIT_MAX_VALUE_BYTES: String(MAX_VALUE_BYTES),
      // Large headers and request lines reach the app (as behind a proxy that allows them).
      NODE_OPTIONS: '--max-http-header-size=4194304',
    },
  });
});

afterAll(async () => {
  await app?.stop();
  await receiver?.stop();
  spool?.remove();
});

async function recordOf(
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<DecodedLogRecord> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const traceparent = `00-${traceId}-${'4'.repeat(16)}-01`;
  await request(app.url, method, path, { ...init, headers: { traceparent, ...init.headers } });
  const of = (): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);
  await receiver.waitFor(() => of().length >= 1);
  await new Promise((r) => setTimeout(r, 200));
  const records = of();
  expect(records).toHaveLength(1);
  return records[0]!;
}

/** Every value of the record is storable and bounded; names are dotted lower case. */
function expectStorable(r: DecodedLogRecord): void {
  for (const [key, v] of Object.entries(r.attributes)) {
    if (typeof v !== 'string') continue;
    expect(v.includes('\u0000'), `${key} has a NUL`).toBe(false);
    expect(LONE_SURROGATE.test(v), `${key} has a lone surrogate`).toBe(false);
    expect(/\\u0000|\\ud[89a-f]/i.test(v), `${key} has an escaped NUL or surrogate`).toBe(false);
    expect(Buffer.byteLength(v), `${key} is over the cap`).toBeLessThanOrEqual(MAX_VALUE_BYTES);
  }
  const action = String(r.attributes['audit.action']);
  expect(action).toMatch(NAME);
  expect(action.length).toBeLessThanOrEqual(128);
  const type = r.attributes['audit.resource.type'];
  if (type !== undefined) {
    expect(String(type)).toMatch(NAME);
    expect(String(type).length).toBeLessThanOrEqual(128);
  }
  const all = JSON.stringify(r);
  expect(/\\u0000/.test(all)).toBe(false);
}

describe('hostile input: the record of an attack always lands, storable and bounded', () => {
  it('NUL and U+FFFD in the path', async () => {
    const nul = await recordOf('GET', '/users/%00');
    expectStorable(nul);
    expect(nul.attributes['audit.resource.id']).toBe('\uFFFD');
    expectStorable(await recordOf('GET', '/users/%EF%BF%BD'));
  });

  it('a 300-character unmatched segment gives a bounded, well-formed action', async () => {
    const r = await recordOf('GET', `/${'q'.repeat(300)}`);
    expectStorable(r);
    // A segment over 256 characters is an identifier, never a name: the action stays short.
    expect(r.attributes['audit.action']).toBe('root.read');
    expect(r.attributes['audit.resource.id']).toBe('q'.repeat(300));
    expect(String(r.attributes['audit.action'])).toMatch(/\.list$|\.read$/);
  });

  it('a JSON body with NUL and a lone surrogate', async () => {
    const r = await recordOf('PUT', '/users/8', { body: { name: 'a\u0000b', odd: 'x\ud800y', [`k\u0000`]: 1 } });
    expectStorable(r);
    expect(String(r.attributes['audit.request'])).toContain('a\uFFFDb');
  });

  it('a JWT whose sub and name hold NUL', async () => {
    const r = await recordOf('GET', '/users/1', { headers: { authorization: `Bearer ${fakeJwt({ sub: 'u\u0000x', preferred_username: 'n\u0000' })}` } });
    expectStorable(r);
    expect(r.attributes['audit.actor.id']).toBe('u\uFFFDx');
  });

  it('a 70 KB user agent, a 70 KB path and a 70 KB resource id are capped with a marker', async () => {
    const ua = await recordOf('GET', '/users/2', { headers: { 'user-agent': 'U'.repeat(70_000) } });
    expectStorable(ua);
    expect(String(ua.attributes['user_agent.original'])).toContain('[truncated');
    const path = await recordOf('GET', `/things/${'z'.repeat(70_000)}`);
    expectStorable(path);
    expect(String(path.attributes['url.path'])).toContain('[truncated');
    const id = await recordOf('GET', `/users/${'b'.repeat(70_000)}`);
    expectStorable(id);
    expect(String(id.attributes['audit.resource.id'])).toContain('[truncated');
  });

  it('a handler error echoing 70 KB of input is capped, and secrets in it are masked', async () => {
    const r = await recordOf('POST', '/fail-echo', { body: { password: 'pw-secret', blob: 'e'.repeat(70_000) } });
    expectStorable(r);
    expect(r.attributes['audit.outcome']).toBe('failure');
    const msg = String(r.attributes['audit.error.message']);
    expect(msg).toContain('cannot parse');
    expect(msg).toContain('[truncated');
    expect(msg).not.toContain('pw-secret');
    expect(msg).toContain('[REDACTED]');
  });

  it('meta values: masked by key and capped', async () => {
    const r = await recordOf('POST', '/meta', { body: { calls: 0 } });
    expectStorable(r);
    expect(r.attributes['audit.meta.password']).toBe('[REDACTED]');
    expect(String(r.attributes['audit.meta.note'])).toContain('[truncated');
    expect(r.attributes['audit.meta.kept']).toBe('yes');
  });
});
