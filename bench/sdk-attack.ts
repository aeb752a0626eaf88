/**
 * SDK under hostile input: what one crafted request costs a service with
 * otel-audit beyond what it costs the same app without it. See bench/README.md.
 *
 *   node bench/sdk-attack.ts [--rounds 3] [--smoke] [--write]
 *
 * Three children run side by side for the whole benchmark: the app alone,
 * under plain OpenTelemetry (bench/plain-otel.mjs) and under
 * `--import otel-audit/register`. Every attack sends the same requests, one
 * at a time, to each (rotating which goes first), followed by a plain
 * `GET /ping` that waits out any work left on the event loop.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commandLine, commonOptions, positive, UsageError, type CommonOptions } from './lib/args.ts';
import { cpuMs } from './lib/cpu.ts';
import { startApp } from './lib/app.ts';
import { BENCH_DIR, checkBuild, childEnv, ROOT, runMain, stopChild } from './lib/proc.ts';
import { fmt, machine, mdTable, median, textTable, writeReadme } from './lib/report.ts';

const APP = join(BENCH_DIR, 'apps', 'attack-app.mjs');
/** The bound this benchmark checks: otel-audit's extra CPU per request over plain OpenTelemetry for the worst inputs, ms. */
const BOUND_MS = 2;

const USAGE = `Usage: node bench/sdk-attack.ts [options]

Sends hostile requests (a path of 15,000 underscores, a 64 KB path, deep and
wide JSON bodies, 1.4 MB and 10 MB bodies, 150,000 X-Forwarded-For hops,
bodies with distinct 40 KB keys) one at a time to bench/apps/attack-app.mjs,
alone, under plain OpenTelemetry and under --import otel-audit/register, and
reports the extra time and CPU per request, and the heap after GC before and
after the distinct-key flood. Uses dist/ (run \`npm run build\` first).

Options:
  --rounds N      rounds over every attack (default 3; medians)
  --scale X       multiply the number of requests of every attack (default 1)
  --attacks LIST  comma-separated subset of ping,redos,path64k,deep,wide,
                  keys100k,json10m,xff,keys40k (default all)
  --smoke         a quick run for CI: 1 round, few requests, small flood
                  (also BENCH_SMOKE=1)
  --write         replace the results section of bench/README.md
  --verbose, -v   print what the apps logged
  --help, -h      this text
`;

interface Options extends CommonOptions {
  attacks: string[] | undefined;
  rounds: number;
  scale: number;
  smoke: boolean;
}

function parse(argv: string[]): Options | undefined {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...COMMON_OPTIONS, rounds: { type: 'string' }, scale: { type: 'string' }, smoke: { type: 'boolean' }, attacks: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help) return undefined;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const smoke = values.smoke === true || process.env['BENCH_SMOKE'] === '1';
  const attacks = values.attacks?.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  const unknown = attacks?.find((a) => !ATTACK_IDS.includes(a));
  if (unknown !== undefined) throw new UsageError(`--attacks: unknown attack "${unknown}"`);
  return {
    ...commonOptions(values),
    attacks,
    rounds: smoke ? 1 : positive('rounds', values.rounds, 3),
    scale: smoke ? 0.1 : positive('scale', values.scale, 1, false),
    smoke,
  };
}

// ---------------------------------------------------------------------------
// Attacks

