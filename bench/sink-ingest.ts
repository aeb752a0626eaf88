/**
 * Sink ingest: how fast the otel-audit sink stores audit records in
 * Postgres, against the physical limit (COPY) and what a home-grown design
 * does (one INSERT per row), plus the latency of an export at a steady rate.
 * See bench/README.md.
 *
 *   node bench/sink-ingest.ts [--exports 200] [--records-per-export 500] [--clients 4] ...
 *
 * One run creates a fresh database, starts the sink (`node dist/cli.js sink`,
 * which migrates it) and measures, truncating `audit.records` between phases:
 *   sink     pre-serialized OTLP/gRPC ExportLogsServiceRequests sent by
 *            concurrent in-process clients as fast as they are acknowledged
 *   copy     the same rows, exported as CSV, loaded with psql's \copy
 *   insert   the same rows, one autocommitted INSERT per row over a pg.Pool
 *   latency  a steady rate through the sink; time from call to OK per export
 *   writers  in-process batch writers on the same rows (the sink's unnest
 *            statement and two variants, COPY into a staging table, plain COPY)
 *   decode   the sink's protobuf decoding path against a direct walk, in-process
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import pg from 'pg';
import protobuf from 'protobufjs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commandLine, commonOptions, positive, UsageError, type CommonOptions } from './lib/args.ts';
import {
  awaitLine, checkBuild, childEnv, collectOutput, cpuProfArgs, machineBusyMs, procStat, ROOT, runMain, selfCpuMs, stopChild, track, type ProcStat,
} from './lib/proc.ts';
import { owner, readProfile, shortUrl, type CpuProfileNode } from './lib/profile.ts';
import { fmt, machine, mdTable, medianBy, percentile, textTable, writeReadme } from './lib/report.ts';
import { withClient } from './lib/pg.ts';
import { ROW_FIELD_COLUMNS } from '../src/contract/columns.ts';
import { decodeLogsWire } from '../src/otlp/wire-logs.ts';

const CLI = join(ROOT, 'dist', 'cli.js');
const LOGS_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/** Goals on this benchmark's 2-core machine. */
const GOAL_RECORDS_PER_S = 50_000;
const GOAL_VS_COPY = 0.6;
const GOAL_VS_INSERT = 20;
const GOAL_P99_MS = 1_000;

/** The columns the sink's writer inserts from a record's fields (src/contract/columns.ts), in its order. */
const COLUMNS = ROW_FIELD_COLUMNS.map((c) => c.name);
const COLUMN_TYPES = ROW_FIELD_COLUMNS.map((c) => c.type);
const COLUMN_LIST = COLUMNS.join(', ');

const USAGE = `Usage: node bench/sink-ingest.ts [options]

Measures how fast the otel-audit sink (dist/cli.js sink) stores audit records
in Postgres, on a fresh database that the sink migrates, against:
  copy      the same rows loaded with psql \\copy (CSV): the physical limit
  insert    the same rows, one autocommitted INSERT per row (pg.Pool)
and the latency of an export at a steady rate through the sink. Two
experiments run in this process: batch writers on the same rows (the sink's
unnest statement, COPY into a staging table, plain COPY) and the sink's
protobuf decoding against a direct walk. Prints a table, the ratios
sink ÷ COPY and sink ÷ per-row INSERT, and the CPU split between the sink,
Postgres and the client. Uses dist/ (run \`npm run build\`
first), psql, and Postgres at --pg-url (a database named --database is
created, and dropped at the end).

Options:
  --pg-url URL              server to use (default postgres://postgres@127.0.0.1:5432)
  --database NAME           database to create and drop (default otel_audit_bench)
  --keep-database           do not drop it at the end
  --phases LIST             comma-separated subset of sink,copy,insert,latency,
                            writers,decode (default all; copy, insert and writers
                            use the rows the sink phase stored)
  --exports N               ExportLogsServiceRequests per sink run (default 200)
  --records-per-export N    log records per request (default 500)
  --clients N               concurrent gRPC clients, one call in flight each (default 4)
  --rounds N                sink and COPY runs, interleaved; medians (default 3)
  --warmup N                records sent first with the official OTLPLogExporter,
                            a sanity check and JIT warm-up, not measured (default 10000)
  --copy-procs LIST         parallel psql processes for COPY, e.g. 1,2 (default 1,2);
                            the fastest is the baseline
  --insert-rows N           rows for the per-row INSERT baseline (default 20000)
  --insert-clients N        pool size and concurrent INSERTs (default 8)
  --rate N                  records/s of the latency phase (default 5000)
  --rate-batch N            records per export in the latency phase (default 50)
  --latency-duration S      seconds of the latency phase (default 20)
  --writer-rows N           rows for the writers experiment (default: all stored)
  --writer-batch N          rows per transaction there (default 2000)
  --writer-concurrency N    concurrent transactions there (default 2); the
                            strategies run --rounds times, in a rotating order
  --sink-args=FLAGS         extra flags for the sink, e.g. --sink-args="--batch-rows
                            5000" (with the =); repeatable: each set is measured
                            in turn (sink and latency phases), a tuning sweep;
                            --sink-args= is the defaults
  --without-index NAME      drop this index of audit.records after the migration,
                            e.g. records_trace, to measure what it costs
                            (repeatable; the results say so)
  --cpu-prof                profile the sink (node --cpu-prof) and print the
                            functions and packages with the most self time
  --cpu-prof-dir DIR        where profiles go (default: a new temp directory)
  --top N                   rows of the profile summary (default 20)
  --write                   replace the results section of bench/README.md
                            (with several --sink-args: the sweep section)
  --verbose                 print what the sink logged
  --help                    print this text
`;

type Phase = 'sink' | 'copy' | 'insert' | 'latency' | 'writers' | 'decode';
const PHASES: readonly Phase[] = ['sink', 'copy', 'insert', 'latency', 'writers', 'decode'];

interface Options extends CommonOptions {
  pgUrl: string;
  database: string;
  keepDatabase: boolean;
  phases: Set<Phase>;
  exports: number;
  recordsPerExport: number;
  clients: number;
  rounds: number;
  warmup: number;
  copyProcs: number[];
  insertRows: number;
  insertClients: number;
  rate: number;
  rateBatch: number;
  latencyDuration: number;
  writerRows: number | undefined;
  writerBatch: number;
  writerConcurrency: number;
  sinkConfigs: string[][];
  withoutIndex: string[];
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'pg-url': { type: 'string' },
      database: { type: 'string' },
      'keep-database': { type: 'boolean' },
      phases: { type: 'string' },
      exports: { type: 'string' },
      'records-per-export': { type: 'string' },
      clients: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      'copy-procs': { type: 'string' },
      'insert-rows': { type: 'string' },
      'insert-clients': { type: 'string' },
      rate: { type: 'string' },
      'rate-batch': { type: 'string' },
      'latency-duration': { type: 'string' },
      'writer-rows': { type: 'string' },
      'writer-batch': { type: 'string' },
      'writer-concurrency': { type: 'string' },
      'sink-args': { type: 'string', multiple: true },
      'without-index': { type: 'string', multiple: true },
      ...COMMON_OPTIONS,
    },
    strict: true,
  });
  if (values.help) return undefined;
  const phases = new Set<Phase>();
  for (const p of (values.phases ?? PHASES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!PHASES.includes(p as Phase)) throw new UsageError(`--phases: unknown phase "${p}" (${PHASES.join(', ')})`);
    phases.add(p as Phase);
  }
  if (phases.size === 0) throw new UsageError('--phases: none given');
  for (const p of ['copy', 'insert', 'writers'] as const) {
    if (phases.has(p) && !phases.has('sink')) throw new UsageError(`--phases: ${p} needs the sink phase (it loads the rows the sink stored)`);
  }
  const copyProcs = (values['copy-procs'] ?? '1,2').split(',').map((s) => positive('copy-procs', s.trim(), 1));
  const database = values.database ?? 'otel_audit_bench';
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new UsageError(`--database ${database}: use lowercase letters, digits and _`);
  return {
    pgUrl: (values['pg-url'] ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/+$/, ''),
    database,
    keepDatabase: values['keep-database'] === true,
    phases,
    exports: positive('exports', values.exports, 200),
    recordsPerExport: positive('records-per-export', values['records-per-export'], 500),
    clients: positive('clients', values.clients, 4),
    rounds: positive('rounds', values.rounds, 3),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, 10_000),
    copyProcs: [...new Set(copyProcs)],
    insertRows: positive('insert-rows', values['insert-rows'], 20_000),
    insertClients: positive('insert-clients', values['insert-clients'], 8),
    rate: positive('rate', values.rate, 5_000),
    rateBatch: positive('rate-batch', values['rate-batch'], 50),
    latencyDuration: positive('latency-duration', values['latency-duration'], 20, false),
    writerRows: values['writer-rows'] === undefined ? undefined : positive('writer-rows', values['writer-rows'], 0),
    writerBatch: positive('writer-batch', values['writer-batch'], 2_000),
    writerConcurrency: positive('writer-concurrency', values['writer-concurrency'], 2),
    sinkConfigs: (values['sink-args'] ?? ['']).map((s) => s.split(/\s+/).filter(Boolean)),
    withoutIndex: (values['without-index'] ?? []).map((name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new UsageError(`--without-index ${name}: not an index name`);
      return name;
    }),
    ...commonOptions(values),
  };
}

