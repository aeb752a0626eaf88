/**
 * One run of bench/sdk-overhead: a fresh OTLP sink and a fresh app for one
 * scenario, warm-up, the measured load, then what arrived at the sink and
 * what the app said on exit.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { startApp, type AppProcess } from '../lib/app.ts';
import { cpuMs, machineBusyMs, machineShare, selfCpuMs } from '../lib/cpu.ts';
import { load, type LoadOptions } from '../lib/load.ts';
import { settle, startReceiver, type SinkStats } from '../lib/otlp-receiver.ts';
import { BENCH_DIR, childEnv, stopChild } from '../lib/proc.ts';
import type { Options, Scenario, ScenarioId } from './options.ts';
import { EXPRESS_APP_REQUESTS } from '../lib/app.ts';

const APP = join(BENCH_DIR, 'apps', 'express-app.mjs');
/** Share of completed requests that must arrive as audit records. */
export const AUDIT_MIN_SHARE = 0.99;
/** How long the app may take to exit: longer when it writes a CPU profile. */
const EXIT_GRACE_MS = 15_000;
const EXIT_GRACE_PROFILING_MS = 60_000;
const KILL_GRACE_MS = 5_000;


export interface RunResult {
  scenario: ScenarioId;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  /** Requests completed in the measured window. */
  requests: number;
  /** Requests completed in warm-up and measured window together. */
  requestsAll: number;
  errors: number;
  non2xx: number;
  /** App CPU time per request in the measured window, µs (undefined without /proc). */
  cpuUsPerReq: number | undefined;
  /** Sink counts once the app's exports stopped growing, before shutdown. */
  settled: SinkStats;
  /** Sink counts after the app exited (shutdown flushes included). */
  final: SinkStats;
  /** Share of the machine's CPU used by other processes during the measured window (noise). */
  otherCpuShare: number | undefined;
  /** Share of the machine's CPU used by the app during the measured window. */
  appCpuShare: number | undefined;
  /** ms from SIGTERM to exit. */
  exitMs: number;
  /** otel-audit's delivery summary line, if it printed one. */
  deliveryLine: string | undefined;
  /** Spans the APM BatchSpanProcessor reported dropping (queue full); a lower bound. */
  droppedSpans: number;
  profile: string | undefined;
}

function appEnv(scenario: Scenario, sinkPort: number, spoolDir: string, opts: Options): NodeJS.ProcessEnv {
  // Only what the runner sets: no OTEL_* or NODE_OPTIONS from the calling shell.
  const env = childEnv();
  env['NODE_ENV'] = 'production';
  env['PORT'] = '0';
  if (scenario.telemetry) {
    Object.assign(env, {
      OTEL_SERVICE_NAME: 'bench-express-app',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // Both SDKs then log warnings such as dropped spans.
      OTEL_LOG_LEVEL: 'info',
      OTEL_AUDIT_SPOOL_DIR: spoolDir,
    });
    if (opts.bspMaxQueue !== undefined) env['OTEL_BSP_MAX_QUEUE_SIZE'] = String(opts.bspMaxQueue);
    Object.assign(env, opts.env, scenario.env);
  }
  return env;
}

export async function runOnce(scenario: Scenario, round: number, opts: Options): Promise<RunResult> {
  const spoolDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-spool-'));
  const profile = opts.cpuProfDir ? join(opts.cpuProfDir, `${scenario.id}-round${round}.cpuprofile`) : undefined;
  const loadOpts: LoadOptions = { connections: opts.connections, rate: opts.rate, requests: EXPRESS_APP_REQUESTS };
  const sink = await startReceiver(opts.sinkWindow);
  let app: AppProcess | undefined;
  try {
    app = await startApp({ label: `app (${scenario.label})`, script: APP, nodeArgs: scenario.nodeArgs, env: appEnv(scenario, sink.port, spoolDir, opts), profile });
    const warm = await load(app.port, opts.warmup, loadOpts);
    const sink0 = await sink.stats();
    const [cpu0, busy0, self0] = [cpuMs(app.child.pid), machineBusyMs(), selfCpuMs()];
    const result = await load(app.port, opts.duration, loadOpts);
    const [cpu1, busy1, self1] = [cpuMs(app.child.pid), machineBusyMs(), selfCpuMs()];
    const sink1 = await sink.stats();
    const windowMs = opts.duration * 1000;
    // CPU that neither the app, the sink nor this runner used: other work on the machine, i.e. noise.
    const otherCpuShare = cpu0 !== undefined && cpu1 !== undefined && busy0 !== undefined && busy1 !== undefined
      ? machineShare(Math.max(0, (busy1 - busy0) - (cpu1 - cpu0) - (sink1.cpuMs - sink0.cpuMs) - (self1 - self0)), windowMs)
      : undefined;
    const requestsAll = warm.requests.total + result.requests.total;
    const expectAudit = scenario.audit ? Math.ceil(requestsAll * AUDIT_MIN_SHARE) : undefined;
    const settled = scenario.telemetry ? await settle(sink, expectAudit) : await sink.stats();
    // Profiles are written on exit, which can take a while for a large one.
    const exitMs = await stopChild(app.child, profile ? EXIT_GRACE_PROFILING_MS : EXIT_GRACE_MS);
    const final = await sink.stats();
    const output = app.output();
    if (opts.verbose) process.stderr.write(`--- app output (${scenario.label}) ---\n${output}\n---\n`);
    let droppedSpans = 0;
    for (const m of output.matchAll(/Dropped (\d+) spans because maxQueueSize reached/g)) droppedSpans += Number(m[1]);
    return {
      scenario: scenario.id,
      round,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests: result.requests.total,
      requestsAll,
      errors: warm.errors + result.errors,
      non2xx: warm.non2xx + result.non2xx,
      cpuUsPerReq: cpu0 !== undefined && cpu1 !== undefined && result.requests.total > 0
        ? ((cpu1 - cpu0) * 1000) / result.requests.total
        : undefined,
      settled,
      final,
      otherCpuShare,
      appCpuShare: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / windowMs : undefined,
      exitMs,
      deliveryLine: /otel-audit: delivery closed:.*$/m.exec(output)?.[0],
      droppedSpans,
      profile: profile && existsSync(profile) ? profile : undefined,
    };
  } finally {
    if (app) await stopChild(app.child, KILL_GRACE_MS);
    await sink.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}
