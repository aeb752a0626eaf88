import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

/** Requests still in flight: recorded at the timeout, at shutdown and when aborted, never as a success. */

let receiver: OtlpReceiver;
let spool: { path: string; remove: () => void };
const apps: AppProcess[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('inflight');
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await receiver?.stop();
  spool?.remove();
});

async function launch(env: Record<string, string> = {}): Promise<AppProcess> {
  const app = await startApp('express-app.mjs', { env: { ...baseEnv(receiver.endpoint, spool.path), ...env } });
  apps.push(app);
  return app;
}

/** Start GET /hold?tag=... under a fresh trace id; resolves once the handler holds it. */
async function hold(app: AppProcess, tag: string, signal?: AbortSignal): Promise<{ traceId: string; response: Promise<unknown> }> {
  const traceId = crypto.randomUUID().replace(/-/g, '');
  const response = fetch(`${app.url}/hold?tag=${tag}`, {
    headers: { traceparent: `00-${traceId}-${'5'.repeat(16)}-01` },
    ...(signal ? { signal } : {}),
  }).catch((err: unknown) => err);
  await receiver.waitFor(() => app.output().includes(`HOLDING ${tag}`));
  return { traceId, response };
}

const recordsOf = (traceId: string): DecodedLogRecord[] => receiver.auditRecords().filter((r) => r.traceId === traceId);

function expectInFlight(r: DecodedLogRecord): void {
  expect(r.attributes['url.path']).toBe('/hold');
  expect(r.attributes['audit.incomplete']).toBe(true);
  expect(r.attributes['audit.outcome']).toBe('failure');
  expect(r.attributes['http.response.status_code']).toBeUndefined();
}

describe('requests in flight', () => {
  it('a request held open past OTEL_AUDIT_TRACE_TIMEOUT_MS is recorded then, incomplete; its completion follows', async () => {
    const app = await launch({ OTEL_AUDIT_TRACE_TIMEOUT_MS: '300' });
    const { traceId, response } = await hold(app, 'slow');
    await receiver.waitFor(() => recordsOf(traceId).length >= 1);
    const first = recordsOf(traceId)[0]!;
    expectInFlight(first);
    const server = receiver.spans.find((s) => s.traceId === traceId && s.kind === 2);
    if (server) expect(first.spanId).toBe(server.spanId);
    await fetch(`${app.url}/release?tag=slow`);
    await response;
    await receiver.waitFor(() => recordsOf(traceId).length >= 2);
    const done = recordsOf(traceId)[1]!;
    expect(done.spanId).toBe(first.spanId);
    expect(done.attributes['audit.outcome']).toBe('success');
    expect(done.attributes['audit.incomplete']).toBeUndefined();
  });

  it('a request the client aborts is a failure marked aborted and incomplete, never a 200 success', async () => {
    const app = await launch();
    const controller = new AbortController();
    const { traceId, response } = await hold(app, 'abort', controller.signal);
    controller.abort();
    await response;
    await receiver.waitFor(() => recordsOf(traceId).length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    const records = recordsOf(traceId);
    expect(records).toHaveLength(1);
    expectInFlight(records[0]!);
    expect(records[0]!.attributes['audit.aborted']).toBe(true);
  });

  it('SIGTERM with a request in flight: its record is sent before the process exits, incomplete', async () => {
    const app = await launch();
    const { traceId } = await hold(app, 'term');
    await app.stop('SIGTERM');
    await receiver.waitFor(() => recordsOf(traceId).length >= 1);
    const records = recordsOf(traceId);
    expect(records).toHaveLength(1);
    expectInFlight(records[0]!);
  });
});
