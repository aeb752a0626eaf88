/**
 * SDK during a collector outage: the express app under otel-audit at a fixed
 * rate while the OTLP receiver is down for a while, then back.
 *
 *   node bench/sdk-outage.ts [--rate 1000] [--outage 60] [--smoke]
 *
 * Measures the app's RSS growth over the outage (records beyond the memory
 * queue go to the disk spool) and proves that every record arrives once the
 * receiver is back: the receiver here decodes every audit record and keeps
 * the set of emitter sequence numbers, so a missing record is named.
 */
import * as grpc from '@grpc/grpc-js';
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import { commandLine, positive, UsageError } from './lib/args.ts';
import { awaitLine, BENCH_DIR, checkBuild, childEnv, collectOutput, ROOT, runMain, stopChild, track } from './lib/proc.ts';
import { fmt, machine, textTable } from './lib/report.ts';
import { cpuMs } from './lib/cpu.ts';
import { EXPRESS_APP_REQUESTS } from './lib/app.ts';

const APP = join(BENCH_DIR, 'apps', 'express-app.mjs');
const LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** The .proto files the package ships; they import one another by paths relative to this directory. */
const PROTO_DIR = join(ROOT, 'dist', 'proto');
const LOGS_SERVICE_PROTO = 'opentelemetry/proto/collector/logs/v1/logs_service.proto';
const EXPORT_LOGS_REQUEST = 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest';
/** The event name of audit records, and the attribute numbering them per emitter. */
const AUDIT_EVENT = 'audit';
const SEQ_ATTRIBUTE = 'audit.emitter.seq';
/** Most RSS the outage may add, MiB. */
const GOAL_RSS_MIB = 64;
/** How often RSS is sampled, ms. */
const RSS_SAMPLE_MS = 250;
/** Longest wait for the spool to drain once the receiver is back, ms. */
const DRAIN_TIMEOUT_MS = 120_000;
/** Sizes of a smoke run: seconds, proves the benchmark runs. */
const SMOKE = { rate: 200, outage: 3, before: 2, after: 2 };

const USAGE = `Usage: node bench/sdk-outage.ts [options]

bench/apps/express-app.mjs under --import otel-audit/register, loaded at a
fixed rate (3 GET : 1 POST). The OTLP receiver (in this process) is up for
--before seconds, down for --outage seconds, then up again for --after
seconds of load; then the benchmark waits for the spool to drain and stops
the app with SIGTERM. A baseline run first keeps the receiver up throughout
(an app under load grows its RSS anyway, as V8 sizes its heap). Reports the
RSS growth the outage adds over the baseline and whether every audit record
(by emitter sequence number) arrived.
Uses dist/ (run \`npm run build\` first).

Options:
  --rate N       requests per second (default 1000)
  --outage S     seconds the receiver is down (default 60)
  --before S     seconds of load before the outage (default 5)
  --after S      seconds of load after it (default 10)
  --smoke        ${SMOKE.rate} req/s, ${SMOKE.before} s + ${SMOKE.outage} s down + ${SMOKE.after} s: proves the benchmark runs
  --verbose      print the app's output
  --help         print this text
`;

interface Options {
  rate: number;
  outage: number;
  before: number;
  after: number;
  verbose: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rate: { type: 'string' },
      outage: { type: 'string' },
      before: { type: 'string' },
      after: { type: 'string' },
      smoke: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  if (values.smoke && (values.rate ?? values.outage ?? values.before ?? values.after) !== undefined) {
    throw new UsageError('--smoke sets the sizes itself');
  }
  if (values.smoke) return { ...SMOKE, verbose: values.verbose === true };
  return {
    rate: positive('rate', values.rate, 1000),
    outage: positive('outage', values.outage, 60, false),
    before: positive('before', values.before, 5, false),
    after: positive('after', values.after, 10, false),
    verbose: values.verbose === true,
  };
}

/** The parts of a decoded ExportLogsServiceRequest the receiver reads (protobufjs `toObject`, int64 as numbers). */
interface LogsRequest {
  resourceLogs?: {
    scopeLogs?: {
      logRecords?: { eventName?: string; attributes?: { key?: string; value?: { intValue?: number } }[] }[];
    }[];
  }[];
}

/** ExportLogsServiceRequest, from the package's shipped dist/proto. */
function loadLogsRequestType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(LOGS_SERVICE_PROTO);
  return root.lookupType(EXPORT_LOGS_REQUEST);
}

/** An OTLP/gRPC logs receiver that can be taken down and brought back on the same port. */
class Receiver {
  readonly seqs = new Set<number>();
  records = 0;
  private server: grpc.Server | undefined;
  private readonly requestType = loadLogsRequestType();
  port = 0;

  /** Counts the audit records of one request and notes their sequence numbers. */
  private count(bytes: Buffer): void {
    const request = this.requestType.toObject(this.requestType.decode(bytes), { longs: Number }) as LogsRequest;
    for (const resource of request.resourceLogs ?? []) {
      for (const scope of resource.scopeLogs ?? []) {
        for (const record of scope.logRecords ?? []) {
          if (record.eventName !== AUDIT_EVENT) continue;
          this.records++;
          this.seqs.add(Number(record.attributes?.find((a) => a.key === SEQ_ATTRIBUTE)?.value?.intValue));
        }
      }
    }
  }

  async up(): Promise<void> {
    const identity = (b: Buffer): Buffer => b;
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
    server.addService(
      { Export: { path: LOGS_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          try {
            this.count(call.request);
            callback(null, Buffer.alloc(0));
          } catch (err) {
            callback({ code: grpc.status.INVALID_ARGUMENT, details: String(err) }, null);
          }
        },
      },
    );
    this.port = await new Promise<number>((resolvePort, reject) =>
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolvePort(port))),
    );
    this.server = server;
  }

  down(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }
}

