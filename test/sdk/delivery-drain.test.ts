import * as grpc from '@grpc/grpc-js';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditDelivery, type DeliveryOptions } from '../../src/sdk/delivery/delivery.js';
import { OtlpTransport } from '../../src/sdk/delivery/otlp-transport.js';
import { Spool } from '../../src/sdk/delivery/spool.js';
import { tempDir } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { numberedRecord, range, seqsOf } from './delivery-records.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A steady-state backoff far longer than the shutdown windows below. */
const SLOW_RETRY: DeliveryOptions = { queueSize: 100, batchSize: 10, exportDelayMs: 5, retryInitialMs: 60_000, retryMaxMs: 60_000 };

/** The warnings and errors diag reports while a test runs. */
function captureDiag(): string[] {
  const lines: string[] = [];
  const keep = (message: string): void => void lines.push(message);
  const logger: DiagLogger = { error: keep, warn: keep, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  cleanup.push(() => diag.disable());
  return lines;
}

async function setup(): Promise<{ receiver: OtlpReceiver; dir: string; delivery: AuditDelivery }> {
  const receiver = await startOtlpReceiver();
  cleanup.push(() => receiver.stop());
  const dir = tempDir('drain');
  cleanup.push(dir.remove);
  const spool = new Spool({ dir: dir.path, maxBytes: 10_000_000, ownerId: 'a1' });
  spool.open();
  const delivery = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, {
    ...SLOW_RETRY,
    endpoint: receiver.endpoint,
  });
  cleanup.push(() => delivery.shutdown(100));
  return { receiver, dir: dir.path, delivery };
}

/** Records left in a spool directory (read as the next start would). */
function leftIn(dir: string): number {
  const spool = new Spool({ dir, maxBytes: 10_000_000, ownerId: 'b2' });
  spool.open();
  try {
    return spool.pendingRecords();
  } finally {
    spool.close();
  }
}

async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await new Promise((r) => setTimeout(r, 10));
}

describe('shutdown drains the queue and the spool', () => {
  it('a retry waiting out the steady backoff is made at once: everything is sent within the window, nothing is left', async () => {
    const { receiver, dir, delivery } = await setup();
    receiver.failNext(3, grpc.status.UNAVAILABLE);
    for (let i = 1; i <= 30; i++) delivery.enqueue(numberedRecord(i));
    // The first send failed: the records are in the spool, the next attempt is a minute away.
    await until(() => delivery.getStats().retries >= 1);
    expect(delivery.getStats().spooled).toBeGreaterThan(0);

    await delivery.shutdown(10_000);
    expect(seqsOf(receiver.auditRecords())).toEqual(range(1, 30));
    expect(leftIn(dir)).toBe(0);
    expect(delivery.getStats()).toMatchObject({ emitted: 30, exported: 30, dropped: 0 });
  });

  it('records enqueued after a failed send go out in the window too (memory and spool alike)', async () => {
    const { receiver, dir, delivery } = await setup();
    receiver.failNext(1, grpc.status.UNAVAILABLE);
    for (let i = 1; i <= 10; i++) delivery.enqueue(numberedRecord(i));
    await until(() => delivery.getStats().retries >= 1);
    for (let i = 11; i <= 25; i++) delivery.enqueue(numberedRecord(i));

    await delivery.shutdown(10_000);
    expect(seqsOf(receiver.auditRecords())).toEqual(range(1, 25));
    expect(leftIn(dir)).toBe(0);
  });

  it('receiver down for the whole window: the records stay in the spool and one line says how many and where', async () => {
    const lines = captureDiag();
    const { receiver, dir, delivery } = await setup();
    receiver.setAvailable(false);
    for (let i = 1; i <= 25; i++) delivery.enqueue(numberedRecord(i));
    await delivery.shutdown(300);
    expect(receiver.auditRecords()).toHaveLength(0);
    expect(leftIn(dir)).toBe(25);
    const left = lines.filter((l) => l.includes('left in the spool'));
    expect(left).toEqual([
      `otel-audit: 25 audit records left in the spool ${dir} (not delivered within the shutdown window (300 ms)); ` +
        `the next start with this spool directory sends them, or run: otel-audit spool replay --dir ${dir}`,
    ]);

    // The next start sends them.
    receiver.setAvailable(true);
    const spool = new Spool({ dir, maxBytes: 10_000_000, ownerId: 'c3' });
    spool.open();
    const next = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, SLOW_RETRY);
    expect(await next.flush(10_000)).toBe(true);
    await next.shutdown(100);
    expect(seqsOf(receiver.auditRecords())).toEqual(range(1, 25));
  });

  it('an outage is one line when it starts and one when the spool has been sent, whatever the number of attempts', async () => {
    const lines = captureDiag();
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.stop());
    const dir = tempDir('outage');
    cleanup.push(dir.remove);
    const spool = new Spool({ dir: dir.path, maxBytes: 10_000_000, ownerId: 'd4' });
    spool.open();
    const delivery = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, {
      queueSize: 100, batchSize: 10, exportDelayMs: 5, retryInitialMs: 5, retryMaxMs: 20, endpoint: receiver.endpoint,
    });
    cleanup.push(() => delivery.shutdown(100));
    receiver.setAvailable(false);
    for (let i = 1; i <= 40; i++) delivery.enqueue(numberedRecord(i));
    await until(() => delivery.getStats().retries >= 10);
    receiver.setAvailable(true);
    expect(await delivery.flush(10_000)).toBe(true);
    expect(seqsOf(receiver.auditRecords())).toEqual(range(1, 40));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      `otel-audit: cannot deliver audit records to ${receiver.endpoint} (UNAVAILABLE: receiver unavailable); retrying, spooling to ${dir.path}`,
    );
    expect(lines[1]).toMatch(
      new RegExp(`^otel-audit: audit record delivery to ${receiver.endpoint} recovered after \\d+\\.\\d s; 40 records spooled meanwhile, 40 sent from the spool since$`),
    );
  });
});