// ---------------------------------------------------------------------------
// Audit records, as the otel-audit SDK sends them (src/sdk/record-builder.ts)

interface Route {
  method: string;
  route: string;
  action: string;
  resourceType: string;
  module: string;
  status: number;
  /** Request body of the operation (level full), as the SDK captures it. */
  body?: Record<string, unknown>;
}

const ROUTES: readonly Route[] = [
  { method: 'GET', route: '/users/:id', action: 'user.read', resourceType: 'user', module: 'accounts', status: 200 },
  { method: 'GET', route: '/orders/:id', action: 'order.read', resourceType: 'order', module: 'orders', status: 200 },
  { method: 'GET', route: '/orders/:id', action: 'order.read', resourceType: 'order', module: 'orders', status: 200 },
  {
    method: 'POST', route: '/orders', action: 'order.create', resourceType: 'order', module: 'orders', status: 201,
    body: { items: [{ sku: 'SKU-10442', quantity: 2 }, { sku: 'SKU-20017', quantity: 1 }], currency: 'EUR', note: 'leave at the door' },
  },
  {
    method: 'PATCH', route: '/users/:id', action: 'user.update', resourceType: 'user', module: 'accounts', status: 200,
    body: { display_name: 'Ada L.', locale: 'en-GB' },
  },
  { method: 'DELETE', route: '/sessions/:id', action: 'session.delete', resourceType: 'session', module: 'auth', status: 204 },
];

const SERVICES = ['orders-api', 'accounts-api', 'billing-api', 'catalog-api', 'shipping-api', 'search-api', 'gateway', 'reports-api'];
const USER_AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'okhttp/4.12.0',
];
const SCOPE = { name: 'otel-audit', version: '0.1.0' };
const SEVERITY_INFO = 9;

/** One emitting process: its resource and its next sequence number. */
interface Emitter {
  id: string;
  service: string;
  resource: Resource;
  seq: number;
}

function makeEmitters(tag: string, n: number): Emitter[] {
  return Array.from({ length: n }, (_, i) => {
    const service = SERVICES[i % SERVICES.length] as string;
    const id = `${tag}-${i}-${randomBytes(6).toString('hex')}`;
    return {
      id,
      service,
      seq: 0,
      resource: resourceFromAttributes({
        'service.name': service,
        'service.version': '2.14.3',
        'service.instance.id': id,
        'deployment.environment.name': 'production',
        'host.name': `ip-10-0-${i}-17`,
        'process.pid': 4000 + i,
        'process.runtime.name': 'nodejs',
        'process.runtime.version': '24.21.0',
        'telemetry.sdk.name': 'opentelemetry',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.version': '3.1.0',
      }),
    };
  });
}

/** A log record like the SDK's: ~20 attributes, the record as a map body, a unique trace id. */
function makeLogRecord(e: Emitter, n: number, nowMs: number): ReadableLogRecord {
  const r = ROUTES[n % ROUTES.length] as Route;
  const ids = randomBytes(24).toString('hex');
  const traceId = ids.slice(0, 32);
  const spanId = ids.slice(32, 48);
  const resourceId = String(100_000 + ((n * 7919) % 900_000));
  const denied = n % 50 === 7;
  const failed = n % 50 === 13;
  const status = denied ? 403 : failed ? 500 : r.status;
  const outcome = denied ? 'denied' : failed ? 'failure' : 'success';
  const path = r.route.replace(':id', resourceId);
  const actorId = `user-${(n * 31) % 5000}`;
  const clientAddress = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const userAgent = USER_AGENTS[n % USER_AGENTS.length] as string;
  const durationMs = Math.round((2 + (n % 97) * 0.37) * 1000) / 1000;
  const request = r.body ? JSON.stringify({ query: { expand: 'items' }, body: r.body }) : undefined;
  const seq = ++e.seq;
  const attributes: Record<string, string | number | boolean> = {
    'audit.action': r.action,
    'audit.outcome': outcome,
    'audit.actor.id': actorId,
    'audit.actor.name': `User ${actorId.slice(5)}`,
    'audit.actor.type': 'user',
    'audit.tenant.id': `tenant-${n % 40}`,
    'audit.resource.type': r.resourceType,
    'audit.resource.id': resourceId,
    'audit.module': r.module,
    'audit.level': 'full',
    'http.request.method': r.method,
    'http.route': r.route,
    'url.path': path,
    'http.response.status_code': status,
    'client.address': clientAddress,
    'audit.duration_ms': durationMs,
    'user_agent.original': userAgent,
    'audit.emitter.id': e.id,
    'audit.emitter.seq': seq,
  };
  if (request !== undefined) attributes['audit.request'] = request;
  if (failed) attributes['audit.error.message'] = 'upstream timed out';
  const body: Record<string, unknown> = {
    action: r.action,
    outcome,
    actor: { type: 'user', id: actorId, name: attributes['audit.actor.name'] },
    tenant_id: attributes['audit.tenant.id'],
    resource: { type: r.resourceType, id: resourceId },
    module: r.module,
    level: 'full',
    http: { method: r.method, route: r.route, path, status_code: status, client_address: clientAddress, user_agent: userAgent },
    duration_ms: durationMs,
  };
  if (failed) body['error'] = 'upstream timed out';
  if (request !== undefined) body['request'] = request;
  // Occurred a few ms before it was exported; distinct per record.
  const startNs = BigInt(Math.floor(nowMs)) * 1_000_000n - BigInt(n % 1000) * 1_000n;
  return {
    hrTime: [Number(startNs / 1_000_000_000n), Number(startNs % 1_000_000_000n)],
    hrTimeObserved: [Math.floor(nowMs / 1000), Math.floor((nowMs % 1000) * 1e6)],
    spanContext: { traceId, spanId, traceFlags: 1 },
    severityNumber: SEVERITY_INFO,
    severityText: 'INFO',
    eventName: 'audit',
    body: body as ReadableLogRecord['body'],
    resource: e.resource,
    instrumentationScope: SCOPE,
    attributes,
    droppedAttributesCount: 0,
  };
}

interface Payload {
  bytes: Buffer;
  records: number;
}

/** `count` batches of `size` log records, round-robin over the emitters. */
function makeBatches(emitters: Emitter[], count: number, size: number): ReadableLogRecord[][] {
  const out: ReadableLogRecord[][] = [];
  let n = 0;
  const now = Date.now();
  for (let b = 0; b < count; b++) {
    const e = emitters[b % emitters.length] as Emitter;
    const batch: ReadableLogRecord[] = [];
    for (let i = 0; i < size; i++) batch.push(makeLogRecord(e, n++, now));
    out.push(batch);
  }
  return out;
}

/** Serialized ExportLogsServiceRequests, as the official OTLP exporter encodes them. */
function serialize(batches: ReadableLogRecord[][]): Payload[] {
  return batches.map((b) => {
    const bytes = ProtobufLogsSerializer.serializeRequest(b);
    if (!bytes) throw new Error('ProtobufLogsSerializer returned nothing');
    return { bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), records: b.length };
  });
}

// ---------------------------------------------------------------------------
// Processes and CPU accounting (from /proc)

/** Postgres CPU so far, ms: live server processes, plus exited ones (cutime of the postmaster). */
function postgresCpu(): { backendsMs: number; otherMs: number } {
  let backendsMs = 0;
  let otherMs = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return { backendsMs, otherMs };
  }
  const stats = new Map<number, ProcStat>();
  for (const pid of pids) {
    const s = procStat(pid);
    if (s?.comm === 'postgres') stats.set(Number(pid), s);
  }
  for (const [pid, s] of stats) {
    const postmaster = !stats.has(s.ppid);
    if (postmaster) {
      otherMs += s.cpuMs + s.childrenMs;
      continue;
    }
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // exited meanwhile
    }
    // Background processes name themselves (walwriter, checkpointer, ...); backends show user, database and peer.
    if (/\(\d+\)|\[local\]/.test(cmd)) backendsMs += s.cpuMs;
    else otherMs += s.cpuMs;
  }
  return { backendsMs, otherMs };
}

