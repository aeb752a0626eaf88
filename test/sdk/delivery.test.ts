import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleTransport } from '../../src/sdk/delivery/console-transport.js';
import { AuditDelivery, type DeliveryOptions } from '../../src/sdk/delivery/delivery.js';
import { OtlpTransport } from '../../src/sdk/delivery/otlp-transport.js';
import { Spool } from '../../src/sdk/delivery/spool.js';
import type { AuditRecord } from '../../src/sdk/record.js';
import { tempDir } from '../helpers/app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { numberedRecord } from './delivery-records.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const OPTS: DeliveryOptions = { queueSize: 50, batchSize: 10, exportDelayMs: 5, retryInitialMs: 50, retryMaxMs: 200 };

function rec(seq: number): AuditRecord {
  return numberedRecord(seq, { 'audit.resource.type': 'user', 'audit.resource.id': String(seq) });
}

async function setup(spoolMax = 10_000_000, withSpool = true): Promise<{ receiver: OtlpReceiver; delivery: AuditDelivery }> {
  const receiver = await startOtlpReceiver();
  cleanup.push(() => receiver.stop());
  const dir = tempDir('delivery');
  cleanup.push(dir.remove);
  let spool: Spool | undefined;
  if (withSpool) {
    spool = new Spool({ dir: dir.path, maxBytes: spoolMax, ownerId: 'e1' });
    spool.open();
  }
  const delivery = new AuditDelivery(new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }), spool, OPTS);
  cleanup.push(() => delivery.shutdown(100));
  return { receiver, delivery };
}

const seqs = (r: OtlpReceiver): number[] => r.auditRecords().map((x) => Number(x.attributes['audit.emitter.seq']));

