import { afterAll, beforeAll, expect, it } from 'vitest';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

let receiver: OtlpReceiver;
let app: AppProcess;
let spool: { path: string; remove: () => void };

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spool = tempDir('sampling');
  app = await startApp('express-app.mjs', {
    env: { ...baseEnv(receiver.endpoint, spool.path), OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
  });
});

afterAll(async () => {
  await app?.stop();
  await receiver?.stop();
  spool?.remove();
});

it('a trace sampled out for the APM is still audited; the APM receives nothing', async () => {
  for (let i = 0; i < 20; i++) {
    const res = await request(app.url, 'GET', `/users/${i}`);
    expect(res.status).toBe(200);
  }
  await receiver.waitFor(() => receiver.auditRecords().length >= 20);
  // Well past the APM's batch delay: nothing may arrive there.
  await new Promise((r) => setTimeout(r, 1000));
  expect(receiver.auditRecords()).toHaveLength(20);
  expect(receiver.spans).toHaveLength(0);
  expect(receiver.calls.traces).toBe(0);
  const ids = receiver.auditRecords().map((r) => r.attributes['audit.resource.id']);
  expect(new Set(ids).size).toBe(20);
  // Unsampled: the trace flags of the record say so.
  expect(receiver.auditRecords().every((r) => (r.flags & 1) === 0)).toBe(true);
});
