/**
 * SDK start-up: time from `node` starting to the first answered request,
 * with no telemetry, with plain OpenTelemetry and with otel-audit.
 *
 *   node bench/sdk-startup.ts [--runs 10] [--apps express,fastify] [--smoke]
 *
 * Each run starts the app child fresh (so every module is loaded from
 * scratch), waits for its `LISTENING <port>` line, sends one request and
 * stops it. Runs interleave the scenarios in a rotating order; the report
 * gives medians side by side and otel-audit minus plain OpenTelemetry.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { commandLine, positive, UsageError } from './lib/args.ts';
import { awaitLine, BENCH_DIR, checkBuild, childEnv, collectOutput, ROOT, runMain, stopChild, track } from './lib/proc.ts';
import { fmt, machine, median, textTable } from './lib/report.ts';
import { cpuMs } from './lib/cpu.ts';

/** otel-audit may add at most this much to plain OpenTelemetry's start-up, ms. */
const GOAL_EXTRA_MS = 50;
/** Longest wait for an app to listen and answer, ms. */
const START_TIMEOUT_MS = 30_000;
/** Runs of a smoke run: proves the benchmark runs, measures nothing. */
const SMOKE_RUNS = 1;

const USAGE = `Usage: node bench/sdk-startup.ts [options]

Time from node's start to the first answered request of an app, under:
  none    no telemetry
  plain   plain OpenTelemetry (--import ./bench/plain-otel.mjs)
  audit   otel-audit (--import otel-audit/register)

Apps:
  express   bench/apps/express-app.mjs (express, JSON body parser)
  fastify   test/fixtures/fastify-app.mjs (fastify: a larger module tree)

Exporters point at a bench OTLP sink (bench/otlp-sink.ts) started once.
Uses dist/ (run \`npm run build\` first).

Options:
  --runs N        runs per app and scenario (default 10)
  --apps LIST     comma-separated subset of express,fastify (default both)
  --smoke         one run of each: seconds, proves the benchmark runs
  --verbose       print the app's output after each run
  --help          print this text
`;

type ScenarioId = 'none' | 'plain' | 'audit';
interface Scenario {
  id: ScenarioId;
  label: string;
  nodeArgs: string[];
}
const SCENARIOS: readonly Scenario[] = [
  { id: 'none', label: 'no telemetry', nodeArgs: [] },
  { id: 'plain', label: 'plain OpenTelemetry', nodeArgs: ['--import', './bench/plain-otel.mjs'] },
  { id: 'audit', label: 'otel-audit', nodeArgs: ['--import', 'otel-audit/register'] },
];

interface App {
  id: string;
  file: string;
  /** The first request: a path every scenario answers 200 to. */
  path: string;
}
const APPS: readonly App[] = [
  { id: 'express', file: join(BENCH_DIR, 'apps', 'express-app.mjs'), path: '/users/7' },
  { id: 'fastify', file: join(ROOT, 'test', 'fixtures', 'fastify-app.mjs'), path: '/orders/7' },
];

interface Options {
  runs: number;
  apps: App[];
  verbose: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      apps: { type: 'string' },
      smoke: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const apps: App[] = [];
  for (const id of (values.apps ?? 'express,fastify').split(',').map((s) => s.trim()).filter(Boolean)) {
    const app = APPS.find((a) => a.id === id);
    if (!app) throw new UsageError(`--apps: unknown app "${id}" (express, fastify)`);
    if (!apps.includes(app)) apps.push(app);
  }
  if (apps.length === 0) throw new UsageError('--apps: none given');
  return { runs: values.smoke ? SMOKE_RUNS : positive('runs', values.runs, 10), apps, verbose: values.verbose === true };
}

