/**
 * Two sinks behind collector-config/otelcol-scaled.yaml (load_balancing
 * exporter, routing_key traceID): every record lands once in total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRows, DEMO_STEPS, runScript, type RecordRow, type StepResult } from '../../src/demo/script.js';
import { BUILD_TIMEOUT_MS, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline;
const results: StepResult[] = [];
const RUNS = 6;
const perRun = DEMO_STEPS.filter((s) => s.expect !== null).length;

describe('two sinks behind the load-balancing collector', () => {
  beforeAll(async () => {
    p = await startPipeline({ sinks: 2 });
    const svc = await p.startService();
    for (let i = 0; i < RUNS; i++) results.push(...(await runScript(svc.url)));
    expect(await svc.service.stop()).toBe('SIGTERM');
    await p.waitForRows(RUNS * perRun);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await p?.close();
  });

  it('every record is in Postgres exactly once', async () => {
    const rows = (await p.rows()) as unknown as RecordRow[];
    expect(checkRows(results, rows)).toEqual([]);
    expect(rows).toHaveLength(RUNS * perRun);
  });

  it('the records were spread over both sinks, each delivered to one of them only', async () => {
    const received = [await p.sinkMetric('otel_audit_sink_records_received_total', 0), await p.sinkMetric('otel_audit_sink_records_received_total', 1)];
    expect(received[0]).toBeGreaterThan(0);
    expect(received[1]).toBeGreaterThan(0);
    expect((received[0] ?? 0) + (received[1] ?? 0)).toBe(RUNS * perRun);
    expect(await p.sinkMetric('otel_audit_sink_records_duplicate_total')).toBe(0);
  });
});
