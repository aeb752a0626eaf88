/**
 * SIEM fan-out: the example service → the collector with otelcol.yaml and
 * collector-config/otelcol-siem.yaml → the sink → Postgres, and the same audit
 * records → a SIEM (an OTLP receiver). The SIEM's queue is its own: while the
 * SIEM is away, Postgres still gets every record, and the SIEM gets them when
 * it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_STEPS, runScript } from '../../src/demo/script.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { BUILD_TIMEOUT_MS, startPipeline, type ExampleService, type Pipeline } from './harness.js';

let p: Pipeline;
let svc: ExampleService;
let siemPort: number;
let siem: OtlpReceiver | undefined;
/** Log records the collector's OTLP receiver answered OK. */
const ACCEPTED = 'otelcol_receiver_accepted_log_records';
const perRun = DEMO_STEPS.filter((s) => s.expect !== null).length;

/** `trace id/span id` of each row: one request's audit record. */
async function rowKeys(): Promise<Set<string>> {
  return new Set((await p.rows()).map((r) => `${String(r['trace_id'])}/${String(r['span_id'])}`));
}

/** The same identity for what the SIEM received (retries may repeat a record; the set does not). */
function siemKeys(r: OtlpReceiver | undefined): Set<string> {
  return new Set((r?.auditRecords() ?? []).map((l) => `${l.traceId}/${l.spanId}`));
}

/** Wait until the SIEM holds every key of `keys`. */
async function siemHolds(keys: Set<string>, timeoutMs = 40_000): Promise<void> {
  const r = siem;
  if (!r) throw new Error('no SIEM');
  await r.waitFor(() => [...keys].every((k) => siemKeys(r).has(k)), timeoutMs).catch((err: unknown) => {
    const missing = [...keys].filter((k) => !siemKeys(r).has(k));
    throw new Error(`${String(err)}: the SIEM lacks ${missing.length} of ${keys.size} records\n--- collector\n${p.collector.output().slice(-3000)}`);
  });
}

beforeAll(async () => {
  siemPort = await freePort();
  siem = await startOtlpReceiver({ port: siemPort });
  p = await startPipeline({ siem: `127.0.0.1:${siemPort}` });
  svc = await p.startService();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await siem?.stop();
  await p?.close();
});

describe('collector with otelcol-siem.yaml: sink and SIEM', () => {
  it('every audit record reaches both Postgres and the SIEM, and only audit records reach the SIEM', async () => {
    await runScript(svc.url);
    await p.waitForRows(perRun);
    const keys = await rowKeys();
    expect(keys.size).toBe(perRun);
    await siemHolds(keys);
    expect(siemKeys(siem)).toEqual(keys);
    expect(siem?.logs.every((l) => l.eventName === 'audit')).toBe(true);
    expect(siem?.spans).toEqual([]);
  });

  it('with the SIEM stopped mid-run, Postgres gets every record; the SIEM gets them when it is back', async () => {
    const before = await rowKeys();
    await siem?.stop();
    siem = undefined;
    await runScript(svc.url);
    // All of them in Postgres while the SIEM is still down.
    await p.waitForRows(before.size + perRun);
    const missed = new Set([...(await rowKeys())].filter((k) => !before.has(k)));
    expect(missed.size).toBe(perRun);
    expect(await p.rejected()).toEqual([]);
    // The collector answered every export of the service while the SIEM was
    // down (no call waits for it, none was refused), so the service never had
    // to send a record again and the sink received each record once.
    await waitFor(
      async () => ((await p.collectorMetric(ACCEPTED)) >= before.size + perRun ? true : undefined),
      20_000,
      async () => `the collector accepted ${await p.collectorMetric(ACCEPTED)} of ${before.size + perRun} records while the SIEM was down`,
    );
    expect(await p.collectorMetric(ACCEPTED)).toBe(before.size + perRun);
    expect(await p.collectorMetric('otelcol_receiver_refused_log_records')).toBe(0);
    expect(await p.collectorMetric('otelcol_receiver_failed_log_records')).toBe(0);
    expect(await p.sinkMetric('otel_audit_sink_records_received_total')).toBe(before.size + perRun);
    expect(await p.sinkMetric('otel_audit_sink_records_duplicate_total')).toBe(0);

    siem = await startOtlpReceiver({ port: siemPort });
    await siemHolds(missed);
  });

  it('with the SIEM not listening when the collector starts, its queue on disk delivers after a restart', async () => {
    await siem?.stop();
    siem = undefined;
    const before = await rowKeys();
    await runScript(svc.url);
    await p.waitForRows(before.size + perRun);
    const missed = new Set([...(await rowKeys())].filter((k) => !before.has(k)));
    expect(missed.size).toBe(perRun);

    // The records for the SIEM are in its queue directory only: a restart
    // finds them there, with the SIEM still away, and Postgres keeps flowing.
    await p.stopCollector();
    await p.startCollector();
    const beforeRestartRun = await rowKeys();
    await runScript(svc.url);
    await p.waitForRows(beforeRestartRun.size + perRun);

    siem = await startOtlpReceiver({ port: siemPort });
    // This receiver is new: it must get what both runs sent while it was away.
    await siemHolds(new Set([...(await rowKeys())].filter((k) => !before.has(k))));
  });
});
