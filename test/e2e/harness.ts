/**
 * The whole pipeline on one machine, every part a real process:
 *
 *   example service (node --import otel-audit/register)
 *     → OpenTelemetry Collector (collector-config/otelcol.yaml or otelcol-scaled.yaml, with otelcol-siem.yaml when a SIEM is given)
 *       → APM (Jaeger v2, see apm.ts)
 *       → otel-audit sink process(es), as a login of audit_writer → Postgres (a fresh database)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensureCollector, ensureJaeger, GATEWAY_MANIFEST } from '../../scripts/collector.js';
import { REPO } from '../helpers/app-process.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';
import { freePorts, spawnService, startSinkProcess, waitFor, type Service } from '../helpers/processes.js';
import { startApm, type Apm } from './apm.js';

export const EXAMPLE_SERVICE = join(REPO, 'examples', 'express-app', 'server.js');

/** Build (or find in the cache) the gateway collector and Jaeger; a first build takes minutes. */
export function collectorBinaries(): { gateway: string; apm: string } {
  const log = (line: string): void => void process.stderr.write(`collector: ${line}\n`);
  return { gateway: ensureCollector(GATEWAY_MANIFEST, log), apm: ensureJaeger(log) };
}

/** Time for a first collector build in a hook. */
export const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface PipelineOptions {
  /** Number of sinks; more than one uses otelcol-scaled.yaml. Default 1. */
  sinks?: number;
  /** OTLP/gRPC `host:port` of a SIEM: adds collector-config/otelcol-siem.yaml to the collector's configuration. */
  siem?: string;
}

export interface ExampleService {
  readonly url: string;
  readonly service: Service;
}

export interface Pipeline {
  readonly apm: Apm;
  readonly collector: Service;
  /** OTLP/gRPC endpoint of the gateway collector (what services point at). */
  readonly collectorGrpc: string;
  readonly collectorHttp: string;
  readonly sinks: (Service | undefined)[];
  readonly db: pg.Pool;
  /** Connection URL of the test database, as its owner. */
  readonly databaseUrl: string;
  readonly tmp: string;
  startService(env?: Record<string, string>): Promise<ExampleService>;
  startSink(i: number): Promise<Service>;
  startCollector(): Promise<Service>;
  stopCollector(signal?: NodeJS.Signals): Promise<void>;
  /** audit.records rows, oldest first. */
  rows(): Promise<Record<string, unknown>[]>;
  rejected(): Promise<Record<string, unknown>[]>;
  /** A sink's Prometheus metric, summed over its labels (summed over all sinks when `i` is omitted). */
  sinkMetric(name: string, i?: number): Promise<number>;
  /** One of the collector's own Prometheus metrics, summed over its labels. */
  collectorMetric(name: string): Promise<number>;
  /** Wait until audit.records holds `n` rows (or fail with the counts and the processes' output). */
  waitForRows(n: number, timeoutMs?: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A Prometheus metric served on 127.0.0.1:`port`/metrics, summed over its labels. */
async function scrapeMetric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const bins = collectorBinaries();
  const nSinks = options.sinks ?? 1;
  const tmp = mkdtempSync(join(tmpdir(), 'otel-audit-e2e-'));
  const database = await createTestDatabase();
  // The sinks run as they should in production: as a login of audit_writer,
  // on a schema the owner migrated.
  const owner = await openDatabase({ url: database.url, env: {}, poolSize: 1 });
  try {
    await migrate(owner);
  } finally {
    await owner.close();
  }
  const writer = `e2e_sink_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE ROLE ${writer} LOGIN IN ROLE audit_writer`);
  const writerUrl = `postgres://${writer}@127.0.0.1:5432/${database.name}`;
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  // An idle connection dies when a fault test restarts Postgres; the pool
  // replaces it on the next query. Without a listener that would crash the run.
  db.on('error', () => {});
  const ports = await freePorts(3 + nSinks * 3);
  const [grpcPort, httpPort, metricsPort] = ports as [number, number, number];
  const sinkPorts = Array.from({ length: nSinks }, (_, i) => ports.slice(3 + i * 3, 6 + i * 3) as [number, number, number]);
  const sinks: (Service | undefined)[] = [];
  const services: Service[] = [];
  let collector: Service | undefined;
  let apm: Apm | undefined;

  const startSink = async (i: number): Promise<Service> => {
    const [g, h, m] = sinkPorts[i] as [number, number, number];
    const s = await startSinkProcess(`sink-${i}`, { databaseUrl: writerUrl, grpcPort: g, httpPort: h, metricsPort: m, env: { OTEL_AUDIT_SINK_MIGRATE: 'false' } });
    sinks[i] = s;
    return s;
  };

