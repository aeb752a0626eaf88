import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuditDelivery, type DeliveryOptions } from '../../src/sdk/delivery/delivery.js';
import { OtlpTransport } from '../../src/sdk/delivery/otlp-transport.js';
import { Spool } from '../../src/sdk/delivery/spool.js';
import type { AuditRecord } from '../../src/sdk/record.js';
import { tempDir } from '../helpers/app-process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { numberedRecord as rec, range, seqsOf as seqs } from './delivery-records.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const OPTS: DeliveryOptions = { queueSize: 20, batchSize: 50, exportDelayMs: 20, retryInitialMs: 30, retryMaxMs: 60 };

async function setup(): Promise<{ delivery: AuditDelivery; spool: Spool; receiver: Awaited<ReturnType<typeof startOtlpReceiver>>; dir: string }> {
  const receiver = await startOtlpReceiver();
  cleanup.push(() => receiver.stop());
  const dir = tempDir('spool-writes');
  cleanup.push(dir.remove);
  const spool = new Spool({ dir: dir.path, maxBytes: 50_000_000, ownerId: 'e2' });
  spool.open();
  const delivery = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, OPTS);
  cleanup.push(() => delivery.shutdown(100));
  return { delivery, spool, receiver, dir: dir.path };
}


describe('records bound for the spool are written a batch at a time', () => {
  it('1,000 records during an outage take a few dozen appends, not 1,000; all arrive in order afterwards', async () => {
    const { delivery, spool, receiver } = await setup();
    receiver.setAvailable(false);
    const append = vi.spyOn(spool, 'append');
    for (let i = 1; i <= 1000; i++) {
      delivery.enqueue(rec(i));
      // Spread over a few event-loop turns, as requests would be.
      if (i % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(delivery.getStats().spooled).toBe(1000);
    // One append per batch of 50 (or per delay), a few more for the failed sends moved to disk.
    expect(append.mock.calls.length).toBeLessThanOrEqual(40);
    expect(append.mock.calls.length).toBeGreaterThan(0);
    receiver.setAvailable(true);
    expect(await delivery.flush(10_000)).toBe(true);
    expect(seqs(receiver.auditRecords())).toEqual(range(1, 1000));
    expect(delivery.getStats()).toMatchObject({ emitted: 1000, exported: 1000, dropped: 0 });
  });

  it('what waits for the spool is written on the way out (process.exit) and sent by the next start', async () => {
    const { delivery, receiver, dir } = await setup();
    receiver.setAvailable(false);
    for (let i = 1; i <= 30; i++) delivery.enqueue(rec(i));
    // Fewer than a batch since the spool took over: some wait in memory.
    expect(delivery.getStats().queued).toBeGreaterThan(0);
    delivery.spoolNow();
    receiver.setAvailable(true);
    const spool = new Spool({ dir, maxBytes: 50_000_000, ownerId: 'e3' });
    spool.open();
    const next = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, OPTS);
    cleanup.push(() => next.shutdown(100));
    expect(await next.flush(10_000)).toBe(true);
    expect(seqs(receiver.auditRecords())).toEqual(range(1, 30));
  });

  it('shutdown with the receiver down writes what waits to the spool', async () => {
    const { delivery, receiver, dir } = await setup();
    receiver.setAvailable(false);
    for (let i = 1; i <= 30; i++) delivery.enqueue(rec(i));
    await delivery.shutdown(50);
    expect(delivery.getStats()).toMatchObject({ spooled: 30, queued: 0, dropped: 0 });
    const spool = new Spool({ dir, maxBytes: 50_000_000, ownerId: 'e4' });
    spool.open();
    const out: AuditRecord[] = [];
    for (let b = spool.peek(100); b; b = spool.peek(100)) {
      out.push(...b.records);
      spool.ack(b);
    }
    expect(seqs(out)).toEqual(range(1, 30));
  });
});
