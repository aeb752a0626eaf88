import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gapSummary } from '../../src/sink/gaps.js';
import { startSink, type Sink } from '../../src/sink/sink.js';
import type { SinkOptions } from '../../src/sink/types.js';
import { createTestDatabase } from '../helpers/pg.js';

type Line = Record<string, unknown> & { msg?: string };

let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ url, drop } = await createTestDatabase());
});
afterAll(async () => {
  await drop?.();
});

/** A sink whose log lines (debug and up) are collected. */
async function sinkWithLog(options: SinkOptions): Promise<{ sink: Sink; lines: Line[] }> {
  const lines: Line[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const sink = await startSink({ grpcPort: 0, httpPort: 0, metricsPort: 0, databaseUrl: url, env: {}, sealIntervalMs: 0, ...options }, log);
  return { sink, lines };
}

/** One OTLP/JSON request carrying the given sequence numbers of one emitter. */
async function send(sink: Sink, emitter: string, seqs: number[]): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const logRecords = seqs.map((seq) => ({
    timeUnixNano: now.toString(),
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    eventName: 'audit',
    attributes: [
      { key: 'audit.action', value: { stringValue: 'page.read' } },
      { key: 'audit.emitter.id', value: { stringValue: emitter } },
      { key: 'audit.emitter.seq', value: { intValue: String(seq) } },
    ],
  }));
  const body = JSON.stringify({ resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood' } }] }, scopeLogs: [{ logRecords }] }] });
  const res = await fetch(`http://127.0.0.1:${sink.httpPort}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({});
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const missingLines = (lines: Line[], emitter: string): Line[] => lines.filter((l) => l.msg === 'audit records missing from an emitter' && l['emitter'] === emitter);
const checks = (lines: Line[]): number => lines.filter((l) => l.msg === 'sequence gaps checked').length;

it('many holes in one request: one log line per emitter per check, with counts and the first and last ranges', async () => {
  const { sink, lines } = await sinkWithLog({ gapWindowMs: 0, gapCheckIntervalMs: 200 });
  try {
    // 1, 3, 5, ..., 3999: 1999 holes of one record each.
    await send(sink, 'em-flood', Array.from({ length: 2000 }, (_, i) => 2 * i + 1));
    await send(sink, 'em-small', [1, 2, 5]);
    await until('two gap checks that saw the holes', () => missingLines(lines, 'em-flood').length >= 1 && checks(lines) >= 2);
  } finally {
    await sink.close();
  }
  const flood = missingLines(lines, 'em-flood');
  const small = missingLines(lines, 'em-small');
  expect(flood.length).toBeGreaterThanOrEqual(1);
  expect(flood.length).toBeLessThanOrEqual(checks(lines));
  expect(small.length).toBeLessThanOrEqual(checks(lines));
  for (const l of flood) {
    expect(l).toMatchObject({ service: 'flood', gaps: 1999, missing: '1999', first: ['2', '4', '6'], last: ['3994', '3996', '3998'] });
  }
  for (const l of small) expect(l).toMatchObject({ gaps: 1, missing: '2', first: ['3-4'], last: [] });
  // The whole log of the run stays small: nothing is written per hole.
  expect(lines.length).toBeLessThan(200);
});

it('concurrent /metrics scrapes run at most one gap check per interval and read its cached figures', async () => {
  const { sink, lines } = await sinkWithLog({ gapWindowMs: 0, gapCheckIntervalMs: 600_000 });
  const scrape = async (): Promise<string> => (await fetch(`http://127.0.0.1:${sink.metricsPort}/metrics`)).text();
  let text: string | undefined;
  try {
    await send(sink, 'em-scrape', [1, 3]);
    await Promise.all(Array.from({ length: 100 }, scrape));
    // The figures of the one check show up in later scrapes.
    await until('the gap figures', async () => /^otel_audit_sink_open_sequence_gaps [1-9]/m.test(await scrape()));
    await Promise.all(Array.from({ length: 100 }, scrape));
    text = await scrape();
  } finally {
    await sink.close();
  }
  expect(missingLines(lines, 'em-scrape')).toHaveLength(1);
  expect(checks(lines)).toBe(1);
  expect(text).toMatch(/^otel_audit_sink_gap_checks_total\{result="ok"\} 1$/m);
  expect(text).toMatch(/^otel_audit_sink_emitters_with_gaps [1-9]/m);
});

it('shutdown does not wait for a gap check that is stuck in the database', async () => {
  const { sink, lines } = await sinkWithLog({ gapWindowMs: 0, gapCheckIntervalMs: 100 });
  const blocker = new pg.Client({ connectionString: url });
  await blocker.connect();
  let closed = false;
  try {
    // Hold a lock that the gap query needs, so the check waits for as long as the lock is held.
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE audit.emitters IN ACCESS EXCLUSIVE MODE');
    await until('a gap check waiting for the lock', async () => {
      // Inside a transaction pg_stat_activity is a snapshot: clear it each time.
      await blocker.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await blocker.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%int8multirange%'`,
      );
      return (rows[0]?.n ?? 0) > 0;
    });
    const stopping = sink.close().then(() => (closed = true));
    await Promise.race([stopping, new Promise((r) => setTimeout(r, 30_000))]);
    expect(closed).toBe(true);
  } finally {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end();
    await sink.close();
  }
  expect(lines.some((l) => l.msg === 'otel-audit sink stopped')).toBe(true);
});

it('an emitter keeps at most 1000 sequence ranges: older holes are folded into counts and stay reported as missing', async () => {
  const { sink } = await sinkWithLog({ gapWindowMs: 0, gapCheckIntervalMs: 600_000 });
  const status = async (): Promise<Record<string, unknown>> =>
    (await sink.db.query(`SELECT (SELECT count(*)::int FROM unnest(e.seen)) AS ranges, s.missing::int AS missing, s.folded_gaps::int AS folded_gaps, s.highest_contiguous_seq
                            FROM audit.emitters e JOIN audit.emitter_status s USING (emitter_id) WHERE emitter_id = 'em-fold'`)).rows[0] ?? {};
  try {
    // Two batches of 1500 odd numbers: 3000 ranges arrive, 2999 holes.
    await send(sink, 'em-fold', Array.from({ length: 1500 }, (_, i) => 2 * i + 1));
    await send(sink, 'em-fold', Array.from({ length: 1500 }, (_, i) => 3001 + 2 * i));
    expect(await status()).toEqual({ ranges: 1000, missing: 2999, folded_gaps: 2000, highest_contiguous_seq: null });
    const summary = await gapSummary(sink.db, { windowMs: 0 });
    expect(summary.details.find((d) => d.emitterId === 'em-fold')).toMatchObject({ gaps: 2999, missing: 2999n, foldedGaps: 2000, foldedMissing: 2000n, first: ['4002', '4004', '4006'], last: ['5994', '5996', '5998'] });
    // A tracked hole filled counts as found; the count of folded ones stays.
    await send(sink, 'em-fold', [5998]);
    expect(await status()).toMatchObject({ ranges: 999, missing: 2998, folded_gaps: 2000 });
  } finally {
    await sink.close();
  }
});
