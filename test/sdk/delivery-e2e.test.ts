import { afterEach, describe, expect, it } from 'vitest';
import type { DecodedLogRecord } from '../../src/otlp/decoded-types.js';
import { baseEnv, request, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function seqsOf(records: DecodedLogRecord[], emitter: string): number[] {
  return records.filter((r) => r.attributes['audit.emitter.id'] === emitter).map((r) => Number(r.attributes['audit.emitter.seq']));
}

async function load(app: AppProcess, n: number, concurrency: number, onProgress?: (done: number) => void): Promise<number> {
  let next = 0;
  let ok = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      try {
        const res = await request(app.url, 'GET', `/users/${i}`);
        if (res.status === 200) ok++;
      } catch {
        return; // the process is going away
      }
      onProgress?.(ok);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ok;
}

describe('delivery without silent loss', () => {
  it('receiver down for a while, then up: every record arrives once, in emitter-seq order, without gaps', async () => {
    const receiver = await startOtlpReceiver();
    const port = receiver.port;
    const spool = tempDir('down-up');
    cleanup.push(spool.remove);
    const app = await startApp('express-app.mjs', { env: baseEnv(receiver.endpoint, spool.path) });
    cleanup.push(() => void app.stop());

    expect(await load(app, 30, 5)).toBe(30);
    await receiver.waitFor(() => receiver.auditRecords().length >= 30);
    const first = receiver.auditRecords().slice();
    await receiver.stop();

    expect(await load(app, 120, 8)).toBe(120);
    await new Promise((r) => setTimeout(r, 1500)); // retries fail meanwhile; records go to the spool

    const back = await startOtlpReceiver({ port });
    cleanup.push(() => back.stop());
    await back.waitFor(() => back.auditRecords().length >= 120, 30_000);
    expect(await load(app, 10, 2)).toBe(10);
    await back.waitFor(() => back.auditRecords().length >= 130, 30_000);
    await new Promise((r) => setTimeout(r, 500));

    const all = [...first, ...back.auditRecords()];
    const emitter = String(all[0]!.attributes['audit.emitter.id']);
    const seqs = seqsOf(all, emitter);
    expect(seqs).toHaveLength(160);
    expect(seqs).toEqual(Array.from({ length: 160 }, (_, i) => i + 1));
  });

  it('SIGTERM mid-load loses nothing: the rest is spooled and replayed on the next start', async () => {
    const receiver = await startOtlpReceiver();
    const port = receiver.port;
    const spool = tempDir('sigterm');
    cleanup.push(spool.remove);
    const env = { ...baseEnv(receiver.endpoint, spool.path), OTEL_LOG_LEVEL: 'info', OTEL_AUDIT_SHUTDOWN_TIMEOUT_MS: '1000' };
    const app = await startApp('express-app.mjs', { env });

    // Load; halfway the receiver goes away, then the process is told to stop.
    let stopped = false;
    const loading = load(app, 100_000, 10, (done) => {
      if (done === 150 && !stopped) {
        stopped = true;
        void receiver.stop();
      }
      if (done === 400) app.child.kill('SIGTERM');
    });
    const exit = await app.exited;
    await loading;
    expect(exit).toBe('SIGTERM');
    const m = /emitted=(\d+) exported=(\d+) spooled=(\d+) replayed=\d+ dropped=(\d+)/.exec(app.output());
    expect(m, app.output()).not.toBeNull();
    const [emitted, exported, spooled, dropped] = m!.slice(1).map(Number) as [number, number, number, number];
    expect(emitted).toBeGreaterThanOrEqual(400);
    expect(dropped).toBe(0);
    expect(spooled).toBeGreaterThan(0);
    const delivered = receiver.auditRecords().slice();
    // At least what the SDK saw acknowledged: an export the receiver took in as
    // it went away may never have been answered, and is spooled as well
    // (delivery is at least once; the sink keeps one row per record).
    expect(delivered.length).toBeGreaterThanOrEqual(exported);

    // Next start, receiver back: the spool is replayed.
    const back = await startOtlpReceiver({ port });
    cleanup.push(() => back.stop());
    const again = await startApp('express-app.mjs', { env });
    cleanup.push(() => void again.stop());
    const emitter = String(delivered[0]!.attributes['audit.emitter.id']);
    await back.waitFor(() => seqsOf(back.auditRecords(), emitter).length >= emitted - exported, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const seqs = [...new Set(seqsOf([...delivered, ...back.auditRecords()], emitter))].sort((a, b) => a - b);
    // Requests served while the process was shutting down were recorded (and spooled) too.
    const last = seqs[seqs.length - 1]!;
    expect(last).toBeGreaterThanOrEqual(emitted);
    expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  });

  it('process.exit() right after a request: the record is spooled on the way out and sent by the next start', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.stop());
    const spool = tempDir('exit');
    cleanup.push(spool.remove);
    // A long export delay: nothing is sent before the process exits.
    const env = { ...baseEnv(receiver.endpoint, spool.path), OTEL_AUDIT_EXPORT_DELAY_MS: '60000' };
    const app = await startApp('exit-app.mjs', { env });
    expect((await request(app.url, 'GET', '/widgets/7')).status).toBe(200);
    expect((await request(app.url, 'GET', '/exit')).status).toBe(200);
    expect(await app.exited).toBe(0);
    expect(receiver.auditRecords()).toHaveLength(0);

    const again = await startApp('exit-app.mjs', { env: { ...env, OTEL_AUDIT_EXPORT_DELAY_MS: '20' } });
    cleanup.push(() => void again.stop());
    await receiver.waitFor(() => receiver.auditRecords().length >= 2, 20_000);
    const got = receiver.auditRecords().map((r) => [r.attributes['audit.action'], r.attributes['audit.emitter.seq']]);
    expect(got).toEqual([
      ['widget.read', 1],
      ['exit.list', 2],
    ]);
  });
});
