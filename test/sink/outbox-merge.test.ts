/**
 * The transactional outbox at the sink: the request's record (SDK) and the
 * outbox record (relay) of one operation become one row, whatever their
 * order, batch or sink; a half without a partner is written alone after the
 * merge window; redeliveries and late halves never make a second row.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOnce } from '../../src/compliance/seal.js';
import { loadKeyProvider, type KeyProvider } from '../../src/crypto/kek.js';
import { kidsOf, revealRecord } from '../../src/crypto/record-reader.js';
import { readerKeys } from '../../src/crypto/subject-keys.js';
import { verifyCommand } from '../../src/cli/verify.js';
import { OtlpTransport } from '../../src/sdk/delivery/otlp-transport.js';
import { openGaps } from '../../src/sink/gaps.js';
import { runCommand } from '../helpers/cli-run.js';
import { postLogs } from '../helpers/otlp-logs.js';
import { encodeRecords, outboxHalf, outboxOperation, requestHalf, type OutboxOperation } from '../helpers/outbox-records.js';
import { waitFor } from '../helpers/processes.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';
import type { AuditRecord } from '../../src/sdk/record.js';

/** A merge window long enough that nothing is written alone during a test. */
const LONG_WINDOW_MS = 600_000;
/** The window of the tests that wait for it. */
const SHORT_WINDOW_MS = 1_000;

let seq = 0;
const emitter = (): { id: string; seq: number } => ({ id: 'e-outbox', seq: ++seq });

async function send(t: TestSink, records: AuditRecord[]): Promise<{ rejected: number; message: string }> {
  const answer = await postLogs(t.httpEndpoint, encodeRecords(records));
  expect(answer.status).toBe(200);
  return answer;
}

const rowsOf = (t: TestSink, op: OutboxOperation) => t.rows(`trace_id = '${op.traceId}'`);
const pendingOf = async (t: TestSink, op: OutboxOperation) =>
  (await t.sink.db.query(`SELECT half FROM audit.outbox_pending WHERE outbox_id = $1 ORDER BY half`, [op.outboxId])).rows.map((r) => r['half']);

/** The merged row: the request's columns, the outbox's change values and meta. */
function expectMerged(row: Record<string, unknown> | undefined, op: OutboxOperation): void {
  expect(row).toMatchObject({
    trace_id: op.traceId,
    span_id: op.spanId,
    service_name: op.service,
    action: 'order.update',
    resource_id: op.resourceId,
    status_code: 200,
    http_route: '/orders/:id',
    request: { body: { qty: 2 } },
    change_before: { qty: 1 },
    change_after: { qty: 2 },
    emitter_id: 'e-outbox',
  });
  expect(new Date(row?.['occurred_at'] as Date).toISOString()).toBe('2026-12-01T12:00:00.000Z');
  expect(row?.['attributes']).toMatchObject({ 'audit.origin': 'request+outbox', 'audit.outbox.id': op.outboxId, 'audit.meta.reason': 'restock' });
}