function get(port: number, path: string): Promise<number> {
  return new Promise<number>((resolveStatus, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

async function startSink(): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(join(BENCH_DIR, 'otlp-sink.ts'), [], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  track(child);
  const output = collectOutput(child);
  const port = await awaitLine(child, { name: 'OTLP sink', output, timeoutMs: START_TIMEOUT_MS, match: (l) => /^LISTENING (\d+)$/.exec(l)?.[1] });
  return { port: Number(port), child };
}

interface Timing {
  /** Spawn to the `LISTENING` line, ms. */
  listeningMs: number;
  /** Spawn to the first response, ms. */
  answeredMs: number;
  /** CPU time the app had used by its first response, ms (steadier than wall time on a busy machine; NaN without /proc). */
  cpuMs: number;
}

async function runOnce(app: App, scenario: Scenario, sinkPort: number, spoolDir: string, opts: Options): Promise<Timing> {
  const env = childEnv();
  Object.assign(env, { NODE_ENV: 'production', PORT: '0' });
  if (scenario.id !== 'none') {
    Object.assign(env, {
      OTEL_SERVICE_NAME: `bench-startup-${app.id}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_AUDIT_SPOOL_DIR: spoolDir,
    });
    // Plain OpenTelemetry for a fastify service instruments fastify too, as otel-audit does.
    if (app.id === 'fastify') env['BENCH_PLAIN_FASTIFY'] = '1';
  }
  const started = performance.now();
  const child = spawn(process.execPath, [...scenario.nodeArgs, app.file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = collectOutput(child);
  try {
    const port = Number(await awaitLine(child, { name: `${app.id} (${scenario.label})`, output, timeoutMs: START_TIMEOUT_MS, match: (l) => /^LISTENING (\d+)$/.exec(l)?.[1] }));
    const listeningMs = performance.now() - started;
    const status = await get(port, app.path);
    const answeredMs = performance.now() - started;
    const cpu = cpuMs(child.pid) ?? Number.NaN;
    if (status !== 200) throw new Error(`${app.id} (${scenario.label}) answered ${status} to GET ${app.path}\n${output()}`);
    return { listeningMs, answeredMs, cpuMs: cpu };
  } finally {
    await stopChild(child, 5_000);
    if (opts.verbose) process.stdout.write(output());
  }
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(join(ROOT, 'dist', 'register.js'));
  const sink = await startSink();
  const spoolDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-startup-'));
  const results = new Map<string, Timing[]>();
  const key = (app: App, s: Scenario): string => `${app.id}/${s.id}`;
  try {
    for (let run = 0; run < opts.runs; run++) {
      for (const app of opts.apps) {
        // A rotating order, so that no scenario always runs first (or right after another).
        const order = SCENARIOS.map((_, i) => SCENARIOS[(i + run) % SCENARIOS.length] as Scenario);
        for (const s of order) {
          const t = await runOnce(app, s, sink.port, spoolDir, opts);
          const list = results.get(key(app, s)) ?? [];
          list.push(t);
          results.set(key(app, s), list);
          console.log(`run ${run + 1}/${opts.runs}  ${app.id.padEnd(8)} ${s.label.padEnd(20)} listening ${fmt(t.listeningMs)} ms, first answer ${fmt(t.answeredMs)} ms (CPU ${fmt(t.cpuMs)} ms)`);
        }
      }
    }
  } finally {
    await stopChild(sink.child, 2_000);
    rmSync(spoolDir, { recursive: true, force: true });
  }

  console.log(`\n${opts.runs} run(s) per app and scenario; medians, ms from spawning node to the first answered request (wall), and the app's CPU time by then.`);
  console.log(`Machine: ${machine()}\n`);
  const lines: string[][] = [];
  let missed = false;
  const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmt(n)}`;
  for (const app of opts.apps) {
    for (const [what, pick] of [['wall', (t: Timing) => t.answeredMs], ['CPU', (t: Timing) => t.cpuMs]] as const) {
      const med = (s: Scenario): number => median((results.get(key(app, s)) ?? []).map(pick));
      const [none, plain, audit] = SCENARIOS.map(med) as [number, number, number];
      const extra = audit - plain;
      if (what === 'wall' && extra > GOAL_EXTRA_MS) missed = true;
      lines.push([`${app.id} (${what})`, fmt(none), fmt(plain), fmt(audit), signed(extra), what === 'wall' ? (extra <= GOAL_EXTRA_MS ? 'ok' : 'missed') : '']);
    }
  }
  for (const l of textTable(['app', 'no telemetry', 'plain OpenTelemetry', 'otel-audit', 'otel-audit − plain', `goal ≤ +${GOAL_EXTRA_MS} ms`], lines)) console.log(l);
  if (missed) console.log(`\nGoal missed: otel-audit adds more than ${GOAL_EXTRA_MS} ms to plain OpenTelemetry's start-up (noisy machines inflate this; repeat).`);
  return 0;
}

runMain(main);
