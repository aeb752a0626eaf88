import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { openGaps } from '../../src/sink/gaps.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres', { gapWindowMs: 200 });
});
afterAll(async () => {
  await t?.stop();
});

async function send(emitter: string, seqs: number[]): Promise<void> {
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: t.grpcEndpoint }) })] });
  const logger = provider.getLogger('otel-audit');
  for (const seq of seqs) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: 1 });
    logger.emit({ context: ctx, eventName: 'audit', attributes: { 'audit.action': 'page.read', 'audit.emitter.id': emitter, 'audit.emitter.seq': seq } });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

it('an emitter sequence with a hole is reported once the window passes, and closed when the hole is filled', async () => {
  await send('em-gap', [1, 2, 3, 6, 7, 9]);
  await send('em-ok', [1, 2, 3]);
  await new Promise((r) => setTimeout(r, 400));
  const gaps = await openGaps(t.sink.db, 200);
  expect(gaps.map((g) => [g.emitterId, g.from, g.to])).toEqual([
    ['em-gap', '4', '5'],
    ['em-gap', '8', '8'],
  ]);
  // Scrapes read the figures of the last check (at most one per interval): wait for one that saw the gaps.
  await vi.waitFor(async () => expect(await t.metric('otel_audit_sink_open_sequence_gaps')).toBe(2), { timeout: 10_000, interval: 50 });
  expect(await t.metric('otel_audit_sink_missing_records')).toBe(3);
  expect(await t.metric('otel_audit_sink_emitters_with_gaps')).toBe(1);
  const status = await t.sink.db.query<Record<string, unknown>>(`SELECT highest_contiguous_seq::text AS hc, max_seq::text AS mx, gaps::text AS gaps, missing::text AS missing FROM audit.emitter_status WHERE emitter_id = 'em-gap'`);
  expect(status.rows[0]).toEqual({ hc: '3', mx: '9', gaps: '{[4,6),[8,9)}', missing: '3' });

  await send('em-gap', [4, 5, 8]);
  expect(await openGaps(t.sink.db, 0)).toEqual([]);
  await vi.waitFor(async () => expect(await t.metric('otel_audit_sink_open_sequence_gaps')).toBe(0), { timeout: 10_000, interval: 50 });
  const row = await t.sink.db.query<{ max_seq: string; gap_since: Date | null; seen: string }>(`SELECT max_seq::text, gap_since, seen::text FROM audit.emitters WHERE emitter_id = 'em-gap'`);
  expect(row.rows[0]).toEqual({ max_seq: '9', gap_since: null, seen: '{[1,10)}' });
  const closed = await t.sink.db.query<Record<string, unknown>>(`SELECT highest_contiguous_seq::text AS hc, missing::text AS missing FROM audit.emitter_status WHERE emitter_id = 'em-gap'`);
  expect(closed.rows[0]).toEqual({ hc: '9', missing: '0' });
});