describe.each(['postgres', 'pglite'] as const)('the two halves of an outbox record make one row (%s)', (kind) => {
  let t: TestSink;
  beforeAll(async () => {
    t = await startTestSink(kind, { outboxWindowMs: LONG_WINDOW_MS });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('request half, then outbox half', async () => {
    const op = outboxOperation();
    await send(t, [requestHalf(op, emitter())]);
    expect(await rowsOf(t, op)).toEqual([]);
    expect(await pendingOf(t, op)).toEqual(['request']);
    await send(t, [outboxHalf(op)]);
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expectMerged(rows[0], op);
    expect(await pendingOf(t, op)).toEqual([]);
  });

  it('outbox half, then request half', async () => {
    const op = outboxOperation();
    await send(t, [outboxHalf(op)]);
    expect(await rowsOf(t, op)).toEqual([]);
    expect(await pendingOf(t, op)).toEqual(['outbox']);
    await send(t, [requestHalf(op, emitter())]);
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expectMerged(rows[0], op);
    expect(await pendingOf(t, op)).toEqual([]);
  });

  it('both halves in one export', async () => {
    const op = outboxOperation();
    await send(t, [outboxHalf(op), requestHalf(op, emitter())]);
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expectMerged(rows[0], op);
    expect(await pendingOf(t, op)).toEqual([]);
  });

  it('a redelivered half after the merge is a duplicate, never a second row', async () => {
    const op = outboxOperation();
    const request = requestHalf(op, emitter());
    await send(t, [request]);
    await send(t, [outboxHalf(op)]);
    const duplicates = await t.metric('otel_audit_sink_records_duplicate_total');
    expect(await send(t, [outboxHalf(op)])).toMatchObject({ rejected: 0 });
    expect(await send(t, [request])).toMatchObject({ rejected: 0 });
    expect(await t.metric('otel_audit_sink_records_duplicate_total')).toBe(duplicates + 2);
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expectMerged(rows[0], op);
    expect(await pendingOf(t, op)).toEqual([]);
    expect(await t.metric('otel_audit_sink_outbox_merged_total')).toBeGreaterThanOrEqual(1);
  });

  it('a half redelivered while it waits is a duplicate: one half waits, one row after its partner', async () => {
    const op = outboxOperation();
    const request = requestHalf(op, emitter());
    const duplicates = await t.metric('otel_audit_sink_records_duplicate_total');
    await send(t, [request]);
    await send(t, [request, request]);
    expect(await pendingOf(t, op)).toEqual(['request']);
    expect(await t.metric('otel_audit_sink_records_duplicate_total')).toBe(duplicates + 2);
    await send(t, [outboxHalf(op)]);
    expect(await rowsOf(t, op)).toHaveLength(1);
  });

  it('an ordinary record in the same export keeps its own path', async () => {
    const op = outboxOperation();
    const plain = outboxOperation();
    const ordinary = requestHalf(plain, emitter());
    const { 'audit.outbox.id': _unused, ...attributes } = ordinary.attributes;
    await send(t, [{ ...ordinary, attributes }, requestHalf(op, emitter())]);
    expect(await rowsOf(t, plain)).toHaveLength(1);
    expect((await rowsOf(t, plain))[0]?.['attributes']).not.toHaveProperty('audit.origin');
    expect(await rowsOf(t, op)).toEqual([]);
    expect(await pendingOf(t, op)).toEqual(['request']);
  });
});

describe.each(['postgres', 'pglite'] as const)('the merge window (%s)', (kind) => {
  let t: TestSink;
  beforeAll(async () => {
    t = await startTestSink(kind, { outboxWindowMs: SHORT_WINDOW_MS });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('an outbox half alone becomes a relay-only row; a request half alone a request row without change values', async () => {
    const relayOnly = outboxOperation();
    const requestOnly = outboxOperation();
    await send(t, [outboxHalf(relayOnly), requestHalf(requestOnly, emitter(), { 'audit.change.after': '{"qty":9}' })]);
    expect(await rowsOf(t, relayOnly)).toEqual([]);
    await waitFor(async () => ((await rowsOf(t, relayOnly)).length > 0 && (await rowsOf(t, requestOnly)).length > 0 ? true : undefined), 10_000, () => 'rows written alone');
    const [relay] = await rowsOf(t, relayOnly);
    expect(relay).toMatchObject({ change_before: { qty: 1 }, change_after: { qty: 2 }, emitter_id: null, status_code: null });
    expect(relay?.['attributes']).toMatchObject({ 'audit.origin': 'outbox', 'audit.outbox.id': relayOnly.outboxId });
    const [request] = await rowsOf(t, requestOnly);
    expect(request).toMatchObject({ change_before: null, change_after: null, status_code: 200, emitter_id: 'e-outbox' });
    expect(request?.['attributes']).toMatchObject({ 'audit.origin': 'request' });
    expect(await pendingOf(t, relayOnly)).toEqual([]);
    expect(await pendingOf(t, requestOnly)).toEqual([]);
    expect(await t.metric('otel_audit_sink_outbox_flushed_total')).toBe(2);
    expect(await t.metric('otel_audit_sink_outbox_pending_total')).toBe(2);
    await waitFor(async () => ((await t.metric('otel_audit_sink_outbox_waiting')) === 0 ? true : undefined), 10_000, () => 'waiting gauge back to 0');
    expect(await rowsOf(t, relayOnly)).toHaveLength(1);
  });

  it('a request half after its relay-only row is kept in audit.rejected with the reason, and counted', async () => {
    const op = outboxOperation();
    await send(t, [outboxHalf(op)]);
    await waitFor(async () => ((await rowsOf(t, op)).length > 0 ? true : undefined), 10_000, () => 'relay-only row');
    const answer = await send(t, [requestHalf(op, emitter())]);
    expect(answer.rejected).toBe(1);
    expect(answer.message).toContain('outbox: late half');
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.['attributes']).toMatchObject({ 'audit.origin': 'outbox' });
    const kept = (await t.rejected()).filter((r) => JSON.stringify(r['record']).includes(op.outboxId));
    expect(kept).toHaveLength(1);
    expect(kept[0]?.['reason']).toMatch(/^outbox: late half: the request's record .* arrived after the row of its key was written from the outbox record alone/);
    expect(kept[0]?.['record']).toMatchObject({ traceId: op.traceId, statusCode: 200 });
    expect(await t.metric('otel_audit_sink_outbox_late_total')).toBe(1);
    expect(await t.metric('otel_audit_sink_records_rejected_total{signal="logs",reason="outbox_late"}')).toBe(1);
    expect(await t.metric('otel_audit_sink_records_rejected_total{signal="logs",reason="database_refused"}')).toBe(0);
    expect(await pendingOf(t, op)).toEqual([]);
  });

  it('an outbox half after its request-only row is kept in audit.rejected with its change values', async () => {
    const op = outboxOperation();
    await send(t, [requestHalf(op, emitter())]);
    await waitFor(async () => ((await rowsOf(t, op)).length > 0 ? true : undefined), 10_000, () => 'request-only row');
    const answer = await send(t, [outboxHalf(op, { before: { qty: 3 }, after: { qty: 4 } })]);
    expect(answer.rejected).toBe(1);
    const rows = await rowsOf(t, op);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ change_after: null });
    expect(rows[0]?.['attributes']).toMatchObject({ 'audit.origin': 'request' });
    const kept = (await t.rejected()).filter((r) => JSON.stringify(r['record']).includes(op.outboxId));
    expect(kept).toHaveLength(1);
    expect(kept[0]?.['reason']).toContain('its change values are kept here');
    expect(kept[0]?.['record']).toMatchObject({ changeBefore: { qty: 3 }, changeAfter: { qty: 4 } });
  });
});

describe('several sinks, restarts, gaps and the digest chain (postgres)', () => {
  let a: TestSink;
  let b: TestSink;
  beforeAll(async () => {
    a = await startTestSink('postgres', { outboxWindowMs: LONG_WINDOW_MS, batchDelayMs: 2 });
    b = await startTestSink('postgres', { outboxWindowMs: LONG_WINDOW_MS, batchDelayMs: 2, databaseUrl: a.url as string });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('two sinks on one database, the halves split between them at once: one row each, none twice', async () => {
    const ops = Array.from({ length: 40 }, () => outboxOperation('split'));
    await Promise.all(
      ops.flatMap((op, i) => {
        const request = requestHalf(op, emitter());
        const outbox = outboxHalf(op);
        // Half the operations send the request to a, the other half to b; each pair at the same moment.
        return i % 2 === 0 ? [send(a, [request]), send(b, [outbox])] : [send(b, [request]), send(a, [outbox])];
      }),
    );
    const rows = await a.rows(`service_name = 'split'`);
    expect(rows).toHaveLength(ops.length);
    for (const op of ops) expectMerged(rows.find((r) => r['trace_id'] === op.traceId), op);
    expect((await a.sink.db.query(`SELECT count(*)::int AS n FROM audit.outbox_pending`)).rows[0]?.['n']).toBe(0);
    expect((await a.metric('otel_audit_sink_outbox_merged_total')) + (await b.metric('otel_audit_sink_outbox_merged_total'))).toBe(ops.length);
  });

  it('halves racing the window job of two sinks: one row per operation, and every half in it or in audit.rejected', async () => {
    const fast = await startTestSink('postgres', { outboxWindowMs: 1000, batchDelayMs: 2, databaseUrl: a.url as string });
    const other = await startTestSink('postgres', { outboxWindowMs: 1000, batchDelayMs: 2, databaseUrl: a.url as string });
    try {
      const ops = Array.from({ length: 60 }, () => outboxOperation('race'));
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await Promise.all(
        ops.map(async (op, i) => {
          const [first, second] = i % 2 === 0 ? [fast, other] : [other, fast];
          const halves = i % 3 === 0 ? [outboxHalf(op), requestHalf(op, emitter())] : [requestHalf(op, emitter()), outboxHalf(op)];
          await send(first, [halves[0] as AuditRecord]);
          // At once, around the window, or well past it.
          await sleep([0, (i * 37) % 1300, 2500][i % 3] as number);
          await send(second, [halves[1] as AuditRecord]);
        }),
      );
      await waitFor(
        async () => ((await a.sink.db.query(`SELECT count(*)::int AS n FROM audit.outbox_pending`)).rows[0]?.['n'] === 0 ? true : undefined),
        15_000,
        () => 'pending table empty',
      );
      const rows = await a.rows(`service_name = 'race'`);
      const rejected = (await a.rejected()).filter((r) => String(r['reason']).startsWith('outbox: late half'));
      let merged = 0;
      let alone = 0;
      for (const op of ops) {
        const mine = rows.filter((r) => r['trace_id'] === op.traceId);
        expect(mine).toHaveLength(1);
        const late = rejected.filter((r) => JSON.stringify(r['record']).includes(op.outboxId));
        if ((mine[0]?.['attributes'] as Record<string, unknown>)['audit.origin'] === 'request+outbox') {
          merged++;
          expect(late).toEqual([]);
        } else {
          alone++;
          expect(late).toHaveLength(1);
        }
      }
      expect(merged).toBeGreaterThan(0);
      expect(alone).toBeGreaterThan(0);
    } finally {
      await other.stop();
      await fast.stop();
    }
  });

  it('the gap monitor reports no gap for an SDK record waiting for its partner', async () => {
    const id = 'e-gaps';
    const before = outboxOperation('gaps');
    const waiting = outboxOperation('gaps');
    const after = outboxOperation('gaps');
    const plain = (op: OutboxOperation, s: number): AuditRecord => {
      const r = requestHalf(op, { id, seq: s });
      const { 'audit.outbox.id': _unused, ...attributes } = r.attributes;
      return { ...r, attributes };
    };
    await send(a, [plain(before, 1)]);
    await send(a, [requestHalf(waiting, { id, seq: 2 })]);
    await send(a, [plain(after, 3)]);
    expect(await pendingOf(a, waiting)).toEqual(['request']);
    expect(await rowsOf(a, waiting)).toEqual([]);
    expect((await openGaps(a.sink.db, 0)).filter((g) => g.emitterId === id)).toEqual([]);
  });

  it('halves waiting when a sink stops are merged, or written alone past the window, after a restart', async () => {
    const merged = outboxOperation('restart');
    const alone = outboxOperation('restart');
    await send(b, [requestHalf(merged, emitter()), outboxHalf(alone)]);
    await b.sink.close();
    b = await startTestSink('postgres', { outboxWindowMs: LONG_WINDOW_MS, databaseUrl: a.url as string });
    await send(b, [outboxHalf(merged)]);
    expectMerged((await rowsOf(b, merged))[0], merged);
    expect(await rowsOf(b, alone)).toEqual([]);
    await b.sink.close();
    // The window job runs at start: what waited longer than the window is written at once.
    b = await startTestSink('postgres', { outboxWindowMs: 50, databaseUrl: a.url as string });
    await waitFor(async () => ((await rowsOf(b, alone)).length > 0 ? true : undefined), 10_000, () => 'relay-only row after restart');
    expect(await rowsOf(b, alone)).toHaveLength(1);
    expect((await rowsOf(b, alone))[0]?.['attributes']).toMatchObject({ 'audit.origin': 'outbox' });
    expect(await rowsOf(b, merged)).toHaveLength(1);
  });

  it('otel-audit verify passes over sealed merged rows', async () => {
    const merged = await a.rows(`attributes ->> 'audit.origin' = 'request+outbox'`);
    expect(merged.length).toBeGreaterThan(40);
    const sealed = await sealOnce(a.sink.db, { settleMs: 0 });
    expect(sealed.digests.reduce((n, d) => n + d.rowCount, 0)).toBeGreaterThanOrEqual(merged.length);
    const run = await runCommand(verifyCommand, ['--json', '--no-record', '--database-url', a.url as string]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.out) as { ok: boolean; findings: unknown[] };
    expect(report).toMatchObject({ ok: true, findings: [] });
  });
});

describe('over OTLP/gRPC with the SDK transport, personal fields encrypted (postgres)', () => {
  let t: TestSink;
  let dir: string;
  let keyFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-outbox-'));
    keyFile = join(dir, 'kek');
    writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`);
    t = await startTestSink('postgres', { outboxWindowMs: LONG_WINDOW_MS, encryptionKeyFile: keyFile });
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a waiting half holds its change values encrypted; the merged row has them encrypted too', async () => {
    const transport = new OtlpTransport({ url: t.grpcEndpoint, timeoutMs: 10_000 });
    try {
      const op = outboxOperation();
      expect(await transport.send([outboxHalf(op)])).toEqual({ kind: 'success' });
      const waiting = await t.sink.db.query(`SELECT fields FROM audit.outbox_pending WHERE outbox_id = $1`, [op.outboxId]);
      expect(waiting.rows).toHaveLength(1);
      expect(JSON.stringify(waiting.rows[0]?.['fields'])).not.toContain('"qty"');
      expect(await transport.send([requestHalf(op, emitter())])).toEqual({ kind: 'success' });
      const rows = await rowsOf(t, op);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status_code: 200, http_route: '/orders/:id' });
      expect(rows[0]?.['attributes']).toMatchObject({ 'audit.origin': 'request+outbox' });
      expect(rows[0]?.['change_after']).not.toBeNull();
      expect(JSON.stringify(rows[0]?.['change_after'])).not.toContain('qty');
      expect(await pendingOf(t, op)).toEqual([]);

      // Each half brought its own envelope: the change values point at the outbox record's.
      const row = { ...(rows[0] as Record<string, unknown>) };
      const attrs = row['attributes'] as Record<string, unknown>;
      expect(attrs['audit.sealed']).toMatch(/^enc:v2:/);
      expect(attrs['audit.sealed.outbox']).toMatch(/^enc:v2:/);
      expect(row['change_before']).toMatchObject({ enc: 'v2', in: 'audit.sealed.outbox' });
      expect(row['request']).toEqual({ enc: 'v2', kid: expect.any(String) as string });
      // Read with the key: the request's fields from the request, the change values from the outbox.
      const kek = loadKeyProvider({ file: keyFile }) as KeyProvider;
      revealRecord(row, await readerKeys(t.sink.db, kek, kidsOf([row])));
      expect(row).toMatchObject({ request: { body: { qty: 2 } }, change_before: { qty: 1 }, change_after: { qty: 2 } });
      expect(row['attributes']).not.toHaveProperty('audit.sealed');
      expect(row['attributes']).not.toHaveProperty('audit.sealed.outbox');
    } finally {
      await transport.shutdown();
    }
  });
});
