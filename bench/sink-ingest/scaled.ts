/**
 * The scaled phase: the real OpenTelemetry Collector with
 * collector-config/otelcol-scaled.yaml (persistent queue, `load_balancing`
 * exporter routed by trace ID) in front of N sinks, against the same
 * collector in front of one, on one database. The clients send the
 * pre-serialized requests to the collector as fast as it acknowledges them
 * (on its disk queue); a run lasts until the sinks have written every
 * record (their /metrics), so records/s is the rate into Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { collectorPath, GATEWAY_MANIFEST } from '../../scripts/collector.ts';
import { startAuditSink, type AuditSink } from '../lib/audit-sink.ts';
import { cpuMs, cpuSnapshot, cpuUse, type CpuUse } from '../lib/cpu.ts';
import { openClients } from '../lib/otlp-client.ts';
import { childEnv, collectOutput, ROOT, stopChild, track } from '../lib/proc.ts';
import { fmt, median } from '../lib/report.ts';
import { checkStored, countRecords, resetTable } from './db.ts';
import { scrape } from './metrics.ts';
import type { Options } from './options.ts';
import type { Payload } from './records.ts';

const CONFIG = join(ROOT, 'collector-config', 'otelcol-scaled.yaml');
const READY_TIMEOUT_MS = 60_000;
/** How long the sinks may take to write what the collector holds after the last request was queued. */
const DRAIN_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 100;

/** One run through the collector. */
export interface ScaledRun {
  sinks: number;
  records: number;
  wallMs: number;
  /** Records written into Postgres per second, first request to last commit. */
  rate: number;
  /** Records each sink wrote. */
  perSink: number[];
  /** CPU of the sinks together and of the collector, ms. */
  sinksCpuMs: number;
  collectorCpuMs: number;
  cpu: CpuUse;
}

export interface ScaledResult {
  sinks: number;
  one: ScaledRun[];
  many: ScaledRun[];
  /** Why the phase did not run, when it did not. */
  skipped?: string;
}

export interface ScaledContext {
  dbUrl: string;
  admin: pg.Client;
  connectAdmin: () => Promise<void>;
  tmp: string;
  opts: Options;
  payloads: Payload[];
}

