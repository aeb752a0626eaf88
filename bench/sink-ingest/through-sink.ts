/**
 * The phases through the sink: throughput (every client sends its next
 * request once the previous one is committed), latency at a steady rate
 * (open loop), and the warm-up through the official OTLP exporter. CPU of
 * the sink process, Postgres and the clients from /proc; batches from the
 * sink's /metrics.
 */
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type pg from 'pg';
import { performance } from 'node:perf_hooks';
import type { AuditSink } from '../lib/audit-sink.ts';
import { cpuSnapshot, cpuUse, type CpuUse } from '../lib/cpu.ts';
import { openClients, type ExportClient } from '../lib/otlp-client.ts';
import { percentile } from '../lib/report.ts';
import { countRecords } from './db.ts';
import { batchStats, scrape, type BatchStats } from './metrics.ts';
import type { Options } from './options.ts';
import type { Payload } from './records.ts';

/** What a phase through the sink measured. */
export interface SinkMeasure {
  cpu: CpuUse;
  batches: BatchStats;
  retries: number;
  stored: number;
}

/**
 * Opens `opts.clients` gRPC clients to the sink and runs `send` over them
 * between two CPU snapshots (and scrapes of the sink's metrics); then counts
 * what the sink stored.
 */
async function measureSink(sink: AuditSink, admin: pg.Client, opts: Options, send: (clients: ExportClient[]) => Promise<void>): Promise<SinkMeasure> {
  const clients = await openClients(sink.grpcPort, opts.clients);
  const m0 = await scrape(sink.metricsPort);
  const c0 = cpuSnapshot(sink.child.pid);
  await send(clients);
  const c1 = cpuSnapshot(sink.child.pid);
  const m1 = await scrape(sink.metricsPort);
  const retries = clients.reduce((n, c) => n + c.retries, 0);
  for (const c of clients) c.close();
  const stored = await countRecords(admin);
  return { cpu: cpuUse(c0, c1), batches: batchStats(m0, m1), retries, stored };
}

export interface SinkRun extends SinkMeasure {
  records: number;
  wallMs: number;
  rate: number;
}

/** Every client sends the next payload as soon as its previous one was acknowledged. */
export async function sinkThroughput(sink: AuditSink, admin: pg.Client, payloads: Payload[], opts: Options): Promise<SinkRun> {
  const records = payloads.reduce((n, p) => n + p.records, 0);
  let next = 0;
  const m = await measureSink(sink, admin, opts, async (clients) => {
    await Promise.all(
      clients.map(async (c) => {
        for (;;) {
          const i = next++;
          const p = payloads[i];
          if (!p) return;
          await c.send(p.bytes);
        }
      }),
    );
  });
  return { records, wallMs: m.cpu.wallMs, rate: (1000 * m.stored) / m.cpu.wallMs, ...m };
}

export interface LatencyRun extends SinkMeasure {
  /** The rate asked for, records/s. */
  targetRate: number;
  /** The sink's maximum it was derived from (records/s), when it was. */
  maxRate: number | undefined;
  records: number;
  exports: number;
  seconds: number;
  achievedRate: number;
  p50: number;
  p99: number;
  max: number;
  /** Largest delay of a send behind its schedule, ms (the client's timer). */
  maxLateMs: number;
}

/** Sends payload i at t0 + i × interval (`rate` records/s), round-robin over the clients, whatever the answers. */
export async function sinkLatency(sink: AuditSink, admin: pg.Client, payloads: Payload[], opts: Options, rate: number): Promise<LatencyRun> {
  const intervalMs = (1000 * opts.rateBatch) / rate;
  const latencies = new Array<number>(payloads.length).fill(0);
  let maxLateMs = 0;
  const m = await measureSink(sink, admin, opts, async (clients) => {
    const t0 = performance.now();
    const inFlight: Promise<void>[] = [];
    await new Promise<void>((done) => {
      let i = 0;
      const tick = (): void => {
        const now = performance.now();
        while (i < payloads.length && t0 + i * intervalMs <= now) {
          const k = i++;
          maxLateMs = Math.max(maxLateMs, now - (t0 + k * intervalMs));
          const started = performance.now();
          inFlight.push(
            (clients[k % clients.length] as ExportClient).send((payloads[k] as Payload).bytes).then(() => {
              latencies[k] = performance.now() - started;
            }),
          );
        }
        if (i < payloads.length) setTimeout(tick, Math.max(0, t0 + i * intervalMs - performance.now()));
        else done();
      };
      tick();
    });
    await Promise.all(inFlight);
  });
  const sorted = [...latencies].sort((a, b) => a - b);
  const records = payloads.reduce((n, p) => n + p.records, 0);
  return {
    targetRate: rate,
    maxRate: undefined,
    records,
    exports: payloads.length,
    seconds: m.cpu.wallMs / 1000,
    achievedRate: (1000 * records) / m.cpu.wallMs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    maxLateMs,
    ...m,
  };
}

/** Warm-up and sanity check: the official OTLP/gRPC log exporter, with its own serialization. */
export interface WarmupRun {
  records: number;
  stored: number;
  rate: number;
  clientUsPerRecord: number;
}

export async function exporterWarmup(sink: AuditSink, admin: pg.Client, batches: ReadableLogRecord[][]): Promise<WarmupRun> {
  const exporter = new OTLPLogExporter({ url: `http://127.0.0.1:${sink.grpcPort}`, timeoutMillis: 60_000 });
  const records = batches.reduce((n, b) => n + b.length, 0);
  const c0 = cpuSnapshot(sink.child.pid);
  await Promise.all(
    batches.map(
      (b) =>
        new Promise<void>((res, rej) => {
          exporter.export(b, (r) => (r.code === 0 ? res() : rej(r.error ?? new Error('export failed'))));
        }),
    ),
  );
  const c1 = cpuSnapshot(sink.child.pid);
  await exporter.shutdown();
  const stored = await countRecords(admin);
  const cpu = cpuUse(c0, c1);
  return { records, stored, rate: (1000 * stored) / cpu.wallMs, clientUsPerRecord: (1000 * cpu.clientMs) / Math.max(1, records) };
}
