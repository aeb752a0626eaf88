/**
 * SDK overhead: the same express app under load with no telemetry, with
 * plain OpenTelemetry, and with otel-audit. See bench/README.md.
 *
 *   node bench/sdk-overhead.ts [--duration 10] [--connections 50] [--rounds 3] ...
 *
 * Every run starts a fresh OTLP sink (bench/otlp-sink.ts) and a fresh app
 * child, warms up, then measures with autocannon. Rounds interleave the
 * scenarios (in a rotating order) and the report gives the median per
 * scenario.
 */
import autocannon from 'autocannon';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commandLine, commonOptions, positive, UsageError, type CommonOptions } from './lib/args.ts';
import {
  awaitLine, BENCH_DIR, checkBuild, childEnv, collectOutput, cpuMs, cpuProfArgs, machineBusyMs, ROOT, runMain, selfCpuMs, stopChild, track,
} from './lib/proc.ts';
import { owner, readProfile, shortUrl } from './lib/profile.ts';
import { fmt, machine, mdTable, median, textTable, writeReadme } from './lib/report.ts';
import type { SinkStats } from './otlp-sink.js';

const APP = join(BENCH_DIR, 'apps', 'express-app.mjs');
const SINK = join(BENCH_DIR, 'otlp-sink.ts');
/** Required ratio otel-audit ÷ plain OpenTelemetry of requests per second. */
const GOAL = 0.95;
/** Share of completed requests that must arrive as audit records. */
const AUDIT_MIN_SHARE = 0.99;

const USAGE = `Usage: node bench/sdk-overhead.ts [options]

Load-tests bench/apps/express-app.mjs under three scenarios and compares them:
  none    no telemetry
  plain   plain OpenTelemetry (bench/plain-otel.mjs: HTTP + express
          instrumentation, batched OTLP/gRPC span export)
  audit   otel-audit (--import otel-audit/register): the same, plus one
          audit record per request over OTLP/gRPC

Each run starts an OTLP/gRPC sink child and an app child, warms up, then
runs autocannon (3 GET : 1 POST). Rounds interleave the scenarios; the report
gives the median per scenario and the ratio otel-audit ÷ plain OpenTelemetry.
Uses dist/ (run \`npm run build\` first).

Options:
  --duration S        measured seconds per run (default 10)
  --warmup S          warm-up seconds per run, not measured (default 3)
  --connections N     concurrent connections (default 50)
  --rate N            send a fixed N req/s instead of as many as the app
                      takes: compares CPU per request and latency below
                      saturation (--write then fills the fixed-rate section)
  --rounds N          rounds over all scenarios (default 3)
  --scenarios LIST    comma-separated subset of none,plain,audit (default all)
  --bsp-max-queue N   OTEL_BSP_MAX_QUEUE_SIZE for both OpenTelemetry scenarios
                      (default: the SDK's 2048)
  --sink-window B     HTTP/2 flow-control window of the OTLP sink, bytes (default
                      16 MiB, what a gRPC server with BDP estimation grows to;
                      65535 mimics a receiver with fixed windows)
  --env KEY=VALUE     extra environment for both OpenTelemetry scenarios, e.g.
                      --env OTEL_AUDIT_BATCH_SIZE=64 (repeatable)
  --cpu-prof          profile the app child (node --cpu-prof) and print the
                      functions and packages with the most self time
  --cpu-prof-dir DIR  where profiles go (default: a new temp directory)
  --top N             rows of the profile summary (default 20)
  --write             replace the results section of bench/README.md
  --verbose           print what the app wrote after each run
  --help              print this text
`;

type ScenarioId = 'none' | 'plain' | 'audit';

interface Scenario {
  id: ScenarioId;
  label: string;
  /** Node options placed before the app's path. */
  nodeArgs: string[];
}

const SCENARIOS: readonly Scenario[] = [
  { id: 'none', label: 'no telemetry', nodeArgs: [] },
  { id: 'plain', label: 'plain OpenTelemetry', nodeArgs: ['--import', './bench/plain-otel.mjs'] },
  { id: 'audit', label: 'otel-audit', nodeArgs: ['--import', 'otel-audit/register'] },
];