function rssMiB(pid: number | undefined): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}


interface RunResult {
  rssBefore: number;
  rssMax: number;
  /** App CPU over the outage window (the same window in the baseline), % of a core. */
  cpuShare: number | undefined;
  requests: number;
  non2xx: number;
  errors: number;
  distinct: number;
  received: number;
  missing: number;
  drainMs: number;
  delivery: string;
}

/**
 * One run of the app under load. With `outage`, the receiver is down for
 * `opts.outage` seconds; without, it stays up (the baseline: the RSS an app
 * under load grows by anyway, as V8 sizes its heap).
 */
async function runOnce(opts: Options, outage: boolean): Promise<RunResult> {
  const receiver = new Receiver();
  await receiver.up();
  const spoolDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-outage-'));
  const env = childEnv();
  Object.assign(env, {
    NODE_ENV: 'production',
    PORT: '0',
    OTEL_SERVICE_NAME: 'bench-outage',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
    // Audit records only: the receiver takes logs, and the APM is not what is measured.
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_AUDIT_SPOOL_DIR: spoolDir,
    // Its lifecycle lines (the delivery summary at exit) are part of the report.
    OTEL_LOG_LEVEL: 'info',
    // Retries no slower than every 2 s, so that the drain starts soon after the receiver is back.
    OTEL_AUDIT_RETRY_MAX_MS: '2000',
  });
  const app = spawn(process.execPath, ['--import', 'otel-audit/register', APP], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(app);
  const output = collectOutput(app);
  const label = outage ? 'outage' : 'baseline';
  try {
    const port = Number(await awaitLine(app, { name: 'app', output, timeoutMs: 30_000, match: (l) => /^LISTENING (\d+)$/.exec(l)?.[1] }));
    const total = opts.before + opts.outage + opts.after;
    console.log(`${label}: ${fmt(opts.rate)} req/s for ${total} s; receiver ${outage ? `down from ${opts.before} s to ${opts.before + opts.outage} s` : 'up throughout'}`);
    const load = autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, duration: total, overallRate: opts.rate, requests: EXPRESS_APP_REQUESTS });

    await sleep(opts.before * 1000);
    const rssBefore = rssMiB(app.pid) ?? 0;
    const [cpu0, t0] = [cpuMs(app.pid), Date.now()];
    if (outage) receiver.down();
    let rssMax = rssBefore;
    const outageEnd = Date.now() + opts.outage * 1000;
    while (Date.now() < outageEnd) {
      await sleep(RSS_SAMPLE_MS);
      rssMax = Math.max(rssMax, rssMiB(app.pid) ?? 0);
    }
    const [cpu1, t1] = [cpuMs(app.pid), Date.now()];
    if (outage) await receiver.up();
    const result = await load;
    const requests = result.requests.total;
    const drainStart = Date.now();
    // Every request makes one record, numbered 1, 2, 3, ... by the emitter.
    while (receiver.seqs.size < requests && Date.now() - drainStart < DRAIN_TIMEOUT_MS) await sleep(100);
    const drainMs = Date.now() - drainStart;
    await stopChild(app, 15_000);
    if (opts.verbose) process.stdout.write(output());
    const maxSeq = Math.max(0, ...receiver.seqs);
    return {
      rssBefore,
      rssMax,
      cpuShare: cpu0 !== undefined && cpu1 !== undefined ? (100 * (cpu1 - cpu0)) / (t1 - t0) : undefined,
      requests,
      non2xx: result.non2xx,
      errors: result.errors,
      distinct: receiver.seqs.size,
      received: receiver.records,
      missing: maxSeq - receiver.seqs.size,
      drainMs,
      delivery: /otel-audit: delivery closed: (.*)/.exec(output())?.[1] ?? '(no delivery summary printed)',
    };
  } finally {
    await stopChild(app, 5_000);
    receiver.down();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(join(ROOT, 'dist', 'register.js'));
  const baseline = await runOnce(opts, false);
  const outage = await runOnce(opts, true);
  console.log(`\nMachine: ${machine()}\n`);
  const lines = ([['receiver up (baseline)', baseline], ['receiver down', outage]] as const).map(([name, r]) => [
    name,
    fmt(r.requests),
    `${fmt(r.distinct)} (${fmt(r.received)})`,
    fmt(r.missing),
    fmt(Math.max(0, r.requests - r.distinct)),
    fmt(r.rssBefore, 1),
    fmt(r.rssMax - r.rssBefore, 1),
    r.cpuShare === undefined ? '-' : fmt(r.cpuShare),
    fmt(r.drainMs / 1000, 1),
    r.delivery,
  ]);
  const header = ['run', 'requests', 'records (with redeliveries)', 'gaps', 'short of requests', 'RSS before MiB', 'RSS growth MiB', 'app CPU % (window)', 'drain s', 'SDK at exit'];
  for (const l of textTable(header, lines)) console.log(l);
  const extra = outage.rssMax - outage.rssBefore - (baseline.rssMax - baseline.rssBefore);
  console.log(`\nRSS growth the outage added over the baseline: ${fmt(extra, 1)} MiB (goal ≤ ${GOAL_RSS_MIB} MiB) ${extra <= GOAL_RSS_MIB ? 'ok' : 'missed'}`);
  const lost = [baseline, outage].some((r) => r.missing > 0 || r.distinct < r.requests);
  console.log(lost ? 'Records were lost.' : 'Every record arrived.');
  if (outage.non2xx + outage.errors + baseline.non2xx + baseline.errors > 0) console.log('warning: some requests failed (see non-2xx / errors above)');
  return lost ? 1 : 0;
}

runMain(main);