interface CpuSnapshot {
  atMs: number;
  machineMs: number | undefined;
  sinkMs: number | undefined;
  pgBackendsMs: number;
  pgOtherMs: number;
  /** This process: the clients. */
  selfMs: number;
  /** Children of this process that exited (psql), ms. */
  reapedMs: number;
}

function cpuSnapshot(sinkPid: number | undefined): CpuSnapshot {
  const pgCpu = postgresCpu();
  const self = procStat('self');
  const selfMs = selfCpuMs();
  return {
    atMs: performance.now(),
    machineMs: machineBusyMs(),
    sinkMs: sinkPid === undefined ? undefined : procStat(sinkPid)?.cpuMs,
    pgBackendsMs: pgCpu.backendsMs,
    pgOtherMs: pgCpu.otherMs,
    selfMs,
    reapedMs: self?.childrenMs ?? 0,
  };
}

/** CPU used between two snapshots, ms, by who. */
interface CpuUse {
  wallMs: number;
  machineMs: number | undefined;
  sinkMs: number | undefined;
  pgMs: number;
  pgBackendsMs: number;
  clientMs: number;
  /** Exited children of this process (psql). */
  toolsMs: number;
  /** Everything else on the machine (noise). */
  otherMs: number | undefined;
}

function cpuUse(a: CpuSnapshot, b: CpuSnapshot, excludeFromClientMs = 0): CpuUse {
  const sinkMs = a.sinkMs !== undefined && b.sinkMs !== undefined ? b.sinkMs - a.sinkMs : undefined;
  const pgMs = b.pgBackendsMs + b.pgOtherMs - a.pgBackendsMs - a.pgOtherMs;
  const clientMs = Math.max(0, b.selfMs - a.selfMs - excludeFromClientMs);
  const toolsMs = b.reapedMs - a.reapedMs;
  const machineMs = a.machineMs !== undefined && b.machineMs !== undefined ? b.machineMs - a.machineMs : undefined;
  return {
    wallMs: b.atMs - a.atMs,
    machineMs,
    sinkMs,
    pgMs,
    pgBackendsMs: b.pgBackendsMs - a.pgBackendsMs,
    clientMs,
    toolsMs,
    otherMs: machineMs === undefined ? undefined : Math.max(0, machineMs - (sinkMs ?? 0) - pgMs - clientMs - toolsMs - excludeFromClientMs),
  };
}

// ---------------------------------------------------------------------------
// The sink

interface SinkProc {
  child: ChildProcess;
  grpcPort: number;
  metricsPort: number;
  output: () => string;
  stop(): Promise<void>;
}

async function startSink(opts: Options, dbUrl: string, extra: string[], profile: string | undefined): Promise<SinkProc> {
  const args = [
    ...cpuProfArgs(profile), CLI, 'sink', '--database-url', dbUrl,
    '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0', '--log-level', 'info', ...extra,
  ];
  const env = childEnv((k) => k === 'DATABASE_URL' || k.startsWith('PG'));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = collectOutput(child, 512 * 1024);
  const ports = await awaitLine(child, {
    name: 'the sink',
    output,
    timeoutMs: 60_000,
    timeoutText: () => `the sink did not start within 60 s\n${output()}`,
    match: (line) => {
      let msg: { msg?: unknown; grpc?: unknown; metrics?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return undefined;
      }
      if (msg.msg !== 'otel-audit sink listening' || typeof msg.grpc !== 'string' || typeof msg.metrics !== 'string') return undefined;
      return { grpc: Number(msg.grpc.split(':').pop()), metrics: Number(msg.metrics.split(':').pop()) };
    },
  });
  return {
    child,
    grpcPort: ports.grpc,
    metricsPort: ports.metrics,
    output,
    stop: async () => {
      await stopChild(child, opts.cpuProfDir ? 60_000 : 15_000);
    },
  };
}

/** The sink's Prometheus metrics that matter here. */
interface SinkCounters {
  batches: number;
  batchRows: number;
  batchSeconds: number;
  written: number;
  duplicates: number;
  rejected: number;
  /** Batches per upper bound of `otel_audit_sink_batch_seconds` (cumulative). */
  secondsBuckets: Map<string, number>;
}

async function scrape(port: number): Promise<SinkCounters> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const value = (name: string): number => {
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'gm'))) sum += Number(m[1]);
    return sum;
  };
  const secondsBuckets = new Map<string, number>();
  for (const m of text.matchAll(/^otel_audit_sink_batch_seconds_bucket\{le="([^"]+)"\} ([0-9.eE+-]+)$/gm)) {
    secondsBuckets.set(m[1] as string, Number(m[2]));
  }
  return {
    batches: value('otel_audit_sink_batch_rows_count'),
    batchRows: value('otel_audit_sink_batch_rows_sum'),
    batchSeconds: value('otel_audit_sink_batch_seconds_sum'),
    written: value('otel_audit_sink_records_written_total'),
    duplicates: value('otel_audit_sink_records_duplicate_total'),
    rejected: value('otel_audit_sink_records_rejected_total'),
    secondsBuckets,
  };
}

interface BatchStats {
  batches: number;
  rowsPerBatch: number;
  msPerBatch: number;
  /** Rows per second of database time (what the database side alone would sustain with one batch at a time). */
  rowsPerDbSecond: number;
  written: number;
  duplicates: number;
  rejected: number;
  /** Share of batches that took at most 100 ms. */
  under100ms: number;
}

function batchStats(a: SinkCounters, b: SinkCounters): BatchStats {
  const batches = b.batches - a.batches;
  const rows = b.batchRows - a.batchRows;
  const seconds = b.batchSeconds - a.batchSeconds;
  const le100 = (b.secondsBuckets.get('0.1') ?? 0) - (a.secondsBuckets.get('0.1') ?? 0);
  return {
    batches,
    rowsPerBatch: batches > 0 ? rows / batches : 0,
    msPerBatch: batches > 0 ? (1000 * seconds) / batches : 0,
    rowsPerDbSecond: seconds > 0 ? rows / seconds : 0,
    written: b.written - a.written,
    duplicates: b.duplicates - a.duplicates,
    rejected: b.rejected - a.rejected,
    under100ms: batches > 0 ? le100 / batches : 0,
  };
}

// ---------------------------------------------------------------------------
// gRPC clients: pre-serialized bytes in, the response bytes out

const passthrough = (b: Buffer): Buffer => b;

const LogsServiceClient = grpc.makeGenericClientConstructor(
  {
    Export: {
      path: LOGS_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: passthrough,
      requestDeserialize: passthrough,
      responseSerialize: passthrough,
      responseDeserialize: passthrough,
    },
  },
  'LogsService',
);

type ExportFn = (
  request: Buffer,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Buffer) => void,
) => grpc.ClientUnaryCall;

/** Codes after which an OTLP exporter retries (the sink answers these when its queue is full or the database is down). */
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED, grpc.status.DEADLINE_EXCEEDED]);

class ExportClient {
  retries = 0;
  private readonly client: grpc.Client;
  private readonly call: ExportFn;

  constructor(port: number) {
    // A connection of its own, as separate services would have.
    this.client = new LogsServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_send_message_length': -1,
    });
    this.call = (this.client as unknown as { Export: ExportFn }).Export.bind(this.client);
  }

  ready(): Promise<void> {
    return new Promise<void>((res, rej) => this.client.waitForReady(Date.now() + 10_000, (err) => (err ? rej(err) : res())));
  }

  /** Resolves once the sink answered OK (committed); retries what the sink asks to retry. */
  async send(bytes: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const err = await new Promise<grpc.ServiceError | null>((res) => {
        this.call(bytes, new grpc.Metadata(), { deadline: Date.now() + 60_000 }, (e) => res(e));
      });
      if (!err) return;
      if (!RETRYABLE.has(err.code) || attempt >= 20) throw new Error(`export failed: ${err.code} ${err.details}`);
      this.retries++;
      await sleep(Math.min(1000, 20 * 2 ** attempt));
    }
  }

  close(): void {
    this.client.close();
  }
}

async function openClients(port: number, n: number): Promise<ExportClient[]> {
  const clients = Array.from({ length: n }, () => new ExportClient(port));
  await Promise.all(clients.map((c) => c.ready()));
  return clients;
}