interface Options extends CommonOptions {
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  scenarios: Scenario[];
  bspMaxQueue: number | undefined;
  rate: number | undefined;
  sinkWindow: number | undefined;
  env: Record<string, string>;
}

interface RunResult {
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

// ---------------------------------------------------------------------------
// Arguments

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      scenarios: { type: 'string' },
      'bsp-max-queue': { type: 'string' },
      rate: { type: 'string' },
      'sink-window': { type: 'string' },
      env: { type: 'string', multiple: true },
      ...COMMON_OPTIONS,
    },
    strict: true,
  });
  if (values.help) return undefined;
  const ids = (values.scenarios ?? 'none,plain,audit').split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios: Scenario[] = [];
  for (const id of ids) {
    const s = SCENARIOS.find((x) => x.id === id);
    if (!s) throw new UsageError(`--scenarios: unknown scenario "${id}" (none, plain, audit)`);
    if (!scenarios.includes(s)) scenarios.push(s);
  }
  if (scenarios.length === 0) throw new UsageError('--scenarios: none given');
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    duration: positive('duration', values.duration, 10, false),
    warmup: positive('warmup', values.warmup, 3, false),
    connections: positive('connections', values.connections, 50, true),
    rounds: positive('rounds', values.rounds, 3, true),
    scenarios,
    bspMaxQueue: values['bsp-max-queue'] === undefined ? undefined : positive('bsp-max-queue', values['bsp-max-queue'], 0, true),
    rate: values.rate === undefined ? undefined : positive('rate', values.rate, 0, true),
    sinkWindow: values['sink-window'] === undefined ? undefined : positive('sink-window', values['sink-window'], 0, true),
    env,
    ...commonOptions(values),
  };
}

// ---------------------------------------------------------------------------
// Children