interface Req {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

interface Attack {
  id: string;
  label: string;
  /** Requests per round at scale 1. */
  count: number;
  /** The i-th request (distinct where a cache could otherwise hide the cost). */
  make: (i: number) => Req;
  /** Measure the heap after GC before and after. */
  heap?: boolean;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const post = (body: Buffer): Req => ({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body });

/** Bodies that are the same for every request are built once. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

const deepBody = once(() => Buffer.from('{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000)));
const wideBody = once(() => json(Object.fromEntries(Array.from({ length: 7_000 }, (_, i) => [`field${i}`, i]))));
const keys100k = once(() => json(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, i]))));
const body10m = once(() =>
  json(Array.from({ length: 90_000 }, (_, i) => ({ id: i, name: `user ${i}`, email: `user${i}@example.com`, tags: ['a', 'b', 'c'], note: 'x'.repeat(40) }))),
);
const xff = once(() => Array.from({ length: 150_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join(', '));

const ATTACKS: readonly Attack[] = [
  { id: 'ping', label: 'GET /ping (ordinary request, for scale)', count: 200, make: () => ({ method: 'GET', path: '/ping' }) },
  { id: 'redos', label: 'GET /a + 15,000 underscores + a<n> (no route)', count: 30, make: (i) => ({ method: 'GET', path: `/a${'_'.repeat(15_000)}a${i}` }) },
  { id: 'path64k', label: 'GET 64 KB path of underscores (no route)', count: 10, make: (i) => ({ method: 'GET', path: `/a${'_'.repeat(64 * 1024)}a${i}` }) },
  { id: 'deep', label: 'POST JSON nested 5,000 deep (30 KB)', count: 30, make: () => post(deepBody()) },
  { id: 'wide', label: 'POST JSON of 7,000 keys (100 KB)', count: 30, make: () => post(wideBody()) },
  { id: 'keys100k', label: 'POST JSON of 100,000 keys (1.4 MB)', count: 10, make: () => post(keys100k()) },
  { id: 'json10m', label: 'POST JSON array of 90,000 objects (10 MB)', count: 5, make: () => post(body10m()) },
  { id: 'xff', label: 'GET /ping, 150,000 trusted X-Forwarded-For hops (1.9 MB)', count: 10, make: () => ({ method: 'GET', path: '/ping', headers: { 'x-forwarded-for': xff() } }) },
  {
    id: 'keys40k',
    label: 'POST JSON with one distinct 40 KB key',
    count: 2_500,
    heap: true,
    make: () => post(Buffer.from(`{"${randomBytes(20 * 1024).toString('hex')}":1}`)),
  },
];

const ATTACK_IDS = ATTACKS.map((a) => a.id);

// ---------------------------------------------------------------------------
// Apps

interface App {
  label: string;
  child: ChildProcess;
  port: number;
  output: () => string;
  agent: http.Agent;
}

type Kind = 'alone' | 'plain' | 'audit';

const PRELOAD: Record<Kind, string[]> = {
  alone: [],
  plain: ['--import', './bench/plain-otel.mjs'],
  audit: ['--import', 'otel-audit/register'],
};

async function startAttackApp(label: string, kind: Kind, spoolDir: string): Promise<App> {
  const env: NodeJS.ProcessEnv = {
    ...childEnv(),
    PORT: '0',
    OTEL_SERVICE_NAME: 'bench-attack-app',
    // Both OpenTelemetry set-ups export spans to a closed port: same work, nothing listening.
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    OTEL_LOG_LEVEL: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    // Records are built in full and then dropped: the benchmark measures the SDK, not the network.
    OTEL_AUDIT_EXPORTER: 'none',
    OTEL_AUDIT_TRUSTED_PROXIES: 'loopback,private',
    OTEL_AUDIT_SPOOL_DIR: spoolDir,
  };
  // Header limit raised so that the 64 KB path and the 1.9 MB X-Forwarded-For reach the app at all.
  const nodeArgs = ['--max-http-header-size=4194304', '--expose-gc', ...PRELOAD[kind]];
  const { child, port, output } = await startApp({ label, script: APP, nodeArgs, env });
  return { label, child, port, output, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) };
}

function send(app: App, req: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      { host: '127.0.0.1', port: app.port, method: req.method, path: req.path, agent: app.agent, headers: { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

async function heapAfterGc(app: App): Promise<number> {
  const res = await send(app, { method: 'GET', path: '/__heap' });
  return (JSON.parse(res.body) as { heapUsed: number }).heapUsed;
}

interface Sample {
  /** Wall time per request, ms (the requests one at a time, then a GET /ping). */
  wallMs: number;
  /** App CPU per request, ms. */
  cpuMs: number;
  /** Heap after GC, minus the app's heap after GC before the first flood, bytes. */
  heapGrowth?: number;
}

/** Heap after GC of each app before its first flood. */
const heapBaseline = new Map<App, number>();

async function measure(app: App, reqs: readonly Req[], heap: boolean): Promise<Sample> {
  if (heap && !heapBaseline.has(app)) heapBaseline.set(app, await heapAfterGc(app));
  const cpu0 = cpuMs(app.child.pid) ?? 0;
  const t0 = performance.now();
  for (const req of reqs) {
    const res = await send(app, req);
    if (res.status >= 500) throw new Error(`${app.label}: ${req.method} ${req.path.slice(0, 40)}… answered ${res.status}`);
  }
  // Whatever the last request left on the event loop delays this one.
  await send(app, { method: 'GET', path: '/ping' });
  const wall = performance.now() - t0;
  const cpu = (cpuMs(app.child.pid) ?? 0) - cpu0;
  const sample: Sample = { wallMs: wall / reqs.length, cpuMs: cpu / reqs.length };
  if (heap) {
    // Past otel-audit's grace period (500 ms), so that the last records are flushed.
    await new Promise((r) => setTimeout(r, 1_500));
    sample.heapGrowth = (await heapAfterGc(app)) - (heapBaseline.get(app) ?? 0);
  }
  return sample;
}

// ---------------------------------------------------------------------------
// Run and report

interface Row {
  attack: Attack;
  count: number;
  samples: Record<Kind, Sample[]>;
}

const med = (samples: Sample[], key: 'wallMs' | 'cpuMs' | 'heapGrowth'): number => median(samples.map((s) => s[key] ?? 0));

function report(rows: Row[], opts: Options): { text: string; markdown: string; worstExtra: number } {
  const header = [
    'Attack',
    'requests',
    'CPU ms/req: alone / plain OTel / otel-audit',
    'CPU: otel-audit − plain OTel',
    'CPU: otel-audit − alone',
    'CPU: otel-audit ÷ alone',
    'wall ms/req: alone / plain OTel / otel-audit',
  ];
  let worstExtra = 0;
  let worstVsAlone = 0;
  const kinds = ['alone', 'plain', 'audit'] as const;
  const lines = rows.map((r) => {
    const [alone, plain, audit] = kinds.map((k) => med(r.samples[k], 'cpuMs')) as [number, number, number];
    if (r.attack.id !== 'ping') {
      worstExtra = Math.max(worstExtra, audit - plain);
      worstVsAlone = Math.max(worstVsAlone, audit - alone);
    }
    const wall = kinds.map((k) => fmt(med(r.samples[k], 'wallMs'), 2)).join(' / ');
    const ratio = alone > 0 ? `${fmt(audit / alone, 2)}×` : '-';
    return [r.attack.label, fmt(r.count), [alone, plain, audit].map((v) => fmt(v, 2)).join(' / '), fmt(audit - plain, 2), fmt(audit - alone, 2), ratio, wall];
  });
  const heapRows = rows.filter((r) => r.attack.heap);
  const mib = (b: number): string => fmt(b / 1024 / 1024, 1);
  const heapLines = heapRows.map(
    (r) =>
      `- ${r.attack.label}, ${fmt(r.count)} requests per round: heap after GC, growth since before the first round, after each round: app alone ${r.samples.alone.map((s) => mib(s.heapGrowth ?? 0)).join(' / ')} MiB, plain OpenTelemetry ${r.samples.plain.map((s) => mib(s.heapGrowth ?? 0)).join(' / ')} MiB, otel-audit ${r.samples.audit.map((s) => mib(s.heapGrowth ?? 0)).join(' / ')} MiB`,
  );
  const verdict = [
    `**otel-audit's extra CPU per request over plain OpenTelemetry, worst attack: ${fmt(worstExtra, 2)} ms (bound: < ${BOUND_MS} ms): ${worstExtra < BOUND_MS ? 'met' : 'missed'}.**`,
    `Over the app alone, worst attack: ${fmt(worstVsAlone, 2)} ms.`,
  ].join(' ');
  const intro = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`,
    `${opts.rounds} round(s)${opts.smoke ? ' (smoke size)' : ''}, requests one at a time over one keep-alive connection per app, each batch followed by a GET /ping; medians over the rounds. CPU from /proc in 10 ms ticks.`,
  ];
  const text = [...intro, '', ...textTable(header, lines), '', ...heapLines, '', verdict].join('\n');
  const markdown = [...intro, '', ...mdTable(header, lines), '', ...heapLines, '', verdict].join('\n');
  return { text, markdown, worstExtra };
}

async function main(): Promise<number> {
  const parsed = commandLine(parse, USAGE);
  if (typeof parsed === 'number') return parsed;
  const opts = parsed;
  checkBuild(join(ROOT, 'dist', 'register.js'));
  const spoolDir = mkdtempSync(join(os.tmpdir(), 'otel-audit-bench-attack-'));
  const apps: App[] = [];
  try {
    const kinds: Kind[] = ['alone', 'plain', 'audit'];
    const byKind = new Map<Kind, App>();
    for (const [kind, label] of [['alone', 'app alone'], ['plain', 'plain OpenTelemetry'], ['audit', 'otel-audit']] as const) {
      const app = await startAttackApp(label, kind, spoolDir);
      apps.push(app);
      byKind.set(kind, app);
    }
    const rows: Row[] = [];
    for (const attack of ATTACKS.filter((a) => opts.attacks === undefined || opts.attacks.includes(a.id))) {
      const count = Math.max(opts.smoke ? 2 : 1, Math.round(attack.count * opts.scale * (opts.smoke && attack.heap ? 0.2 : 1)));
      const row: Row = { attack, count, samples: { alone: [], plain: [], audit: [] } };
      for (let round = 0; round < opts.rounds; round++) {
        const reqs = Array.from({ length: count }, (_, i) => attack.make(round * count + i));
        // Warm every app (JIT, lazily loaded code), then measure in rotating order.
        for (const app of apps) for (let w = 0; w < 3; w++) await send(app, attack.make(-1 - round * 3 - w));
        for (let k = 0; k < kinds.length; k++) {
          const kind = kinds[(k + round) % kinds.length] as Kind;
          row.samples[kind].push(await measure(byKind.get(kind) as App, reqs, attack.heap === true));
        }
      }
      rows.push(row);
      const last = (k: Kind): string => fmt(row.samples[k][row.samples[k].length - 1]?.wallMs ?? 0, 2);
      console.log(`${attack.id.padEnd(9)} ${String(count).padStart(5)} req  alone ${last('alone')}  plain OTel ${last('plain')}  otel-audit ${last('audit')} ms/req`);
    }
    const { text, markdown, worstExtra } = report(rows, opts);
    console.log(`\n${text}`);
    if (opts.verbose) for (const app of apps) console.log(`\n--- ${app.label} ---\n${app.output()}`);
    if (opts.write) writeReadme(markdown, 'sdk-attack:results');
    return worstExtra < BOUND_MS || opts.smoke ? 0 : 1;
  } finally {
    for (const app of apps) {
      app.agent.destroy();
      await stopChild(app.child, 5_000);
    }
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

runMain(main);