describe('AuditDelivery over the official OTLP gRPC exporter', () => {
  it('delivers in order as OTLP log records with event name audit, trace context and attributes, no body', async () => {
    const { receiver, delivery } = await setup();
    for (let i = 1; i <= 35; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(5000)).toBe(true);
    expect(seqs(receiver)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    const first = receiver.auditRecords()[0]!;
    expect(first.eventName).toBe('audit');
    expect(first.traceId).toBe(rec(1).traceId);
    expect(first.spanId).toBe(rec(1).spanId);
    expect(first.timeUnixNano).toBe(rec(1).timeUnixNano);
    expect(first.attributes).toMatchObject({ 'audit.action': 'user.read', 'audit.resource.type': 'user', 'audit.resource.id': '1' });
    expect(first.body).toBeNull();
    expect(first.scope.name).toBe('otel-audit');
    expect(delivery.getStats()).toMatchObject({ emitted: 35, exported: 35, dropped: 0 });
  });

  it('a backlog goes out in catch-up exports of several batches, a trickle one batch at a time', async () => {
    const { receiver, delivery } = await setup();
    // 45 records at once (queue 50, batch 10): behind by more than two batches.
    for (let i = 1; i <= 45; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(5000)).toBe(true);
    expect(seqs(receiver)).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect(receiver.calls.logs).toBe(1);
    // Fewer than two batches waiting: a batch per export, as configured.
    receiver.clear();
    for (let i = 46; i <= 60; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(5000)).toBe(true);
    expect(seqs(receiver)).toEqual(Array.from({ length: 15 }, (_, i) => i + 46));
    expect(receiver.calls.logs).toBe(2);
    expect(delivery.getStats()).toMatchObject({ spooled: 0, exported: 60 });
  });

  it('retryable failures are retried (spooled meanwhile) until they go through; nothing is lost or reordered', async () => {
    const { receiver, delivery } = await setup();
    receiver.failNext(4, grpc.status.UNAVAILABLE);
    for (let i = 1; i <= 40; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(10_000)).toBe(true);
    expect(seqs(receiver)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const s = delivery.getStats();
    expect(s.retries).toBe(4);
    expect(s.spooled).toBeGreaterThan(0);
    expect(s.replayed).toBe(s.spooled);
    expect(s.dropped).toBe(0);
  });

  it('a full queue spills to the spool, in order', async () => {
    const { receiver, delivery } = await setup();
    receiver.setAvailable(false);
    for (let i = 1; i <= 200; i++) delivery.enqueue(rec(i));
    await new Promise((r) => setTimeout(r, 200));
    expect(delivery.getStats().spooled).toBeGreaterThanOrEqual(150);
    receiver.setAvailable(true);
    expect(await delivery.flush(15_000)).toBe(true);
    expect(seqs(receiver)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('only a full spool drops, and every drop is counted', async () => {
    const one = Buffer.byteLength(JSON.stringify(rec(100)) + '\n');
    const { receiver, delivery } = await setup(one * 20);
    receiver.setAvailable(false);
    for (let i = 1; i <= 150; i++) delivery.enqueue(rec(i));
    await new Promise((r) => setTimeout(r, 300));
    const s = delivery.getStats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.emitted).toBe(150);
    receiver.setAvailable(true);
    await delivery.flush(15_000);
    const t = delivery.getStats();
    expect(t.exported + t.dropped).toBe(150);
    expect(receiver.auditRecords()).toHaveLength(t.exported);
  });

  it('a batch refused as invalid is counted as rejected and not retried forever', async () => {
    const { receiver, delivery } = await setup();
    receiver.failNext(1, grpc.status.INVALID_ARGUMENT);
    for (let i = 1; i <= 5; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(5000)).toBe(true);
    expect(delivery.getStats().rejected).toBe(5);
    for (let i = 6; i <= 8; i++) delivery.enqueue(rec(i));
    expect(await delivery.flush(5000)).toBe(true);
    expect(seqs(receiver)).toEqual([6, 7, 8]);
  });
});

/** A record as app code can make one by mistake: a BigInt where text belongs. */
function bigintRecord(seq: number): AuditRecord {
  const r = rec(seq);
  (r.attributes as Record<string, unknown>)['audit.actor.id'] = 123n;
  return r;
}

describe('a record that cannot be encoded never blocks its neighbours', () => {
  it('console transport: the others are written, the bad one is counted', async () => {
    const lines: string[] = [];
    const delivery = new AuditDelivery(new ConsoleTransport((l) => lines.push(l)), undefined, OPTS);
    cleanup.push(() => delivery.shutdown(100));
    delivery.enqueue(rec(1));
    delivery.enqueue(bigintRecord(2));
    delivery.enqueue(rec(3));
    expect(await delivery.flush(3000)).toBe(true);
    const seqsWritten = lines.join('').trim().split('\n').map((l) => (JSON.parse(l) as Record<string, number>)['audit.emitter.seq']);
    expect(seqsWritten).toEqual([1, 3]);
    expect(delivery.getStats()).toMatchObject({ emitted: 3, exported: 2, unencodable: 1, dropped: 0 });
    // Later records still flow.
    delivery.enqueue(rec(4));
    expect(await delivery.flush(3000)).toBe(true);
    expect(lines.join('')).toContain('"audit.emitter.seq":4');
  });

  it('console transport alone: a batch with a bad record still writes the good ones', async () => {
    const lines: string[] = [];
    const result = await new ConsoleTransport((l) => lines.push(l)).send([rec(1), bigintRecord(2), rec(3)]);
    expect(result).toEqual({ kind: 'success', unencodable: 1 });
    expect(lines.join('').trim().split('\n')).toHaveLength(2);
  });

  it('OTLP: the bad record is set aside (never sent with its values silently dropped), the others arrive', async () => {
    const { receiver, delivery } = await setup();
    delivery.enqueue(rec(1));
    delivery.enqueue(bigintRecord(2));
    delivery.enqueue(rec(3));
    expect(await delivery.flush(5000)).toBe(true);
    expect(seqs(receiver)).toEqual([1, 3]);
    expect(delivery.getStats()).toMatchObject({ exported: 2, unencodable: 1, dropped: 0 });
    const direct = await new OtlpTransport({ url: receiver.endpoint, timeoutMs: 2000 }).send([rec(4), bigintRecord(5)]);
    expect(direct).toEqual({ kind: 'success', unencodable: 1 });
    expect(seqs(receiver)).toEqual([1, 3, 4]);
  });

  it('spool: the bad record is left out and counted, not a "spool full" drop; the others are spooled and sent', async () => {
    const { receiver, delivery } = await setup();
    receiver.setAvailable(false);
    delivery.enqueue(rec(1));
    await receiver.waitFor(() => delivery.getStats().spooled >= 1);
    delivery.enqueue(bigintRecord(2));
    delivery.enqueue(rec(3));
    // Records bound for the spool are written a batch (or an export delay) at a time.
    await receiver.waitFor(() => delivery.getStats().spooled >= 2);
    expect(delivery.getStats()).toMatchObject({ spooled: 2, unencodable: 1, dropped: 0 });
    receiver.setAvailable(true);
    expect(await delivery.flush(10_000)).toBe(true);
    expect(seqs(receiver)).toEqual([1, 3]);
  });

  it('Spool.append leaves an unserialisable record out and writes the ones after it', () => {
    const dir = tempDir('spool-bad');
    cleanup.push(dir.remove);
    const spool = new Spool({ dir: dir.path, maxBytes: 1_000_000, ownerId: 'e9' });
    spool.open();
    const bad = rec(2) as unknown as Record<string, unknown>;
    bad['attributes'] = { 'audit.actor.id': 1n };
    expect(spool.append([rec(1), bad as unknown as AuditRecord, rec(3)])).toBe(3);
    expect(spool.unencodable).toBe(1);
    expect(spool.peek(10)!.records.map((r) => r.attributes['audit.emitter.seq'])).toEqual([1, 3]);
    spool.close();
  });
});
