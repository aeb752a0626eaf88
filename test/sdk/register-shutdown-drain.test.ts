/**
 * SIGTERM in an app that handles it itself: the app's handler runs and the
 * process ends as the app decides (no re-raised signal), and the audit
 * records are delivered in the shutdown window even when the last attempt
 * failed and the steady backoff would wait a minute.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, request, startApp, tempDir } from '../helpers/app-process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('shutdown of an app with its own SIGTERM handler', () => {
  it('the handler runs, the process exits by itself, every record was delivered first', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.stop());
    const spool = tempDir('own-sigterm');
    cleanup.push(spool.remove);
    const env = {
      ...baseEnv(receiver.endpoint, spool.path),
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_AUDIT_RETRY_INITIAL_MS: '60000',
      OTEL_AUDIT_RETRY_MAX_MS: '60000',
    };
    const app = await startApp('own-sigterm-app.mjs', { env });
    cleanup.push(() => void app.stop('SIGKILL'));

    receiver.failNext(1, grpc.status.UNAVAILABLE);
    for (let i = 0; i < 20; i++) expect((await request(app.url, 'GET', `/widgets/${i}`)).status).toBe(200);
    // The first export failed: the next attempt of the steady state is a minute away.
    await receiver.waitFor(() => receiver.calls.logs >= 1);

    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('APP: closing on SIGTERM');
    expect(app.output()).toContain('APP: closed');
    expect(receiver.auditRecords().map((r) => Number(r.attributes['audit.emitter.seq'])).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(app.output()).not.toContain('left in the spool');
  });
});
