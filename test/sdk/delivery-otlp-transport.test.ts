import { afterEach, describe, expect, it } from 'vitest';
import { OtlpTransport } from '../../src/sdk/delivery/otlp-transport.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { numberedRecord as rec, range, seqsOf } from './delivery-records.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('OtlpTransport', () => {
  it('sends a batch bigger than a gRPC server takes (4 MiB) in parts, every record once', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.stop());
    const transport = new OtlpTransport({ url: receiver.endpoint, timeoutMs: 5000 });
    cleanup.push(() => transport.shutdown());
    // 40 records of 200 KB: 8 MB in all.
    const big = 'x'.repeat(200_000);
    const records = Array.from({ length: 40 }, (_, i) => rec(i + 1, { 'audit.request': big }));
    expect(await transport.send(records)).toEqual({ kind: 'success' });
    expect(seqsOf(receiver.auditRecords())).toEqual(range(1, 40));
    expect(receiver.calls.logs).toBeGreaterThanOrEqual(3);
  });

  it('answers retryable when the receiver is unavailable, and counts what it cannot encode', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.stop());
    const transport = new OtlpTransport({ url: receiver.endpoint, timeoutMs: 5000 });
    cleanup.push(() => transport.shutdown());
    const bad = rec(2);
    (bad.attributes as Record<string, unknown>)['audit.actor.id'] = 5n;
    expect(await transport.send([rec(1), bad, rec(3)])).toEqual({ kind: 'success', unencodable: 1 });
    expect(seqsOf(receiver.auditRecords())).toEqual([1, 3]);
    receiver.setAvailable(false);
    const result = await transport.send([rec(4)]);
    expect(result.kind).toBe('retryable');
  });
});
