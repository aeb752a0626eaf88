/**
 * What an operator reads on a service's stderr when the receiver goes away
 * and comes back: one line when it starts (what happens next), one when it
 * is over, no stack, no line per attempt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/processes.js';
import { baseEnv, request, startApp, tempDir } from '../helpers/app-process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Lines the SDK wrote about delivering audit records. */
const deliveryLines = (out: string): string[] => out.split('\n').filter((l) => /audit (record|export)|deliver/i.test(l));

describe('delivery problems on stderr', () => {
  it('receiver unreachable, then back: one line saying what happens next, one summary line, nothing else', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const spool = tempDir('report');
    cleanup.push(spool.remove);
    const env = { ...baseEnv(endpoint, spool.path), OTEL_TRACES_EXPORTER: 'none', OTEL_AUDIT_RETRY_INITIAL_MS: '50', OTEL_AUDIT_RETRY_MAX_MS: '200' };
    const app = await startApp('express-app.mjs', { env });
    cleanup.push(() => void app.stop());

    for (let i = 0; i < 20; i++) expect((await request(app.url, 'GET', `/users/${i}`)).status).toBe(200);
    // Many attempts fail meanwhile.
    await new Promise((r) => setTimeout(r, 1500));
    const receiver = await startOtlpReceiver({ port });
    cleanup.push(() => receiver.stop());
    await receiver.waitFor(() => receiver.auditRecords().length >= 20, 30_000);
    await new Promise((r) => setTimeout(r, 300));

    const out = app.output();
    const lines = deliveryLines(out);
    expect(lines, out).toHaveLength(2);
    expect(lines[0]).toBe(`otel-audit: cannot deliver audit records to ${endpoint} (ECONNREFUSED); retrying, spooling to ${spool.path}`);
    expect(lines[1]).toMatch(
      new RegExp(`^otel-audit: audit record delivery to ${endpoint} recovered after \\d+\\.\\d s; 20 records spooled meanwhile, 20 sent from the spool since$`),
    );
    // No stack dumps.
    expect(out).not.toMatch(/^\s+at /m);
  });
});