/** Resolves with the port of the first `LISTENING <port>` line the child prints. */
function listeningPort(child: ChildProcess, name: string, output: () => string, timeoutMs = 20_000): Promise<number> {
  return awaitLine(child, {
    name,
    output,
    timeoutMs,
    match: (line) => {
      const m = /^LISTENING (\d+)$/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
  });
}

interface Sink {
  port: number;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

async function startSink(window: number | undefined): Promise<Sink> {
  const child = fork(SINK, window === undefined ? [] : ['--window', String(window)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  track(child);
  const output = collectOutput(child);
  const port = await listeningPort(child, 'OTLP sink', output);
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (): Promise<SinkStats> =>
    new Promise<SinkStats>((resolveStats, reject) => {
      const onMessage = (msg: unknown): void => {
        if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'stats') {
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolveStats((msg as { stats: SinkStats }).stats);
        }
      };
      const onExit = (): void => {
        child.off('message', onMessage);
        reject(new Error(`OTLP sink exited\n${output()}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'stats' });
    });
  return {
    port,
    stats() {
      // One question at a time: answers carry no id.
      const next = queue.then(ask, ask);
      queue = next.catch(() => undefined);
      return next;
    },
    async stop() {
      await stopChild(child, 2_000);
    },
  };
}

interface App {
  child: ChildProcess;
  port: number;
  output: () => string;
}

function appEnv(scenario: Scenario, sinkPort: number, spoolDir: string, opts: Options): NodeJS.ProcessEnv {
  // Only what the runner sets: no OTEL_* or NODE_OPTIONS from the calling shell.
  const env = childEnv();
  env['NODE_ENV'] = 'production';
  env['PORT'] = '0';
  if (scenario.id !== 'none') {
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
    Object.assign(env, opts.env);
  }
  return env;
}

async function startApp(scenario: Scenario, sinkPort: number, spoolDir: string, opts: Options, profile: string | undefined): Promise<App> {
  const child = spawn(process.execPath, [...cpuProfArgs(profile), ...scenario.nodeArgs, APP], {
    cwd: ROOT,
    env: appEnv(scenario, sinkPort, spoolDir, opts),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const output = collectOutput(child);
  const port = await listeningPort(child, `app (${scenario.label})`, output);
  return { child, port, output };
}

// ---------------------------------------------------------------------------
// Load

const POST_BODY = JSON.stringify({ name: 'bench user', role: 'user' });
/** Each connection cycles through these: 3 GET : 1 POST. */
const REQUESTS: autocannon.Request[] = [
  { method: 'GET', path: '/users/7' },
  { method: 'GET', path: '/users/42' },
  { method: 'POST', path: '/users', headers: { 'content-type': 'application/json' }, body: POST_BODY },
  { method: 'GET', path: '/users/99' },
];

async function load(port: number, seconds: number, opts: Options): Promise<autocannon.Result> {
  return await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: opts.connections,
    duration: seconds,
    requests: REQUESTS,
    ...(opts.rate !== undefined ? { overallRate: opts.rate } : {}),
  });
}

/**
 * Waits until the sink's counts stop growing: for otel-audit until at least
 * `expectAudit` records arrived and nothing changed for 1 s (or nothing
 * changed for 3 s), else 1 s of quiet; at most 20 s.
 */
async function settle(sink: Sink, expectAudit: number | undefined): Promise<SinkStats> {
  const deadline = Date.now() + 20_000;
  let last = await sink.stats();
  let quietSince = Date.now();
  for (;;) {
    await sleep(250);
    const s = await sink.stats();
    if (s.auditRecords !== last.auditRecords || s.spans !== last.spans) quietSince = Date.now();
    last = s;
    const quiet = Date.now() - quietSince;
    if (expectAudit === undefined ? quiet >= 1_000 : (s.auditRecords >= expectAudit && quiet >= 1_000) || quiet >= 3_000) {
      return s;
    }
    if (Date.now() >= deadline) return s;
  }
}

async function runOnce(scenario: Scenario, round: number, opts: Options): Promise<RunResult> {
  const spoolDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-spool-'));
  const profile = opts.cpuProfDir ? join(opts.cpuProfDir, `${scenario.id}-round${round}.cpuprofile`) : undefined;
  const sink = await startSink(opts.sinkWindow);
  let app: App | undefined;
  try {
    app = await startApp(scenario, sink.port, spoolDir, opts, profile);
    const warm = await load(app.port, opts.warmup, opts);
    const sink0 = await sink.stats();
    const [cpu0, busy0, self0] = [cpuMs(app.child.pid), machineBusyMs(), selfCpuMs()];
    const result = await load(app.port, opts.duration, opts);
    const [cpu1, busy1, self1] = [cpuMs(app.child.pid), machineBusyMs(), selfCpuMs()];
    const sink1 = await sink.stats();
    // CPU that neither the app, the sink nor this runner used: other work on the machine, i.e. noise.
    const otherCpuShare = cpu0 !== undefined && cpu1 !== undefined && busy0 !== undefined && busy1 !== undefined
      ? Math.max(0, (busy1 - busy0) - (cpu1 - cpu0) - (sink1.cpuMs - sink0.cpuMs) - (self1 - self0)) /
        (opts.duration * 1000 * os.availableParallelism())
      : undefined;
    const requestsAll = warm.requests.total + result.requests.total;
    const expectAudit = scenario.id === 'audit' ? Math.ceil(requestsAll * AUDIT_MIN_SHARE) : undefined;
    const settled = scenario.id === 'none' ? await sink.stats() : await settle(sink, expectAudit);
    // Profiles are written on exit, which can take a while for a large one.
    const exitMs = await stopChild(app.child, profile ? 60_000 : 15_000);
    const final = await sink.stats();
    const output = app.output();
    const deliveryLine = /otel-audit: delivery closed:.*$/m.exec(output)?.[0];
    let droppedSpans = 0;
    if (opts.verbose) process.stderr.write(`--- app output (${scenario.label}) ---\n${output}\n---\n`);
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
      appCpuShare: cpu0 !== undefined && cpu1 !== undefined ? (cpu1 - cpu0) / (opts.duration * 1000) : undefined,
      exitMs,
      deliveryLine,
      droppedSpans,
      profile: profile && existsSync(profile) ? profile : undefined,
    };
  } finally {
    if (app) await stopChild(app.child, 5_000);
    await sink.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Profiles

/** Who a script belongs to: an npm package, node's internals, otel-audit's dist, the app. */
const ownerOf = (url: string, functionName: string): string =>
  owner(url, functionName, (rel) => (rel.startsWith('dist/') ? 'otel-audit (dist)' : rel.startsWith('bench/') ? 'bench app' : rel));

interface ProfileSummary {
  /** Busy (non-idle) sampled time, ms. */
  busyMs: number;
  functions: Array<{ name: string; where: string; selfMs: number }>;
  owners: Array<{ name: string; selfMs: number }>;
}

function summarizeProfile(file: string): ProfileSummary {
  const { byId, selfUs } = readProfile(file);
  const functions = new Map<string, { name: string; where: string; selfMs: number }>();
  const owners = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busyUs += us;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}\u0000${where}`;
    const f = functions.get(key) ?? { name, where, selfMs: 0 };
    f.selfMs += us / 1000;
    functions.set(key, f);
    const o = ownerOf(url, functionName);
    owners.set(o, (owners.get(o) ?? 0) + us / 1000);
  }
  return {
    busyMs: busyUs / 1000,
    functions: [...functions.values()].sort((a, b) => b.selfMs - a.selfMs),
    owners: [...owners.entries()].map(([name, selfMs]) => ({ name, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

function printProfile(label: string, file: string, top: number, requests: number): void {
  const s = summarizeProfile(file);
  // Per request: the profile also covers start-up and the idle tail, which adds a little.
  const cell = (ms: number): string =>
    `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)} %  ${((ms * 1000) / Math.max(1, requests)).toFixed(1).padStart(6)} µs/req`;
  console.log(`\nProfile of the app, ${label} (${file})`);
  console.log(`  busy ${(s.busyMs / 1000).toFixed(1)} s for ${fmt(requests)} requests, start-up included`);
  console.log('  self time by package:');
  for (const o of s.owners.slice(0, top)) console.log(`    ${cell(o.selfMs)}  ${o.name}`);
  console.log('  self time by function:');
  for (const f of s.functions.slice(0, top)) console.log(`    ${cell(f.selfMs)}  ${f.name}  ${f.where}`);
}

// ---------------------------------------------------------------------------
// Report

interface Row {
  scenario: Scenario;
  runs: RunResult[];
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number | undefined;
}

function rows(opts: Options, results: RunResult[]): Row[] {
  return opts.scenarios.map((scenario) => {
    const runs = results.filter((r) => r.scenario === scenario.id);
    const cpu = runs.map((r) => r.cpuUsPerReq).filter((x): x is number => x !== undefined);
    return {
      scenario,
      runs,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      cpuUsPerReq: cpu.length ? median(cpu) : undefined,
    };
  });
}

interface Verdict {
  rpsRatio: number;
  p99Ratio: number;
  cpuRatio: number | undefined;
  met: boolean;
}

function verdict(table: Row[]): Verdict | undefined {
  const plain = table.find((r) => r.scenario.id === 'plain');
  const audit = table.find((r) => r.scenario.id === 'audit');
  if (!plain || !audit) return undefined;
  const rpsRatio = audit.rps / plain.rps;
  const cpuRatio = audit.cpuUsPerReq !== undefined && plain.cpuUsPerReq !== undefined ? audit.cpuUsPerReq / plain.cpuUsPerReq : undefined;
  return { rpsRatio, p99Ratio: audit.p99 / plain.p99, cpuRatio, met: rpsRatio >= GOAL };
}

function verdictText(opts: Options, v: Verdict): string {
  const cpu = v.cpuRatio === undefined ? '' : `, app CPU per request ${v.cpuRatio.toFixed(2)}×`;
  if (opts.rate !== undefined) return `otel-audit ÷ plain OpenTelemetry at ${fmt(opts.rate)} req/s: p99 latency ${v.p99Ratio.toFixed(2)}×${cpu}`;
  return `otel-audit ÷ plain OpenTelemetry: req/s ${v.rpsRatio.toFixed(3)}, p99 latency ${v.p99Ratio.toFixed(2)}×${cpu} — ` +
    (v.met ? `goal (req/s ≥ ${GOAL}) met` : `goal (req/s ≥ ${GOAL}) missed by ${((GOAL - v.rpsRatio) * 100).toFixed(1)} points`);
}

function auditLines(results: RunResult[]): string[] {
  return results
    .filter((r) => r.scenario === 'audit')
    .map((r) => {
      const ok = r.settled.auditRecords >= r.requestsAll * AUDIT_MIN_SHARE;
      return `round ${r.round}: ${fmt(r.settled.auditRecords)} audit records for ${fmt(r.requestsAll)} requests ` +
        `(${((100 * r.settled.auditRecords) / Math.max(1, r.requestsAll)).toFixed(2)} %) ${ok ? 'ok' : 'TOO FEW'}` +
        (r.deliveryLine ? `; SDK at exit: ${r.deliveryLine.replace(/^.*delivery closed: /, '')}` : '');
    });
}

const HEADER = ['Scenario', 'req/s', 'p50 ms', 'p99 ms', 'app CPU µs/req', 'req/s vs none', 'spans/req', 'req/s per round'];

function tableCells(table: Row[]): string[][] {
  const none = table.find((r) => r.scenario.id === 'none');
  return table.map((r) => {
    const spans = r.runs.map((x) => x.final.spans / Math.max(1, x.requestsAll));
    return [
      r.scenario.label,
      fmt(r.rps),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      r.cpuUsPerReq === undefined ? '-' : fmt(r.cpuUsPerReq),
      none ? (r.rps / none.rps).toFixed(3) : '-',
      r.scenario.id === 'none' ? '-' : median(spans).toFixed(2),
      r.runs.map((x) => fmt(x.rps)).join(' / '),
    ];
  });
}

function setupLine(opts: Options): string {
  const load = opts.rate !== undefined ? `a fixed ${fmt(opts.rate)} req/s over ${opts.connections} connections` : `${opts.connections} connections`;
  const extra = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
  if (opts.bspMaxQueue !== undefined) extra.unshift(`OTEL_BSP_MAX_QUEUE_SIZE=${opts.bspMaxQueue}`);
  if (opts.sinkWindow !== undefined) extra.unshift(`sink window ${opts.sinkWindow} B`);
  return `${opts.rounds} round(s) × ${opts.duration} s per scenario (after ${opts.warmup} s warm-up), ${load}, ` +
    `3 GET : 1 POST${extra.length ? `, ${extra.join(' ')}` : ''}; medians over the rounds.`;
}

function noiseLines(results: RunResult[]): string[] {
  return results
    .filter((r) => (r.otherCpuShare ?? 0) > 0.05)
    .map((r) => `${r.scenario} round ${r.round}: other processes used ${(100 * (r.otherCpuShare ?? 0)).toFixed(0)} % of the machine; the numbers are noisy`);
}

function printReport(opts: Options, results: RunResult[]): void {
  const table = rows(opts, results);
  console.log(`\n${setupLine(opts)}`);
  console.log(`Machine: ${machine()}\n`);
  for (const l of textTable(HEADER, tableCells(table))) console.log(l);
  const v = verdict(table);
  if (v) console.log(`\n${verdictText(opts, v)}`);
  const audits = auditLines(results);
  if (audits.length) {
    console.log('\nAudit records received by the sink (warm-up included):');
    for (const l of audits) console.log(`  ${l}`);
  }
  for (const l of noiseLines(results)) console.log(`warning: ${l}`);
  for (const r of results.filter((x) => x.errors > 0 || x.non2xx > 0)) {
    console.log(`warning: ${r.scenario} round ${r.round}: ${r.errors} connection errors, ${r.non2xx} non-2xx responses`);
  }
}

function markdown(opts: Options, results: RunResult[]): string {
  const table = rows(opts, results);
  const out: string[] = [];
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`);
  out.push(setupLine(opts));
  out.push('');
  out.push(...mdTable(HEADER, tableCells(table)));
  const v = verdict(table);
  if (v) out.push('', `**${verdictText(opts, v)}.**`);
  const audits = auditLines(results);
  if (audits.length) {
    out.push('', 'Audit records received by the sink (warm-up included):', '');
    for (const l of audits) out.push(`- ${l}`);
  }
  const noise = noiseLines(results);
  if (noise.length) {
    out.push('', 'Noise:', '');
    for (const l of noise) out.push(`- ${l}`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------

function runLine(r: RunResult, label: string): string {
  const parts = [
    `${label.padEnd(20)} ${fmt(r.rps).padStart(7)} req/s (${fmt(r.requestsAll)} requests with warm-up)`,
    `p50 ${fmt(r.p50, 1).padStart(5)} ms`,
    `p99 ${fmt(r.p99, 1).padStart(6)} ms`,
  ];
  if (r.cpuUsPerReq !== undefined) parts.push(`app CPU ${fmt(r.cpuUsPerReq)} µs/req`);
  if (r.scenario !== 'none') parts.push(`spans ${fmt(r.final.spans)} (≥ ${fmt(r.droppedSpans)} dropped)`);
  if (r.scenario === 'audit') parts.push(`audit ${fmt(r.settled.auditRecords)}/${fmt(r.requestsAll)}`);
  if (r.appCpuShare !== undefined) parts.push(`app ${fmt(100 * r.appCpuShare)} % of a core`);
  if (r.otherCpuShare !== undefined) parts.push(`other processes ${(100 * r.otherCpuShare).toFixed(1)} % of the machine`);
  parts.push(`exit ${fmt(r.exitMs)} ms`);
  return parts.join(', ');
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(join(ROOT, 'dist', 'register.js'));
  const perRun = opts.warmup + opts.duration + 4;
  console.log(`sdk-overhead: ${opts.rounds} round(s) × ${opts.scenarios.length} scenario(s), ` +
    `~${Math.ceil((perRun * opts.rounds * opts.scenarios.length) / 60)} min`);
  if (opts.cpuProfDir) console.log(`CPU profiles of the app go to ${opts.cpuProfDir} (profiling slows the app)`);

  const results: RunResult[] = [];
  let failed = false;
  for (let round = 1; round <= opts.rounds; round++) {
    // Rotate the order so that no scenario always runs first or last.
    const shift = (round - 1) % opts.scenarios.length;
    const order = [...opts.scenarios.slice(shift), ...opts.scenarios.slice(0, shift)];
    for (const scenario of order) {
      const r = await runOnce(scenario, round, opts);
      results.push(r);
      console.log(`round ${round}/${opts.rounds}  ${runLine(r, scenario.label)}`);
      if (r.deliveryLine) console.log(`  ${r.deliveryLine}`);
      if (scenario.id === 'audit' && r.settled.auditRecords < r.requestsAll * AUDIT_MIN_SHARE) {
        console.error(`  error: only ${r.settled.auditRecords} audit records for ${r.requestsAll} requests`);
        failed = true;
      }
    }
  }

  printReport(opts, results);
  if (opts.cpuProfDir) {
    for (const scenario of opts.scenarios) {
      const last = results.filter((r) => r.scenario === scenario.id && r.profile).at(-1);
      if (last?.profile) printProfile(`${scenario.label}, round ${last.round}`, last.profile, opts.top, last.requestsAll);
    }
  }
  if (opts.write) writeReadme(markdown(opts, results), opts.rate !== undefined ? 'sdk-overhead:fixed-rate' : 'sdk-overhead:results');
  return failed ? 1 : 0;
}

runMain(main);
