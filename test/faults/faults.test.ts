/**
 * Fault tests (`npm run test:faults`): under steady load, break one part of
 * the pipeline, bring it back, and compare what the service emitted (its
 * per-emitter sequence numbers, one per answered request) with what Postgres
 * holds: 0 lost, 0 duplicated.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { startPipeline, type ExampleService, type Pipeline } from '../e2e/harness.js';
import { pgctl } from './postgres-cluster.js';
import { steadyLoad, type Load, type LoadResult } from './load.js';

/** Requests (= audit records) per second while a fault happens. */
const RATE = Number(process.env['FAULT_RATE'] ?? 300);
/** Load before the fault and after the recovery, ms. */
const STEADY_MS = 5_000;

interface Accounting {
  emitted: number;
  stored: number;
  lost: number;
  duplicated: number;
  /** Emitter sequence numbers Postgres lacks, by audit.emitter_status. */
  missing: number;
  /** Redeliveries the sinks absorbed (already stored, so inserted nothing). */
  redelivered: number;
}

let p: Pipeline | undefined;

afterEach(async () => {
  await p?.close();
  p = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Start the pipeline, the service and the load. */
async function underLoad(sinks = 1): Promise<{ pipeline: Pipeline; svc: ExampleService; load: Load }> {
  p = await startPipeline({ sinks });
  const svc = await p.startService();
  const load = steadyLoad(svc.url, RATE);
  await sleep(STEADY_MS);
  return { pipeline: p, svc, load };
}

/** Stop the load and the service (which flushes), wait for Postgres to catch up, count. */
async function settle(pipeline: Pipeline, svc: ExampleService, load: Load, name: string): Promise<Accounting> {
  await sleep(STEADY_MS);
  const sent: LoadResult = await load.stop();
  expect(sent.failed, `requests that failed: ${sent.errors.join('; ')}`).toBe(0);
  const emitted = sent.ok;
  // The service keeps running until Postgres has caught up: a backlog in its
  // spool is delivered by the running process (a stopped one would deliver
  // it on its next start).
  try {
    await pipeline.waitForRows(emitted, 180_000);
  } catch (err) {
    process.stdout.write(`[faults] ${name}: ${(err as Error).message.split('\n')[0]}\n`);
  }
  await svc.service.stop();
  // Anything still in flight would show up as a duplicate now.
  await sleep(1_000);
  const { rows } = await pipeline.db.query<{ stored: number; distinct_seq: number; emitters: number; max_seq: number }>(
    `SELECT count(*)::int AS stored, count(DISTINCT (emitter_id, emitter_seq))::int AS distinct_seq,
            count(DISTINCT emitter_id)::int AS emitters, coalesce(max(emitter_seq), 0)::int AS max_seq
       FROM audit.records WHERE service_name = 'example-service'`,
  );
  const r = rows[0] as { stored: number; distinct_seq: number; emitters: number; max_seq: number };
  const status = await pipeline.db.query<{ missing: number }>('SELECT coalesce(sum(missing), 0)::int AS missing FROM audit.emitter_status');
  const acc: Accounting = {
    emitted,
    stored: r.stored,
    lost: emitted - r.distinct_seq,
    duplicated: r.stored - r.distinct_seq,
    missing: status.rows[0]?.missing ?? -1,
    redelivered: await pipeline.sinkMetric('otel_audit_sink_records_duplicate_total'),
  };
  process.stdout.write(
    `[faults] ${name}: emitted ${acc.emitted}, stored ${acc.stored}, lost ${acc.lost}, duplicated ${acc.duplicated}, ` +
      `missing by sequence ${acc.missing}, redeliveries absorbed ${acc.redelivered}\n`,
  );
  expect(r.emitters).toBe(1);
  // The emitter numbered exactly the records it emitted.
  expect(r.max_seq).toBe(emitted);
  return acc;
}

function expectNothingLost(acc: Accounting): void {
  expect(acc.emitted).toBeGreaterThan(RATE * 10);
  expect({ lost: acc.lost, duplicated: acc.duplicated, missing: acc.missing, stored: acc.stored }).toEqual({
    lost: 0,
    duplicated: 0,
    missing: 0,
    stored: acc.emitted,
  });
}

/** Bytes in the SDK's spool segments (under the harness's temporary directory). */
function spooledBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith('spool-')) continue;
    const spool = join(dir, entry);
    if (!existsSync(spool)) continue;
    for (const f of readdirSync(spool)) if (f.endsWith('.jsonl')) total += statSync(join(spool, f)).size;
  }
  return total;
}

describe('faults under steady load', () => {
  it('sink killed with kill -9 and restarted 10 s later: 0 lost, 0 duplicated', async () => {
    const { pipeline, svc, load } = await underLoad();
    await pipeline.sinks[0]?.stop('SIGKILL');
    await sleep(10_000);
    await pipeline.startSink(0);
    expectNothingLost(await settle(pipeline, svc, load, 'sink kill -9'));
  });

  it('Postgres restarted mid-stream: 0 lost, 0 duplicated', async () => {
    const { pipeline, svc, load } = await underLoad();
    await pgctl('stop');
    try {
      await sleep(5_000);
    } finally {
      await pgctl('start');
    }
    await waitFor(
      async () => (await pipeline.db.query('SELECT 1').then(() => true, () => undefined)),
      30_000,
      () => 'Postgres did not come back',
    );
    expectNothingLost(await settle(pipeline, svc, load, 'Postgres restart'));
  });

  it('collector stopped for 30 s and restarted: the SDK spools, then 0 lost, 0 duplicated', async () => {
    const { pipeline, svc, load } = await underLoad();
    await pipeline.stopCollector();
    let spooled = 0;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      spooled = Math.max(spooled, spooledBytes(pipeline.tmp));
      await sleep(500);
    }
    await pipeline.startCollector();
    process.stdout.write(`[faults] collector down: the SDK spooled up to ${spooled} bytes\n`);
    expect(spooled).toBeGreaterThan(0);
    expectNothingLost(await settle(pipeline, svc, load, 'collector down 30 s'));
  });

  it('one of two scaled sinks killed with kill -9 and restarted 10 s later: 0 lost, 0 duplicated', async () => {
    const { pipeline, svc, load } = await underLoad(2);
    await pipeline.sinks[1]?.stop('SIGKILL');
    await sleep(10_000);
    await pipeline.startSink(1);
    const acc = await settle(pipeline, svc, load, 'one of two sinks kill -9');
    expectNothingLost(acc);
    // Both sinks carried records.
    expect(await pipeline.sinkMetric('otel_audit_sink_records_written_total', 0)).toBeGreaterThan(0);
    expect(await pipeline.sinkMetric('otel_audit_sink_records_written_total', 1)).toBeGreaterThan(0);
  });
});
