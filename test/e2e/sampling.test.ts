/**
 * Audit does not depend on trace sampling: with every trace sampled out, the
 * APM receives nothing from the service and Postgres still has every record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRows, DEMO_STEPS, runScript, type RecordRow, type StepResult } from '../../src/demo/script.js';
import { waitFor } from '../helpers/processes.js';
import { BUILD_TIMEOUT_MS, startPipeline, type Pipeline } from './harness.js';

let p: Pipeline;
let results: StepResult[];
const expectedRows = DEMO_STEPS.filter((s) => s.expect !== null).length;

describe('OTEL_TRACES_SAMPLER_ARG=0', () => {
  beforeAll(async () => {
    p = await startPipeline();
    // Both ratio samplers: the root sampler drops every trace, and the
    // parent-based one is not fooled by the script's sampled traceparent.
    const svc = await p.startService({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' });
    results = await runScript(svc.url);
    expect(await svc.service.stop()).toBe('SIGTERM');
    await p.waitForRows(expectedRows);
    // A control trace from the service with sampling on: once the APM holds
    // it, everything the sampled-out service sent earlier would be there too.
    const control = await p.startService();
    const [probe] = await runScript(control.url, { steps: DEMO_STEPS.filter((s) => s.expect === null) });
    await control.service.stop();
    await waitFor(
      async () => ((await p.apm.trace(probe?.traceId ?? '')).length > 0 ? true : undefined),
      20_000,
      () => 'the control trace never reached the APM',
    );
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    await p?.close();
  });

  it('Postgres has every record', async () => {
    const rows = (await p.rows()) as unknown as RecordRow[];
    expect(checkRows(results, rows)).toEqual([]);
    expect(rows).toHaveLength(expectedRows);
  });

  it('the APM received none of the sampled-out traces', async () => {
    for (const r of results) expect(await p.apm.trace(r.traceId), `${r.step.method} ${r.path}`).toEqual([]);
  });
});
