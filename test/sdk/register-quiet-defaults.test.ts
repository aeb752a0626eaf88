import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
const dirs: { path: string; remove: () => void }[] = [];
const apps: AppProcess[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  for (const app of apps) await app.stop();
  await receiver?.stop();
  for (const dir of dirs) dir.remove();
});

/** The static fixture app with `env` added; it serves `/app.js` from a temp directory. */
async function startStaticApp(env: Record<string, string>): Promise<AppProcess> {
  const files = tempDir('static-files');
  const spool = tempDir('static-spool');
  dirs.push(files, spool);
  writeFileSync(join(files.path, 'app.js'), 'console.log(1);\n');
  const app = await startApp('static-express-app.mjs', { env: { ...baseEnv(receiver.endpoint, spool.path), STATIC_DIR: files.path, ...env } });
  apps.push(app);
  return app;
}

/** Sends the three requests, each in its own trace; returns the HTTP statuses and the number of records of each trace. */
async function countsOf(app: AppProcess): Promise<{ statuses: number[]; counts: number[] }> {
  const sent: { method: string; path: string; headers: Record<string, string> }[] = [
    { method: 'GET', path: '/app.js', headers: {} },
    { method: 'OPTIONS', path: '/users/1', headers: { origin: 'http://example.test', 'access-control-request-method': 'PUT' } },
    { method: 'GET', path: '/users/1', headers: {} },
  ];
  const traces: string[] = [];
  const statuses: number[] = [];
  for (const r of sent) {
    const traceId = crypto.randomUUID().replace(/-/g, '');
    traces.push(traceId);
    const res = await request(app.url, r.method, r.path, { headers: { traceparent: `00-${traceId}-${'1'.repeat(16)}-01`, ...r.headers } });
    statuses.push(res.status);
  }
  const of = (traceId: string): number => receiver.auditRecords().filter((r) => r.traceId === traceId).length;
  // The last request is always audited: once its record is in, the earlier ones had their chance.
  await receiver.waitFor(() => of(traces[2]!) >= 1);
  await new Promise((r) => setTimeout(r, 300));
  return { statuses, counts: traces.map(of) };
}

describe('static files and CORS preflights under --import otel-audit/register', () => {
  it('are not audited by default; an API request is', async () => {
    const { statuses, counts } = await countsOf(await startStaticApp({}));
    expect(statuses).toEqual([200, 204, 200]);
    expect(counts).toEqual([0, 0, 1]);
  });

  it('are audited when OTEL_AUDIT_AUDIT_PREFLIGHT=true and OTEL_AUDIT_STATIC_EXTENSIONS is blank', async () => {
    const { statuses, counts } = await countsOf(await startStaticApp({ OTEL_AUDIT_AUDIT_PREFLIGHT: 'true', OTEL_AUDIT_STATIC_EXTENSIONS: '' }));
    expect(statuses).toEqual([200, 204, 200]);
    expect(counts).toEqual([1, 1, 1]);
  });
});