/** The cached collector build, or why there is none (this benchmark never builds it). */
function collectorBinary(): { path: string } | { skipped: string } {
  let path: string;
  try {
    path = collectorPath(GATEWAY_MANIFEST);
  } catch (err) {
    return { skipped: `no Go to locate the collector build (${(err as Error).message})` };
  }
  return existsSync(path) ? { path } : { skipped: `the collector is not built (${path}); run \`npm run collector:build\`` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

interface Collector {
  child: ChildProcess;
  grpcPort: number;
  output: () => string;
}

async function startCollector(binary: string, sinkPorts: number[], queueDir: string): Promise<Collector> {
  const [grpcPort, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...childEnv(),
    // The traces pipeline needs an APM; nothing is sent there (the benchmark sends logs only).
    APM_ENDPOINT: '127.0.0.1:9',
    APM_INSECURE: 'true',
    AUDIT_SINK_INSECURE: 'true',
    AUDIT_SINK_HOSTNAMES: `[${sinkPorts.map((p) => `127.0.0.1:${p}`).join(', ')}]`,
    AUDIT_QUEUE_DIR: queueDir,
    OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
    OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
    COLLECTOR_METRICS_HOST: '127.0.0.1',
    COLLECTOR_METRICS_PORT: String(metricsPort),
    MEMORY_LIMIT_MIB: '1024',
  };
  const child = spawn(binary, ['--config', `file:${CONFIG}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = collectOutput(child);
  const started = Date.now();
  // The collector logs to stderr: wait for its ready line there.
  while (!output().includes('Everything is ready')) {
    if (child.exitCode !== null) throw new Error(`the collector exited (${child.exitCode})\n${output()}`);
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`the collector did not start within ${READY_TIMEOUT_MS / 1000} s\n${output()}`);
    await sleep(POLL_MS);
  }
  return { child, grpcPort, output };
}

async function written(sinks: AuditSink[]): Promise<number[]> {
  return Promise.all(sinks.map(async (s) => (await scrape(s.metricsPort)).written));
}

/** One run: `n` sinks behind a fresh collector (queue included), every payload through it. */
async function runOnce(ctx: ScaledContext, binary: string, n: number): Promise<ScaledRun> {
  const { opts } = ctx;
  const sinks: AuditSink[] = [];
  let collector: Collector | undefined;
  const queueDir = mkdtempSync(join(ctx.tmp, 'collector-queue-'));
  try {
    for (let i = 0; i < n; i++) sinks.push(await startAuditSink(ctx.dbUrl, { extra: opts.sinkConfigs[0] ?? [] }));
    await ctx.connectAdmin();
    await resetTable(ctx.admin);
    collector = await startCollector(binary, sinks.map((s) => s.grpcPort), queueDir);
    const records = ctx.payloads.reduce((k, p) => k + p.records, 0);
    const clients = await openClients(collector.grpcPort, opts.clients);
    const before = await written(sinks);
    const sinkCpu0 = sinks.map((s) => cpuMs(s.child.pid) ?? 0);
    const c0 = cpuSnapshot(collector.child.pid);
    let next = 0;
    let sendError: unknown;
    const sending = Promise.all(clients.map(async (c) => {
      for (let i = next++; i < ctx.payloads.length; i = next++) await c.send((ctx.payloads[i] as Payload).bytes);
    })).catch((err: unknown) => {
      sendError = err;
    });
    let now: number[] = before;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (;;) {
      if (sendError !== undefined) throw sendError;
      now = await written(sinks);
      const total = now.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0);
      if (total >= records) break;
      if (Date.now() > deadline) throw new Error(`the sinks wrote ${total} of ${records} records in ${DRAIN_TIMEOUT_MS / 1000} s\n${collector.output().slice(-3000)}`);
      await sleep(POLL_MS);
    }
    const c1 = cpuSnapshot(collector.child.pid);
    const sinksCpuMs = sinks.reduce((k, s, i) => k + (cpuMs(s.child.pid) ?? 0) - (sinkCpu0[i] as number), 0);
    await sending;
    if (sendError !== undefined) throw sendError;
    for (const c of clients) c.close();
    const cpu = cpuUse(c0, c1);
    checkStored(await countRecords(ctx.admin), records, `scaled, ${n} sink(s)`);
    return {
      sinks: n,
      records,
      wallMs: cpu.wallMs,
      rate: (1000 * records) / cpu.wallMs,
      perSink: now.map((w, i) => w - (before[i] as number)),
      sinksCpuMs,
      collectorCpuMs: cpu.serverMs ?? 0,
      cpu,
    };
  } finally {
    if (collector) await stopChild(collector.child, 15_000);
    for (const s of sinks) await s.stop();
    rmSync(queueDir, { recursive: true, force: true });
  }
}

/** One sink, then N, --scaled-rounds times, interleaved. */
export async function scaledRuns(ctx: ScaledContext): Promise<ScaledResult> {
  const n = ctx.opts.scaledSinks;
  const bin = collectorBinary();
  if ('skipped' in bin) {
    console.log(`scaled: skipped: ${bin.skipped}`);
    return { sinks: n, one: [], many: [], skipped: bin.skipped };
  }
  const result: ScaledResult = { sinks: n, one: [], many: [] };
  for (let round = 1; round <= ctx.opts.scaledRounds; round++) {
    for (const k of [1, n]) {
      const r = await runOnce(ctx, bin.path, k);
      (k === 1 ? result.one : result.many).push(r);
      console.log(`round ${round}/${ctx.opts.scaledRounds}  collector → ${k} sink(s): ${scaledLine(r)}`);
    }
  }
  await resetTable(ctx.admin);
  return result;
}

/** Records/s, how the sinks shared them, and the CPU of each party. */
export function scaledLine(r: ScaledRun): string {
  const share = (ms: number): string => `${fmt((100 * ms) / r.wallMs)} % of a core`;
  return `${fmt(r.records)} records in ${fmt(r.wallMs)} ms, ${fmt(r.rate)} records/s into Postgres` +
    (r.sinks > 1 ? ` (${r.perSink.map((w) => fmt(w)).join(' / ')} per sink)` : '') +
    `; CPU sinks ${share(r.sinksCpuMs)}, collector ${share(r.collectorCpuMs)}, Postgres ${share(r.cpu.pgMs)}, client ${share(r.cpu.clientMs)}`;
}

/** Median records/s of N sinks ÷ of one, when both ran. */
export function scaledRatio(s: ScaledResult): number | undefined {
  if (s.one.length === 0 || s.many.length === 0) return undefined;
  return median(s.many.map((r) => r.rate)) / median(s.one.map((r) => r.rate));
}