// ---------------------------------------------------------------------------
// Database helpers

async function countRecords(admin: pg.Client): Promise<number> {
  const r = await admin.query<{ n: string }>('SELECT count(*) AS n FROM audit.records');
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Empty table, settled server: every phase starts from the same state. The
 * append-only triggers refuse TRUNCATE for every role; in this throw-away
 * database the superuser skips them for this statement only (triggers do not
 * fire under session_replication_role = replica).
 */
async function resetTable(admin: pg.Client): Promise<void> {
  await admin.query('BEGIN');
  await admin.query('SET LOCAL session_replication_role = replica');
  await admin.query('TRUNCATE audit.records, audit.emitters');
  await admin.query('COMMIT');
  await admin.query('CHECKPOINT');
}

function runPsql(dbUrl: string, command: string): Promise<void> {
  return new Promise<void>((res, rej) => {
    const child = spawn('psql', [dbUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('error', rej);
    child.once('close', (code) => (code === 0 ? res() : rej(new Error(`psql exited ${code}: ${err.trim()}`))));
  });
}

// ---------------------------------------------------------------------------
// Phases

/** What a phase through the sink measured. */
interface SinkMeasure {
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
async function measureSink(sink: SinkProc, admin: pg.Client, opts: Options, send: (clients: ExportClient[]) => Promise<void>): Promise<SinkMeasure> {
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

interface SinkRun extends SinkMeasure {
  records: number;
  wallMs: number;
  rate: number;
}

/** Every client sends the next payload as soon as its previous one was acknowledged. */
async function sinkThroughput(sink: SinkProc, admin: pg.Client, payloads: Payload[], opts: Options): Promise<SinkRun> {
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

interface LatencyRun extends SinkMeasure {
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

/** Sends payload i at t0 + i × interval, round-robin over the clients, whatever the answers. */
async function sinkLatency(sink: SinkProc, admin: pg.Client, payloads: Payload[], opts: Options): Promise<LatencyRun> {
  const intervalMs = (1000 * opts.rateBatch) / opts.rate;
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
async function exporterWarmup(sink: SinkProc, admin: pg.Client, batches: ReadableLogRecord[][]): Promise<{ records: number; stored: number; rate: number; clientUsPerRecord: number }> {
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

interface CopyRun {
  procs: number;
  records: number;
  wallMs: number;
  rate: number;
  cpu: CpuUse;
  stored: number;
}

/** Writes the stored rows as CSV files, one per psql process of each count in `procs`. */
async function exportCsv(dbUrl: string, dir: string, procs: number[], expected: number): Promise<Map<number, string[]>> {
  const all = join(dir, 'records.csv');
  await runPsql(dbUrl, `\\copy (SELECT ${COLUMN_LIST} FROM audit.records ORDER BY id) TO '${all}' WITH (FORMAT csv)`);
  const lines = readFileSync(all, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== expected) throw new Error(`CSV has ${lines.length} lines for ${expected} rows (a value with a line break?)`);
  const files = new Map<number, string[]>();
  for (const p of procs) {
    if (p === 1) {
      files.set(1, [all]);
      continue;
    }
    const names: string[] = [];
    const per = Math.ceil(lines.length / p);
    for (let k = 0; k < p; k++) {
      const name = join(dir, `records-${p}-${k}.csv`);
      writeFileSync(name, lines.slice(k * per, (k + 1) * per).map((l) => `${l}\n`).join(''));
      names.push(name);
    }
    files.set(p, names);
  }
  return files;
}

async function copyLoad(dbUrl: string, admin: pg.Client, files: string[], records: number): Promise<CopyRun> {
  const c0 = cpuSnapshot(undefined);
  await Promise.all(files.map((f) => runPsql(dbUrl, `\\copy audit.records (${COLUMN_LIST}) FROM '${f}' WITH (FORMAT csv)`)));
  const wallMs = performance.now() - c0.atMs;
  // The backends of psql exit after it; their CPU counts once the server has reaped them.
  await sleep(300);
  const c1 = cpuSnapshot(undefined);
  const stored = await countRecords(admin);
  const cpu = cpuUse(c0, c1);
  return { procs: files.length, records, wallMs, rate: (1000 * stored) / wallMs, cpu, stored };
}

/** The stored rows as text, in the insert's column order. */
async function fetchRows(admin: pg.Client, limit: number | undefined): Promise<(string | null)[][]> {
  const res = await admin.query<(string | null)[]>({
    text: `SELECT ${COLUMNS.map((c) => `${c}::text`).join(', ')} FROM audit.records ORDER BY id${limit !== undefined ? ` LIMIT ${limit}` : ''}`,
    rowMode: 'array',
  });
  return res.rows;
}

interface InsertRun {
  clients: number;
  records: number;
  wallMs: number;
  rate: number;
  cpu: CpuUse;
  stored: number;
}

const INSERT_ONE = `INSERT INTO audit.records (${COLUMN_LIST}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
ON CONFLICT (identity_key, occurred_at) DO NOTHING`;

/** One autocommitted INSERT per row, `clients` at a time. */
async function perRowInsert(dbUrl: string, admin: pg.Client, rows: (string | null)[][], clients: number): Promise<InsertRun> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: clients });
  // Connected before the clock starts.
  const held = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
  for (const c of held) c.release();
  const c0 = cpuSnapshot(undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const row = rows[next++];
        if (!row) return;
        await pool.query(INSERT_ONE, row);
      }
    }),
  );
  const c1 = cpuSnapshot(undefined);
  await pool.end();
  const stored = await countRecords(admin);
  const cpu = cpuUse(c0, c1);
  return { clients, records: rows.length, wallMs: cpu.wallMs, rate: (1000 * stored) / cpu.wallMs, cpu, stored };
}

// ---------------------------------------------------------------------------
// Writers experiment: batch strategies on the same rows, in this process

/** COPY … FROM STDIN over a pg client (what pg-copy-streams does, for one buffer). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyFromBuffer implements pg.Submittable {
  private error: Error | undefined;
  private readonly text: string;
  private readonly data: Buffer;
  private readonly done: Promise<void>;
  private settle!: (err?: Error) => void;

  constructor(text: string, data: Buffer) {
    this.text = text;
    this.data = data;
    this.done = new Promise<void>((res, rej) => {
      this.settle = (err) => (err ? rej(err) : res());
    });
  }

  submit(connection: pg.Connection): void {
    (connection as unknown as CopyConnection).query(this.text);
  }

  handleCopyInResponse(connection: CopyConnection): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }

  handleCommandComplete(): void {}

  handleError(err: Error): void {
    this.error = err;
  }

  handleReadyForQuery(): void {
    this.settle(this.error);
  }

  wait(): Promise<void> {
    return this.done;
  }
}

/** COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyText(rows: (string | null)[][]): Buffer {
  const out: string[] = [];
  for (const row of rows) {
    out.push(
      row
        .map((v) => (v === null ? '\\N' : /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v))
        .join('\t'),
    );
  }
  out.push('');
  return Buffer.from(out.join('\n'), 'utf8');
}

const UNNEST_SELECT = `SELECT * FROM unnest(${COLUMN_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
const ON_CONFLICT = 'ON CONFLICT (identity_key, occurred_at) DO NOTHING';
const STAGING = 'audit_staging';

interface WriterStrategy {
  id: string;
  label: string;
  /** Once per connection. */
  setup?: string;
  /** Several statements: BEGIN … COMMIT around them (one statement is atomic by itself). */
  transaction?: boolean;
  write(client: pg.PoolClient, rows: (string | null)[][]): Promise<void>;
}

function columnsOf(rows: (string | null)[][]): (string | null)[][] {
  return COLUMNS.map((_, c) => rows.map((r) => r[c] ?? null));
}

const WRITER_STRATEGIES: readonly WriterStrategy[] = [
  {
    id: 'unnest-cte',
    label: 'unnest + ON CONFLICT, inserted counted in a CTE (as the sink\'s writer)',
    async write(client, rows) {
      await client.query(`WITH r AS (INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT} RETURNING 1) SELECT count(*)::int AS inserted FROM r`, columnsOf(rows));
    },
  },
  {
    id: 'unnest-returning',
    label: 'unnest + ON CONFLICT + RETURNING 1, one row back per inserted row',
    async write(client, rows) {
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT} RETURNING 1`, columnsOf(rows));
    },
  },
  {
    id: 'unnest',
    label: 'unnest + ON CONFLICT, inserted from the command tag',
    async write(client, rows) {
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT}`, columnsOf(rows));
    },
  },
  {
    id: 'copy-staging',
    label: 'COPY into a temp staging table, INSERT … SELECT … ON CONFLICT',
    transaction: true,
    setup: `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (${COLUMNS.map((c, i) => `${c} ${COLUMN_TYPES[i] as string}`).join(', ')}) ON COMMIT DELETE ROWS`,
    async write(client, rows) {
      const copy = new CopyFromBuffer(`COPY ${STAGING} (${COLUMN_LIST}) FROM STDIN`, copyText(rows));
      client.query(copy);
      await copy.wait();
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${STAGING} ${ON_CONFLICT}`);
    },
  },
  {
    id: 'copy',
    label: 'COPY straight into audit.records (no idempotency: the bound)',
    async write(client, rows) {
      const copy = new CopyFromBuffer(`COPY audit.records (${COLUMN_LIST}) FROM STDIN`, copyText(rows));
      client.query(copy);
      await copy.wait();
    },
  },
];

interface WriterRun {
  strategy: WriterStrategy;
  records: number;
  wallMs: number;
  rate: number;
  cpu: CpuUse;
  stored: number;
}

/** Batches of `batch` rows, `concurrency` transactions at a time, like the sink's writer. */
async function writerRun(dbUrl: string, admin: pg.Client, s: WriterStrategy, rows: (string | null)[][], batch: number, concurrency: number): Promise<WriterRun> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: concurrency });
  const held = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
  for (const c of held) {
    if (s.setup) await c.query(s.setup);
    c.release();
  }
  const c0 = cpuSnapshot(undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const start = next;
        next += batch;
        if (start >= rows.length) return;
        const client = await pool.connect();
        try {
          if (s.transaction) await client.query('BEGIN');
          await s.write(client, rows.slice(start, start + batch));
          if (s.transaction) await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    }),
  );
  const c1 = cpuSnapshot(undefined);
  await pool.end();
  const stored = await countRecords(admin);
  const cpu = cpuUse(c0, c1);
  return { strategy: s, records: rows.length, wallMs: cpu.wallMs, rate: (1000 * stored) / cpu.wallMs, cpu, stored };
}

// ---------------------------------------------------------------------------
// Decode experiment: the sink's decoding path against a direct protobuf walk

/** The .proto files the sink loads (src/otlp/schema.ts), from dist/proto. */
const PROTO_FILES = [
  'opentelemetry/proto/common/v1/common.proto',
  'opentelemetry/proto/resource/v1/resource.proto',
  'opentelemetry/proto/logs/v1/logs.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
];

/** One log record as the sink's decoder hands it to the transform (DecodedLogRecord). */
interface DecodedRecord {
  resource: Record<string, unknown>;
  scope: { name: string; version: string; attributes: Record<string, unknown> };
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: unknown;
  attributes: Record<string, unknown>;
  droppedAttributesCount: number;
  traceId: string;
  spanId: string;
  eventName: string;
  flags: number;
}

interface PlainAny {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: PlainAny[] };
  kvlistValue?: { values: PlainKv[] };
  bytesValue?: Uint8Array;
}
interface PlainKv {
  key: string;
  value: PlainAny | null;
}
interface PlainRequest {
  resourceLogs: {
    resource: { attributes: PlainKv[] } | null;
    scopeLogs: {
      scope: { name: string; version: string; attributes: PlainKv[] } | null;
      logRecords: {
        timeUnixNano: string; observedTimeUnixNano: string; severityNumber: number; severityText: string; body: PlainAny | null;
        attributes: PlainKv[]; droppedAttributesCount: number; flags: number; traceId: Uint8Array; spanId: Uint8Array; eventName: string;
      }[];
    }[];
  }[];
}

function plainToJs(v: PlainAny | null | undefined): unknown {
  if (!v) return null;
  switch (v.value) {
    case 'stringValue': return v.stringValue ?? '';
    case 'boolValue': return v.boolValue ?? false;
    case 'intValue': return int64(v.intValue ?? '0');
    case 'doubleValue': return v.doubleValue ?? 0;
    case 'arrayValue': return (v.arrayValue?.values ?? []).map(plainToJs);
    case 'kvlistValue': return plainRecord(v.kvlistValue?.values ?? []);
    case 'bytesValue': return v.bytesValue ? Buffer.from(v.bytesValue).toString('base64') : '';
    default: return null;
  }
}

function int64(decimal: string): number | string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : decimal;
}

function plainRecord(kvs: readonly PlainKv[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) out[kv.key] = plainToJs(kv.value);
  return out;
}

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex') : '');

/** As the sink decodes: protobufjs decode, toObject with the sink's options, then one record per log record. */
function protobufjsDecoder(): (bytes: Buffer) => DecodedRecord[] {
  const root = new protobuf.Root();
  for (const f of PROTO_FILES) protobuf.parse(readFileSync(join(ROOT, 'dist', 'proto', f), 'utf8'), root, { keepCase: false });
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) if (!field.repeated && !field.map && !field.partOf) field.setOption('features.field_presence', 'EXPLICIT');
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  root.resolveAll();
  const type = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  const options = { longs: String, enums: Number, defaults: true, arrays: true, objects: true, oneofs: true };
  return (bytes) => {
    const req = type.toObject(type.decode(bytes), options) as unknown as PlainRequest;
    const out: DecodedRecord[] = [];
    for (const rl of req.resourceLogs) {
      for (const sl of rl.scopeLogs) {
        for (const lr of sl.logRecords) {
          out.push({
            resource: plainRecord(rl.resource?.attributes ?? []),
            scope: { name: sl.scope?.name ?? '', version: sl.scope?.version ?? '', attributes: plainRecord(sl.scope?.attributes ?? []) },
            timeUnixNano: lr.timeUnixNano,
            observedTimeUnixNano: lr.observedTimeUnixNano,
            severityNumber: lr.severityNumber,
            severityText: lr.severityText,
            body: plainToJs(lr.body),
            attributes: plainRecord(lr.attributes),
            droppedAttributesCount: lr.droppedAttributesCount,
            traceId: hex(lr.traceId),
            spanId: hex(lr.spanId),
            eventName: lr.eventName,
            flags: lr.flags,
          });
        }
      }
    }
    return out;
  };
}

/** The sink's own decoder (imports only types, so Node runs it from source). */
const walkDecode = (bytes: Buffer): DecodedRecord[] => decodeLogsWire(bytes);

interface DecodeRun {
  label: string;
  records: number;
  usPerRecord: number;
  runs: number[];
}

/** Both decoders over the same payloads, alternating, `rounds` times; checks that they agree. */
function decodeExperiment(payloads: Payload[], rounds: number): DecodeRun[] {
  const viaProtobufjs = protobufjsDecoder();
  const sample = payloads[0];
  if (sample) {
    const a = JSON.stringify(viaProtobufjs(sample.bytes));
    const b = JSON.stringify(walkDecode(sample.bytes));
    if (a !== b) throw new Error('decode experiment: the direct walk does not decode like the protobufjs path');
  }
  const decoders: [string, (b: Buffer) => DecodedRecord[]][] = [
    ['protobufjs decode + toObject + one object per record (the schema path)', viaProtobufjs],
    ['direct protobuf walk, resource and scope decoded once (as the sink)', walkDecode],
  ];
  const records = payloads.reduce((n, p) => n + p.records, 0);
  const times = decoders.map(() => [] as number[]);
  let sink = 0;
  for (let r = 0; r < rounds + 1; r++) {
    decoders.forEach(([, decode], i) => {
      const t = performance.now();
      for (const p of payloads) sink += decode(p.bytes).length;
      // The first round warms up the JIT.
      if (r > 0) (times[i] as number[]).push(((performance.now() - t) * 1000) / records);
    });
  }
  if (sink === 0) throw new Error('decode experiment: nothing decoded');
  return decoders.map(([label], i) => {
    const t = times[i] as number[];
    return { label, records, usPerRecord: medianBy(t, (x) => x), runs: t };
  });
}

// ---------------------------------------------------------------------------
// Profiles

const ownerOf = (url: string, functionName: string): string =>
  owner(url, functionName, (rel) => (rel.startsWith('dist/') ? `otel-audit ${rel}` : rel));

function printProfile(file: string, top: number, records: number): void {
  const { profile, byId, selfUs } = readProfile(file);
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (n: CpuProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'}  ${n.callFrame.url ? `${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`;
  const functions = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const owners = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    const { functionName, url } = node.callFrame;
    busyUs += us;
    const key = nameOf(node);
    functions.set(key, (functions.get(key) ?? 0) + us);
    const o = ownerOf(url, functionName);
    owners.set(o, (owners.get(o) ?? 0) + us);
    // Inclusive time: once per function on the stack (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n || n.callFrame.url === '' || n.callFrame.url.startsWith('node:')) continue;
      const k = nameOf(n);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  const cell = (us: number): string =>
    `${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${(us / Math.max(1, records)).toFixed(2).padStart(6)} µs/record`;
  console.log(`\nProfile of the sink (${file})`);
  console.log(`  busy ${(busyUs / 1e6).toFixed(1)} s for ${fmt(records)} records (all phases through the sink, start-up included)`);
  console.log('  self time by file or package:');
  for (const [name, us] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${cell(us)}  ${name}`);
  console.log('  self time by function:');
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${cell(us)}  ${name}`);
  console.log('  inclusive time (with what it calls) by function, packages and dist/ only:');
  for (const [name, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`    ${cell(us)}  ${name}`);
}

// ---------------------------------------------------------------------------
// Report

/** The run whose rate is the median (the lower middle one for an even count). */
function medianRun<T extends { rate: number }>(runs: T[]): T {
  return medianBy(runs, (r) => r.rate);
}

/** CPU per record, µs, of one party; '-' when unknown. */
function perRecord(ms: number | undefined, records: number): string {
  return ms === undefined ? '-' : fmt((1000 * ms) / Math.max(1, records), 1);
}

/** Share of the machine's cores, %. */
function share(ms: number | undefined, wallMs: number): string {
  return ms === undefined ? '-' : `${fmt((100 * ms) / (wallMs * os.availableParallelism()))} %`;
}

interface ConfigResult {
  label: string;
  args: string[];
  runs: SinkRun[];
  latency: LatencyRun | undefined;
  warmup: Awaited<ReturnType<typeof exporterWarmup>> | undefined;
}

interface Results {
  configs: ConfigResult[];
  copy: Map<number, CopyRun[]>;
  insert: InsertRun | undefined;
  writers: WriterRun[];
  decode: DecodeRun[];
  settings: Record<string, string>;
  serverVersion: string;
  clientsNote: string;
}

const TABLE_HEADER = ['Way', 'records', 'records/s', 'vs COPY', 'sink µs/rec', 'Postgres µs/rec', 'client µs/rec', 'CPU: sink / Postgres / client / other', 'records/s per round'];

function bestCopy(r: Results): CopyRun | undefined {
  let best: CopyRun | undefined;
  for (const runs of r.copy.values()) {
    const m = medianRun(runs);
    if (!best || m.rate > best.rate) best = m;
  }
  return best;
}

function tableRows(r: Results): string[][] {
  const copy = bestCopy(r);
  const rows: string[][] = [];
  const cpuCells = (records: number, cpu: CpuUse): string[] => [
    perRecord(cpu.sinkMs, records),
    perRecord(cpu.pgMs, records),
    perRecord(cpu.clientMs + cpu.toolsMs, records),
    [cpu.sinkMs, cpu.pgMs, cpu.clientMs + cpu.toolsMs, cpu.otherMs].map((ms) => share(ms, cpu.wallMs)).join(' / '),
  ];
  for (const c of r.configs) {
    if (c.runs.length === 0) continue;
    const m = medianRun(c.runs);
    rows.push([
      `otel-audit sink${c.args.length ? ` (${c.args.join(' ')})` : ''}, ${r.clientsNote}`,
      fmt(m.records),
      fmt(m.rate),
      copy ? (m.rate / copy.rate).toFixed(2) : '-',
      ...cpuCells(m.records, m.cpu),
      c.runs.map((x) => fmt(x.rate)).join(' / '),
    ]);
  }
  for (const [procs, runs] of [...r.copy].sort((a, b) => a[0] - b[0])) {
    const m = medianRun(runs);
    rows.push([
      `COPY FROM csv, ${procs} psql process${procs > 1 ? 'es' : ''}`,
      fmt(m.records),
      fmt(m.rate),
      copy ? (m.rate / copy.rate).toFixed(2) : '-',
      '-',
      ...cpuCells(m.records, m.cpu).slice(1),
      runs.map((x) => fmt(x.rate)).join(' / '),
    ]);
  }
  if (r.insert) {
    const i = r.insert;
    rows.push([`per-row INSERT, autocommit, ${i.clients} connections`, fmt(i.records), fmt(i.rate), copy ? (i.rate / copy.rate).toFixed(3) : '-', '-', ...cpuCells(i.records, i.cpu).slice(1), fmt(i.rate)]);
  }
  return rows;
}

interface Goal {
  text: string;
  met: boolean;
}

function goals(r: Results): Goal[] {
  const out: Goal[] = [];
  const main = r.configs[0];
  if (!main) return out;
  const sink = main.runs.length ? medianRun(main.runs) : undefined;
  const copy = bestCopy(r);
  if (sink) {
    out.push({
      met: sink.rate >= GOAL_RECORDS_PER_S,
      text: `records/s ≥ ${fmt(GOAL_RECORDS_PER_S)}: ${fmt(sink.rate)}` +
        (sink.rate >= GOAL_RECORDS_PER_S ? '' : ` (missed by ${fmt(GOAL_RECORDS_PER_S - sink.rate)}, ${fmt((100 * (GOAL_RECORDS_PER_S - sink.rate)) / GOAL_RECORDS_PER_S)} %)`),
    });
    if (copy) {
      const ratio = sink.rate / copy.rate;
      out.push({ met: ratio >= GOAL_VS_COPY, text: `sink ÷ COPY ≥ ${GOAL_VS_COPY}: ${ratio.toFixed(2)}${ratio >= GOAL_VS_COPY ? '' : ` (missed by ${(GOAL_VS_COPY - ratio).toFixed(2)})`}` });
    }
    if (r.insert) {
      const ratio = sink.rate / r.insert.rate;
      out.push({ met: ratio >= GOAL_VS_INSERT, text: `sink ÷ per-row INSERT ≥ ${GOAL_VS_INSERT}: ${ratio.toFixed(1)}${ratio >= GOAL_VS_INSERT ? '' : ` (missed by ${(GOAL_VS_INSERT - ratio).toFixed(1)})`}` });
    }
  }
  if (main.latency) {
    const l = main.latency;
    out.push({ met: l.p99 <= GOAL_P99_MS, text: `p99 ≤ ${fmt(GOAL_P99_MS)} ms at ${fmt(l.achievedRate)} records/s: ${fmt(l.p99, 1)} ms` });
  }
  return out;
}

function latencyLines(r: Results): string[] {
  return r.configs
    .filter((c) => c.latency)
    .map((c) => {
      const l = c.latency as LatencyRun;
      return `${c.label}: ${fmt(l.exports)} exports of ${fmt(l.records / l.exports)} records over ${l.seconds.toFixed(1)} s ` +
        `(${fmt(l.achievedRate)} records/s): p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms, max ${fmt(l.max, 1)} ms; ` +
        `${fmt(l.batches.batches)} batches of ${fmt(l.batches.rowsPerBatch)} rows, ${fmt(l.batches.msPerBatch, 1)} ms each; ` +
        `CPU sink ${share(l.cpu.sinkMs, l.cpu.wallMs)}, Postgres ${share(l.cpu.pgMs, l.cpu.wallMs)}, client ${share(l.cpu.clientMs, l.cpu.wallMs)} of the machine` +
        (l.maxLateMs > 20 ? `; the client's timer fell up to ${fmt(l.maxLateMs)} ms behind` : '') +
        (l.retries > 0 ? `; ${l.retries} retried exports` : '');
    });
}

function batchLines(r: Results): string[] {
  return r.configs
    .filter((c) => c.runs.length)
    .map((c) => {
      const m = medianRun(c.runs);
      const b = m.batches;
      return `${c.label}: ${fmt(b.batches)} batches of ${fmt(b.rowsPerBatch)} rows, ${fmt(b.msPerBatch, 1)} ms each ` +
        `(${fmt(b.rowsPerDbSecond)} rows per second of batch time; ${fmt(100 * b.under100ms)} % of batches ≤ 100 ms)` +
        (m.retries > 0 ? `; ${m.retries} retried exports` : '') +
        (b.duplicates > 0 || b.rejected > 0 ? `; ${b.duplicates} duplicates, ${b.rejected} rejected` : '');
    });
}

/** Per strategy, the run with the median rate, and all rates. */
function writerMedians(r: Results): { run: WriterRun; rates: number[] }[] {
  return WRITER_STRATEGIES.map((s) => r.writers.filter((w) => w.strategy === s))
    .filter((runs) => runs.length > 0)
    .map((runs) => ({ run: medianRun(runs), rates: runs.map((w) => w.rate) }));
}

function writerRows(r: Results): string[][] {
  const medians = writerMedians(r);
  const first = medians[0]?.run;
  return medians.map(({ run: w, rates }) => [
    w.strategy.label,
    fmt(w.records),
    fmt(w.rate),
    first ? (w.rate / first.rate).toFixed(2) : '-',
    perRecord(w.cpu.clientMs, w.records),
    perRecord(w.cpu.pgMs, w.records),
    rates.map((x) => fmt(x)).join(' / '),
  ]);
}
const WRITER_HEADER = ['Batch writer (in-process, same rows)', 'rows', 'rows/s', 'vs first', 'writer µs/row', 'Postgres µs/row', 'rows/s per round'];

/** Runs during which other processes used more than 5 % of the machine. */
function noiseLines(r: Results): string[] {
  const out: string[] = [];
  const add = (what: string, cpu: CpuUse): void => {
    if (cpu.otherMs === undefined) return;
    const s = cpu.otherMs / (cpu.wallMs * os.availableParallelism());
    if (s > 0.05) out.push(`${what}: other processes used ${fmt(100 * s)} % of the machine; the numbers are noisy`);
  };
  for (const c of r.configs) {
    c.runs.forEach((x, i) => add(`${c.label} round ${i + 1}`, x.cpu));
    if (c.latency) add(`${c.label} latency`, c.latency.cpu);
  }
  for (const [procs, runs] of r.copy) runs.forEach((x, i) => add(`COPY ${procs} psql round ${i + 1}`, x.cpu));
  if (r.insert) add('per-row INSERT', r.insert.cpu);
  for (const w of r.writers) add(`writer ${w.strategy.id}`, w.cpu);
  return out;
}

function setupLine(opts: Options, r: Results): string {
  const parts: string[] = [];
  if (opts.phases.has('sink')) {
    parts.push(`sink: ${opts.exports} exports × ${opts.recordsPerExport} records (pre-serialized), ${r.clientsNote}, ${opts.rounds} round(s), medians`);
  }
  if (r.insert) parts.push(`per-row INSERT: ${fmt(r.insert.records)} rows`);
  if (opts.phases.has('latency')) parts.push(`latency: ${fmt(opts.rate)} records/s as ${opts.rateBatch} records per export for ${opts.latencyDuration} s`);
  const dropped = opts.withoutIndex.length ? ` **Without the index(es) ${opts.withoutIndex.join(', ')}.**` : '';
  return `${parts.join('; ')}. Postgres: ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.${dropped}`;
}

/** sink ÷ COPY and sink ÷ per-row INSERT, when there is something to compare. */
function ratiosText(r: Results): string | undefined {
  const main = r.configs[0];
  const copy = bestCopy(r);
  if (!main?.runs.length || !(copy || r.insert)) return undefined;
  const sink = medianRun(main.runs).rate;
  const parts = [];
  if (copy) parts.push(`sink ÷ COPY ${(sink / copy.rate).toFixed(2)}`);
  if (r.insert) parts.push(`sink ÷ per-row INSERT ${(sink / r.insert.rate).toFixed(1)}`);
  return parts.join(', ');
}

function printReport(opts: Options, r: Results): void {
  console.log(`\n${setupLine(opts, r)}`);
  console.log(`Machine: ${machine()}, PostgreSQL ${r.serverVersion}`);
  const rows = tableRows(r);
  if (rows.length) for (const l of ['', ...textTable(TABLE_HEADER, rows)]) console.log(l);
  const ratios = ratiosText(r);
  if (ratios !== undefined) console.log(`\n${ratios}`);
  const b = batchLines(r);
  if (b.length) {
    console.log('\nSink batches (from /metrics), throughput runs:');
    for (const l of b) console.log(`  ${l}`);
  }
  const lat = latencyLines(r);
  if (lat.length) {
    console.log('\nLatency at a steady rate (call to OK, i.e. committed):');
    for (const l of lat) console.log(`  ${l}`);
  }
  if (r.writers.length) {
    console.log(`\nBatch writers, ${opts.writerBatch} rows per transaction, ${opts.writerConcurrency} at a time, medians:`);
    for (const l of textTable(WRITER_HEADER, writerRows(r))) console.log(`  ${l}`);
  }
  if (r.decode.length) {
    console.log(`\nDecoding the same requests in one thread (${fmt(r.decode[0]?.records ?? 0)} records, median of ${r.decode[0]?.runs.length ?? 0} runs):`);
    for (const d of r.decode) console.log(`  ${fmt(d.usPerRecord, 1).padStart(6)} µs/record  ${d.label}`);
  }
  const g = goals(r);
  if (g.length) {
    console.log('\nGoals:');
    for (const x of g) console.log(`  ${x.met ? 'met   ' : 'MISSED'} ${x.text}`);
  }
  for (const l of noiseLines(r)) console.log(`warning: ${l}`);
}

function markdown(opts: Options, r: Results): string {
  const out: string[] = [];
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, PostgreSQL ${r.serverVersion}.`);
  out.push(setupLine(opts, r));
  const rows = tableRows(r);
  if (rows.length) out.push('', ...mdTable(TABLE_HEADER, rows));
  const ratios = ratiosText(r);
  if (ratios !== undefined) out.push('', `**${ratios}.**`);
  const b = batchLines(r);
  if (b.length) out.push('', 'Sink batches (from `/metrics`), throughput runs:', '', ...b.map((l) => `- ${l}`));
  const lat = latencyLines(r);
  if (lat.length) out.push('', 'Latency at a steady rate (call to OK, i.e. committed):', '', ...lat.map((l) => `- ${l}`));
  if (r.writers.length) {
    out.push('', `Batch writers on the same rows, in the benchmark's process, ${opts.writerBatch} rows per transaction, ${opts.writerConcurrency} at a time, medians:`, '');
    out.push(...mdTable(WRITER_HEADER, writerRows(r)));
  }
  if (r.decode.length) {
    out.push('', `Decoding the same requests in one thread (${fmt(r.decode[0]?.records ?? 0)} records, median of ${r.decode[0]?.runs.length ?? 0} runs):`, '');
    for (const d of r.decode) out.push(`- ${d.label}: ${fmt(d.usPerRecord, 1)} µs/record`);
  }
  // A sweep compares settings; the goals are judged on the full run.
  const g = opts.sinkConfigs.length > 1 ? [] : goals(r);
  if (g.length) out.push('', 'Goals:', '', ...g.map((x) => `- ${x.met ? 'met' : '**missed**'}: ${x.text}`));
  const noise = noiseLines(r);
  if (noise.length) out.push('', 'Noise:', '', ...noise.map((l) => `- ${l}`));
  const w = r.configs[0]?.warmup;
  if (w) {
    out.push('', `Warm-up with the official OTLPLogExporter (serializing in the client): ${fmt(w.stored)} of ${fmt(w.records)} records stored, ` +
      `${fmt(w.rate)} records/s, client ${fmt(w.clientUsPerRecord, 1)} µs/record.`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------

function sinkRunLine(label: string, round: number, rounds: number, s: SinkRun): string {
  return `round ${round}/${rounds}  ${label}: ${fmt(s.stored)}/${fmt(s.records)} stored in ${fmt(s.wallMs)} ms, ${fmt(s.rate)} records/s; ` +
    `batches ${fmt(s.batches.batches)} × ${fmt(s.batches.rowsPerBatch)} rows, ${fmt(s.batches.msPerBatch, 1)} ms; ` +
    `CPU µs/record sink ${perRecord(s.cpu.sinkMs, s.records)}, Postgres ${perRecord(s.cpu.pgMs, s.records)}, client ${perRecord(s.cpu.clientMs, s.records)}, ` +
    `other processes ${share(s.cpu.otherMs, s.cpu.wallMs)} of the machine` + (s.retries ? `, ${s.retries} retries` : '');
}

function check(stored: number, expected: number, what: string): void {
  if (stored !== expected) throw new Error(`${what}: ${fmt(stored)} rows in audit.records, expected ${fmt(expected)}`);
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(CLI);
  const dbUrl = `${opts.pgUrl}/${opts.database}`;
  const adminUrl = `${opts.pgUrl}/postgres`;
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-sink-ingest-'));
  const { serverVersion, settings } = await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${opts.database} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${opts.database}`);
    const v = await c.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version']);
    const s: Record<string, string> = {};
    for (const name of ['shared_buffers', 'synchronous_commit', 'wal_level', 'max_wal_size', 'fsync']) {
      const res = await c.query<Record<string, string>>(`SHOW ${name}`);
      s[name] = Object.values(res.rows[0] ?? {})[0] ?? '?';
    }
    return { serverVersion: (v.rows[0]?.v ?? '?').split(' ')[0] ?? '?', settings: s };
  });
  const admin = new pg.Client({ connectionString: dbUrl });
  const results: Results = {
    configs: [],
    copy: new Map(),
    insert: undefined,
    writers: [],
    decode: [],
    settings,
    serverVersion,
    clientsNote: `${opts.clients} in-process gRPC clients`,
  };
  let sink: SinkProc | undefined;
  let failed = false;
  try {
    const t = performance.now();
    const emitters = makeEmitters('bench', opts.clients);
    const sinkPayloads = serialize(makeBatches(emitters, opts.exports, opts.recordsPerExport));
    const sinkRecords = opts.exports * opts.recordsPerExport;
    const latencyExports = Math.max(1, Math.round((opts.latencyDuration * opts.rate) / opts.rateBatch));
    const latencyPayloads = opts.phases.has('latency') ? serialize(makeBatches(makeEmitters('steady', opts.clients), latencyExports, opts.rateBatch)) : [];
    const mb = (sinkPayloads.reduce((n, p) => n + p.bytes.length, 0) / 1024 / 1024).toFixed(1);
    console.log(`sink-ingest: ${fmt(sinkRecords)} records in ${opts.exports} requests (${mb} MiB, ` +
      `${fmt((sinkPayloads[0]?.bytes.length ?? 0) / opts.recordsPerExport)} bytes per record), ` +
      `${fmt(latencyPayloads.length)} requests for the latency phase, serialized in ${fmt(performance.now() - t)} ms`);

    if (opts.phases.has('decode')) {
      // Before the sink starts: nothing else runs.
      results.decode = decodeExperiment(sinkPayloads, opts.rounds);
      for (const d of results.decode) console.log(`decode: ${d.label}: ${fmt(d.usPerRecord, 1)} µs/record`);
    }

    const needSink = opts.phases.has('sink') || opts.phases.has('latency');
    let csvFiles: Map<number, string[]> | undefined;
    let insertRows: (string | null)[][] = [];
    let writerRowsData: (string | null)[][] = [];
    for (const [ci, args] of (needSink ? opts.sinkConfigs : []).entries()) {
      const label = args.length ? `sink ${args.join(' ')}` : 'sink (defaults)';
      const profile = opts.cpuProfDir ? join(opts.cpuProfDir, `sink-${ci + 1}.cpuprofile`) : undefined;
      sink = await startSink(opts, dbUrl, args, profile);
      if (ci === 0) {
        await admin.connect();
        // Indexes left out on purpose (what an index costs), once the sink has migrated.
        for (const name of opts.withoutIndex) await admin.query(`DROP INDEX audit.${name}`);
      }
      const config: ConfigResult = { label, args, runs: [], latency: undefined, warmup: undefined };
      results.configs.push(config);
      if (opts.warmup > 0) {
        const warm = makeBatches(makeEmitters(`warm${ci}`, opts.clients), Math.ceil(opts.warmup / opts.recordsPerExport), opts.recordsPerExport);
        const w = await exporterWarmup(sink, admin, warm);
        config.warmup = w;
        console.log(`${label}: warm-up with OTLPLogExporter: ${fmt(w.stored)}/${fmt(w.records)} stored, ${fmt(w.rate)} records/s, ` +
          `client ${fmt(w.clientUsPerRecord, 1)} µs/record`);
        check(w.stored, w.records, 'warm-up');
      }
      await resetTable(admin);
      if (opts.phases.has('sink')) {
        for (let round = 1; round <= opts.rounds; round++) {
          const s = await sinkThroughput(sink, admin, sinkPayloads, opts);
          config.runs.push(s);
          console.log(sinkRunLine(label, round, opts.rounds, s));
          check(s.stored, sinkRecords, 'sink');
          if (ci === 0 && round === 1) {
            if (opts.phases.has('copy')) csvFiles = await exportCsv(dbUrl, tmp, opts.copyProcs, sinkRecords);
            if (opts.phases.has('insert')) insertRows = await fetchRows(admin, opts.insertRows);
            if (opts.phases.has('writers')) writerRowsData = await fetchRows(admin, opts.writerRows);
          }
          await resetTable(admin);
          // COPY runs interleave with the sink's rounds: both see the machine at the same times.
          if (ci === 0 && csvFiles) {
            for (const procs of opts.copyProcs) {
              const files = csvFiles.get(procs) as string[];
              const c = await copyLoad(dbUrl, admin, files, sinkRecords);
              check(c.stored, sinkRecords, `COPY (${procs} psql)`);
              results.copy.set(procs, [...(results.copy.get(procs) ?? []), c]);
              console.log(`round ${round}/${opts.rounds}  COPY, ${procs} psql: ${fmt(c.stored)} rows in ${fmt(c.wallMs)} ms, ${fmt(c.rate)} records/s; ` +
                `CPU µs/record Postgres ${perRecord(c.cpu.pgMs, c.records)}, psql ${perRecord(c.cpu.toolsMs, c.records)}, ` +
                `other processes ${share(c.cpu.otherMs, c.cpu.wallMs)} of the machine`);
              await resetTable(admin);
            }
          }
        }
      }
      if (opts.phases.has('latency')) {
        const l = await sinkLatency(sink, admin, latencyPayloads, opts);
        config.latency = l;
        console.log(`${label}: latency at ${fmt(opts.rate)} records/s: p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms, max ${fmt(l.max, 1)} ms ` +
          `(${fmt(l.stored)}/${fmt(l.records)} stored, ${fmt(l.achievedRate)} records/s sent)`);
        check(l.stored, l.records, 'latency');
        await resetTable(admin);
      }
      await sink.stop();
      if (opts.verbose) process.stderr.write(`--- sink output (${label}) ---\n${sink.output()}\n---\n`);
      if (profile && existsSync(profile)) {
        const through = config.runs.reduce((n, s) => n + s.records, 0) + (config.latency?.records ?? 0) + (config.warmup?.records ?? 0);
        printProfile(profile, opts.top, through);
      }
      sink = undefined;
    }

    if (opts.phases.has('insert') && insertRows.length) {
      const i = await perRowInsert(dbUrl, admin, insertRows, opts.insertClients);
      check(i.stored, insertRows.length, 'per-row INSERT');
      results.insert = i;
      console.log(`per-row INSERT, ${i.clients} connections: ${fmt(i.stored)} rows in ${fmt(i.wallMs)} ms, ${fmt(i.rate)} records/s; ` +
        `CPU µs/record Postgres ${perRecord(i.cpu.pgMs, i.records)}, client ${perRecord(i.cpu.clientMs, i.records)}`);
      await resetTable(admin);
    }

    if (opts.phases.has('writers') && writerRowsData.length) {
      for (let round = 1; round <= opts.rounds; round++) {
        // A rotating order: no strategy always runs first.
        const shift = (round - 1) % WRITER_STRATEGIES.length;
        for (const s of [...WRITER_STRATEGIES.slice(shift), ...WRITER_STRATEGIES.slice(0, shift)]) {
          const w = await writerRun(dbUrl, admin, s, writerRowsData, opts.writerBatch, opts.writerConcurrency);
          check(w.stored, writerRowsData.length, s.id);
          results.writers.push(w);
          console.log(`round ${round}/${opts.rounds}  writer ${s.id}: ${fmt(w.stored)} rows in ${fmt(w.wallMs)} ms, ${fmt(w.rate)} rows/s; ` +
            `CPU µs/row writer ${perRecord(w.cpu.clientMs, w.records)}, Postgres ${perRecord(w.cpu.pgMs, w.records)}`);
          await resetTable(admin);
        }
      }
    }

    printReport(opts, results);
    if (opts.write) writeReadme(markdown(opts, results), opts.sinkConfigs.length > 1 ? 'sink-ingest:sweep' : 'sink-ingest:results');
  } catch (err) {
    failed = true;
    console.error(err);
    if (sink && opts.verbose) process.stderr.write(`--- sink output ---\n${sink.output()}\n---\n`);
  } finally {
    if (sink) await sink.stop();
    await admin.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    if (!opts.keepDatabase) {
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${opts.database} WITH (FORCE)`)).catch((err: unknown) => {
        console.error(`could not drop ${opts.database}: ${(err as Error).message}`);
      });
    }
  }
  return failed ? 1 : 0;
}

runMain(main);