  const startCollector = async (): Promise<Service> => {
    if (!apm) throw new Error('no APM');
    const scaled = nSinks > 1;
    const configs = [scaled ? 'otelcol-scaled.yaml' : 'otelcol.yaml', ...(options.siem ? ['otelcol-siem.yaml'] : [])];
    const siemEnv: Record<string, string> = options.siem
      ? { SIEM_ENDPOINT: options.siem, SIEM_INSECURE: 'true', SIEM_QUEUE_DIR: join(tmp, 'siem-queue') }
      : {};
    const sinkEnv: Record<string, string> = scaled
      ? { AUDIT_SINK_HOSTNAMES: `[${sinkPorts.map(([g]) => `127.0.0.1:${g}`).join(', ')}]` }
      : { AUDIT_SINK_ENDPOINT: `127.0.0.1:${sinkPorts[0]?.[0]}` };
    collector = await spawnService('collector', bins.gateway, configs.flatMap((c) => ['--config', `file:${join(REPO, 'collector-config', c)}`]), {
      env: {
        APM_ENDPOINT: apm.endpoint,
        APM_INSECURE: 'true',
        AUDIT_SINK_INSECURE: 'true',
        AUDIT_QUEUE_DIR: join(tmp, 'collector-queue'),
        OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
        OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
        COLLECTOR_METRICS_HOST: '127.0.0.1',
        COLLECTOR_METRICS_PORT: String(metricsPort),
        MEMORY_LIMIT_MIB: '512',
        ...sinkEnv,
        ...siemEnv,
      },
      ready: (out) => out.includes('Everything is ready'),
    });
    return collector;
  };

  const pipeline: Pipeline = {
    get apm() {
      if (!apm) throw new Error('no APM');
      return apm;
    },
    get collector() {
      if (!collector) throw new Error('no collector');
      return collector;
    },
    collectorGrpc: `http://127.0.0.1:${grpcPort}`,
    collectorHttp: `http://127.0.0.1:${httpPort}`,
    sinks,
    db,
    databaseUrl: database.url,
    tmp,
    startSink,
    startCollector,
    async stopCollector(signal = 'SIGTERM') {
      await collector?.stop(signal);
    },
    async startService(env = {}) {
      const service = await spawnService('example-service', process.execPath, ['--import', 'otel-audit/register', EXAMPLE_SERVICE], {
        env: {
          PORT: '0',
          OTEL_SERVICE_NAME: 'example-service',
          OTEL_EXPORTER_OTLP_ENDPOINT: pipeline.collectorGrpc,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          OTEL_BSP_SCHEDULE_DELAY: '100',
          OTEL_AUDIT_EXPORT_DELAY_MS: '50',
          OTEL_AUDIT_GRACE_MS: '100',
          OTEL_AUDIT_RETRY_INITIAL_MS: '200',
          OTEL_AUDIT_RETRY_MAX_MS: '2000',
          OTEL_AUDIT_SPOOL_DIR: join(tmp, `spool-${services.length}`),
          OTEL_LOG_LEVEL: 'warn',
          ...env,
        },
        ready: (out) => /example service on http:\/\/127\.0\.0\.1:\d+/.test(out),
      });
      services.push(service);
      const port = /example service on http:\/\/127\.0\.0\.1:(\d+)/.exec(service.output())?.[1];
      return { service, url: `http://127.0.0.1:${port}` };
    },
    async rows() {
      return (await db.query('SELECT * FROM audit.records ORDER BY id')).rows;
    },
    async rejected() {
      return (await db.query('SELECT * FROM audit.rejected ORDER BY id')).rows;
    },
    async sinkMetric(name, i) {
      let total = 0;
      for (const [j, [, , m]] of sinkPorts.entries()) {
        if (i !== undefined && i !== j) continue;
        total += await scrapeMetric(m, name);
      }
      return total;
    },
    collectorMetric: (name) => scrapeMetric(metricsPort, name),
    async waitForRows(n, timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.records');
          return (rows[0]?.n ?? 0) >= n ? true : undefined;
        },
        timeoutMs,
        async () => {
          const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.records');
          return `audit.records holds ${rows[0]?.n} rows, waiting for ${n}\n--- collector\n${collector?.output().slice(-3000)}\n${sinks
            .map((s, i) => `--- sink ${i}\n${s?.output().slice(-2000)}`)
            .join('\n')}`;
        },
      );
      return pipeline.rows();
    },
    async close() {
      await Promise.all(services.map((s) => s.stop('SIGKILL')));
      await collector?.stop();
      await Promise.all(sinks.map((s) => s?.stop()));
      await apm?.close();
      await db.end();
      await database.drop();
      await adminQuery(`DROP ROLE IF EXISTS ${writer}`);
      rmSync(tmp, { recursive: true, force: true });
    },
  };

  try {
    apm = await startApm(bins.apm);
    for (let i = 0; i < nSinks; i++) await startSink(i);
    await startCollector();
  } catch (err) {
    await pipeline.close();
    throw err;
  }
  return pipeline;
}
