/**
 * `otel-audit demo`: the whole pipeline on one machine with nothing else
 * running. Starts the sink in this process on an embedded Postgres (PGlite)
 * in a temporary directory, runs the example service
 * (`examples/express-app/server.js`) under `--import otel-audit/register`
 * pointed at it, sends the scripted requests of `./script.ts`, stops the
 * service with SIGTERM (it flushes its audit records), waits for the rows,
 * prints them as the database returns them, and says where to look next.
 * Everything it started is stopped and the temporary directory removed, on
 * success, on failure and on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { pino } from 'pino';
import { packagePath } from '../assets.js';
import { SINK_DEFAULTS } from '../sink/config.js';
import { startSink, type Sink } from '../sink/sink.js';
import { serveDemoViewer } from './viewer.js';
import { checkRows, runScript, type RecordRow, type StepResult } from './script.js';
import { formatTable } from './table.js';

export interface DemoOptions {
  /** Keep the embedded database in this directory instead of a temporary one. */
  dataDir?: string;
  /** Write to this Postgres server instead of the embedded database. */
  databaseUrl?: string;
  /** Print the rows as JSON lines on stdout (everything else goes to stderr). */
  json?: boolean;
  /** How long to wait for the service to listen, and for the rows. Default 30 s each. */
  timeoutMs?: number;
  /** After the script, serve the audit viewer on the rows until the signal aborts (Ctrl-C). */
  serve?: boolean;
  /** Aborting stops the demo: the service is killed, the sink closed, the temporary directory removed. */
  signal?: AbortSignal;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

/** Exit status of an interrupted demo (128 + SIGINT). */
export const INTERRUPTED = 130;

/** OTEL_SERVICE_NAME of the example service in the demo. */
export const DEMO_SERVICE_NAME = 'demo-api';

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Reject with {@link Interrupted} as soon as signal aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new Interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return abortable(new Promise<void>((resolve) => setTimeout(resolve, ms)), signal);
}

/**
 * Why the example service cannot run here, or undefined when it can: the
 * built register entry and the example must exist, and express must be
 * installed where the example can import it (it is a development dependency
 * of otel-audit, absent where otel-audit was installed as a dependency).
 */
export function examplePrerequisite(registerPath: string, serverPath: string): string | undefined {
  if (!existsSync(registerPath)) return `${registerPath} is missing: build the package first (npm run build)`;
  if (!existsSync(serverPath)) return `the example service ${serverPath} is missing from this installation`;
  try {
    createRequire(serverPath).resolve('express');
  } catch {
    return (
      'the example service needs express, which is not installed here (it is a development dependency of otel-audit). ' +
      'Run the demo from a clone of the repository after "npm install", or install express next to otel-audit: npm install express'
    );
  }
  return undefined;
}

/** The example service as a child process. */
interface Service {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  output(): string;
  running(): boolean;
}

const MAX_OUTPUT = 64 * 1024;

function startService(registerPath: string, serverPath: string, cwd: string, env: Record<string, string>): Service {
  const child = spawn(process.execPath, ['--import', registerPath, serverPath], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (chunk: Buffer): void => {
    out += chunk.toString();
    if (out.length > MAX_OUTPUT) out = out.slice(out.length - MAX_OUTPUT);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      out += `\n${err.message}\n`;
      resolve();
    });
  });
  return {
    child,
    exited,
    output: () => out,
    running: () => child.exitCode === null && child.signalCode === null && child.pid !== undefined,
  };
}

/** The environment of the example service: ours, less any OTEL_* or PORT, plus the demo's settings. */
function serviceEnv(grpcPort: number, spoolDir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('OTEL_') && k !== 'PORT') env[k] = v;
  }
  return {
    ...env,
    PORT: '0',
    OTEL_SERVICE_NAME: DEMO_SERVICE_NAME,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_AUDIT_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}`,
    OTEL_AUDIT_SPOOL_DIR: spoolDir,
    OTEL_AUDIT_EXPORT_DELAY_MS: '20',
    OTEL_AUDIT_GRACE_MS: '100',
    OTEL_LOG_LEVEL: 'warn',
  };
}

const LISTENING = /example service on (http:\/\/[\w.:[\]-]+)/;

async function waitListening(service: Service, timeoutMs: number, signal: AbortSignal | undefined): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = LISTENING.exec(service.output());
    if (m) return m[1] as string;
    if (!service.running()) throw new Error(`the example service exited before listening:\n${indent(service.output())}`);
    if (Date.now() > deadline) throw new Error(`the example service did not listen within ${timeoutMs / 1000} s:\n${indent(service.output())}`);
    await sleep(25, signal);
  }
}

/** Send a signal and wait for the exit; SIGKILL after graceMs. True when it exited before that. */
async function stopService(service: Service, signal: NodeJS.Signals, graceMs: number): Promise<boolean> {
  if (!service.running()) return true;
  service.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    service.exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!inTime) {
    service.child.kill('SIGKILL');
    await service.exited;
  }
  return inTime;
}

function indent(text: string, by = '    '): string {
  const t = text.trimEnd();
  return t === '' ? `${by}(no output)` : t.split('\n').map((l) => by + l).join('\n');
}

/** A path to show: relative to the current directory when that is shorter. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A file of the source tree (collector configs, dashboards), where to find it. */
function sourcePath(path: string): string {
  const local = packagePath(path);
  return existsSync(local) ? shown(local) : `${path} in the otel-audit source repository`;
}

/** A row of audit.records as the database returns it (the columns the demo shows). */
export interface DemoRow extends RecordRow {
  occurred_at: Date | string;
  service_name: string;
  actor_name: string | null;
  actor_type: string;
}

function actorOf(r: DemoRow): string {
  if (r.actor_id === null) return r.actor_type === 'anonymous' ? 'anonymous' : (r.actor_name ?? r.actor_type);
  return r.actor_name && r.actor_name !== r.actor_id ? `${r.actor_name} (${r.actor_id})` : r.actor_id;
}

function timeOf(value: Date | string): string {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(11, 23);
}

/** The rows as the demo's table: time, service, actor, action, resource, outcome, status, trace id. */
export function formatRows(rows: readonly DemoRow[], maxWidth = 120): string {
  return formatTable(
    [
      { header: 'time (UTC)' },
      { header: 'service', shrink: true },
      { header: 'actor', shrink: true },
      { header: 'action', shrink: true },
      { header: 'resource', shrink: true },
      { header: 'outcome' },
      { header: 'status', right: true },
      { header: 'trace id' },
    ],
    rows.map((r) => [
      timeOf(r.occurred_at),
      r.service_name,
      actorOf(r),
      r.action,
      r.resource_type === null ? '' : r.resource_id === null ? r.resource_type : `${r.resource_type}/${r.resource_id}`,
      r.outcome,
      r.status_code === null ? '' : String(r.status_code),
      r.trace_id,
    ]),
    { maxWidth },
  );
}

/** Run the demo; resolves with the exit status (0 when every row is as the script expects). */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const info = options.json ? stderr : stdout;
  const say = (text = ''): void => void info.write(`${text}\n`);
  const signal = options.signal;
  const timeoutMs = options.timeoutMs ?? 30_000;

  const registerPath = packagePath('dist', 'register.js');
  const serverPath = packagePath('examples', 'express-app', 'server.js');
  const missing = examplePrerequisite(registerPath, serverPath);
  if (missing) {
    stderr.write(`otel-audit demo: ${missing}\n`);
    return 1;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'otel-audit-demo-'));
  let sink: Sink | undefined;
  let service: Service | undefined;
  // process.exit() (a second Ctrl-C) skips the finally below.
  const killOnExit = (): void => {
    if (service?.running()) service.child.kill('SIGKILL');
    try {
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Exiting anyway: a temporary directory left behind is all that can go wrong.
    }
  };
  process.once('exit', killOnExit);
  const onAbort = (): void => void stderr.write('otel-audit demo: interrupted; stopping what it started\n');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    say('otel-audit demo: an example service under the register hook, audited into Postgres');
    say();
    const embedded = options.databaseUrl === undefined;
    if (embedded) {
      const dir = options.dataDir !== undefined ? options.dataDir : 'a temporary directory';
      say(`  database  embedded Postgres (PGlite) in ${dir} (creating one takes a few seconds)`);
    }
    sink = await startSink(
      {
        host: '127.0.0.1',
        grpcPort: 0,
        httpPort: 0,
        metricsPort: 0,
        ...(embedded ? { dataDir: options.dataDir ?? join(tmp, 'db'), env: {} } : { databaseUrl: options.databaseUrl as string }),
        poolSize: 2,
        holder: { name: 'otel-audit demo', hint: 'it reads them itself and prints them at the end (otel-audit demo --serve then serves the viewer on them)' },
      },
      pino({ level: 'error', base: { service: 'otel-audit-sink' } }, pino.destination({ dest: 2, sync: true })),
    ).catch((err: unknown) => {
      throw new Error(`cannot start the sink: ${(err as Error).message}`, { cause: err });
    });
    if (signal?.aborted) throw new Interrupted();
    if (!embedded) say(`  database  ${sink.db.description}`);
    say(`  sink      otel-audit sink in this process, OTLP/gRPC on 127.0.0.1:${sink.grpcPort}`);

    service = startService(registerPath, serverPath, tmp, serviceEnv(sink.grpcPort, join(tmp, 'spool')));
    const baseUrl = await waitListening(service, timeoutMs, signal);
    say(`  service   node --import otel-audit/register ${shown(serverPath)}`);
    say(`            pid ${service.child.pid ?? '?'}, ${baseUrl}, service.name ${DEMO_SERVICE_NAME}, audit records to the sink`);
    say();
    say('  requests');
    const results = await abortable(
      runScript(baseUrl, {
        onStep: (r) => say(`    ${String(r.status).padEnd(4)} ${r.step.method.padEnd(7)} ${r.path.padEnd(18)} ${r.step.description}`),
      }),
      signal,
    );

    const flushed = await abortable(stopService(service, 'SIGTERM', 15_000), signal);
    const expected = results.filter((r) => r.expected !== null).length;
    say();
    say(`  service stopped with SIGTERM${flushed ? ' (it flushed its audit records on the way out)' : ', then killed: it did not exit within 15 s'}`);

    const traceIds = results.map((r) => r.traceId);
    const db = sink.db;
    const count = async (): Promise<number> =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.records WHERE trace_id = ANY($1::text[])', [traceIds])).rows[0]?.n ?? 0;
    const deadline = Date.now() + timeoutMs;
    let n = await count();
    while (n < expected && Date.now() < deadline) {
      await sleep(100, signal);
      n = await count();
    }
    if (n < expected) {
      throw new Error(
        `the sink holds ${n} of the ${expected} expected audit rows after ${timeoutMs / 1000} s. The example service said:\n${indent(service.output())}`,
      );
    }
    const rows = (
      await db.query<DemoRow & Record<string, unknown>>('SELECT * FROM audit.records WHERE trace_id = ANY($1::text[]) ORDER BY occurred_at, id', [traceIds])
    ).rows;
    const unaudited = results.filter((r) => r.expected === null).map((r) => r.path);
    const note = unaudited.length > 0 ? ` (${unaudited.join(', ')}: not audited)` : '';
    say(`  ${rows.length} row${rows.length === 1 ? '' : 's'} in audit.records for ${results.length} requests${note}`);
    say();

    if (options.json) {
      for (const row of rows) stdout.write(`${JSON.stringify(row)}\n`);
    } else {
      const day = rows[0] ? new Date(rows[0].occurred_at).toISOString().slice(0, 10) : '';
      say(`audit.records${day ? `, ${day}` : ''}`);
      info.write(formatRows(rows));
    }

    const problems = checkRows(results, rows);
    if (problems.length > 0) {
      say();
      stderr.write(`otel-audit demo: the rows are not what the script expects:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    }
    say();
    say(nextSteps(results, options, sink.db.description));
    if (options.serve) {
      say();
      await serveDemoViewer(sink.db, say, signal);
    }
    return problems.length > 0 ? 1 : 0;
  } catch (err) {
    if (err instanceof Interrupted) return INTERRUPTED;
    stderr.write(`otel-audit demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    if (service) await stopService(service, 'SIGKILL', 5_000);
    process.removeListener('exit', killOnExit);
    signal?.removeEventListener('abort', onAbort);
    if (sink) await sink.close().catch((err: unknown) => void stderr.write(`otel-audit demo: closing the sink: ${(err as Error).message}\n`));
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** "Where to look next": the SQL, the collector, the dashboards, a long-running sink. */
function nextSteps(results: readonly StepResult[], options: DemoOptions, database: string): string {
  const pick = results.find((r) => r.expected?.outcome === 'denied' && r.expected.actorId !== null) ?? results.find((r) => r.expected !== null);
  const lines = ['Where to look next', ''];
  const example = pick ? `, e.g. those of ${pick.step.method} ${pick.path}` : '';
  lines.push(`  SQL        the rows are in audit.records (schema "audit"; every column in README.md)${example}:`);
  lines.push('               SELECT occurred_at, actor_id, action, resource_type, resource_id, outcome, status_code, url_path');
  lines.push(`                 FROM audit.records WHERE trace_id = '${pick?.traceId ?? '<trace id>'}';`);
  if (options.databaseUrl !== undefined) {
    lines.push(`             this run's rows stay in ${database}: run it there with psql`);
  } else if (options.dataDir !== undefined) {
    lines.push(`             this run's rows stay in ${options.dataDir}: otel-audit sink --data-dir ${options.dataDir} serves it again`);
  } else {
    lines.push("             this run's database was temporary (--data-dir DIR keeps it, --database-url URL writes to your Postgres)");
  }
  lines.push(`  sink       npm start (otel-audit sink) keeps a sink running: OTLP on ${SINK_DEFAULTS.host}:${SINK_DEFAULTS.grpcPort} (gRPC) and ${SINK_DEFAULTS.httpPort} (HTTP),`);
  lines.push('             the embedded database in ./.otel-audit, or DATABASE_URL=postgres://... for your Postgres. Then');
  lines.push(`             OTEL_AUDIT_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://${SINK_DEFAULTS.host}:${SINK_DEFAULTS.grpcPort} npm run example`);
  lines.push('  pipeline   npm run pipeline runs it all on this machine until Ctrl-C: the collector, Jaeger, the example service and a');
  lines.push('             sink that serves its rows while it writes them (otel-audit sink --serve: the query API and the viewer)');
  lines.push(`  collector  ${sourcePath('collector-config/otelcol.yaml')} (see ${sourcePath('collector-config/README.md')}): traces to the APM,`);
  lines.push('             audit records to the sink');
  lines.push(`  dashboards ${sourcePath('dashboards')}/: Grafana over audit.records, with trace links into the APM`);
  lines.push(`  the script ${sourcePath('src/demo/script.ts')} lists the requests and the row each must produce`);
  if (!options.serve) lines.push('  viewer     otel-audit demo --serve (npm run demo -- --serve) ends by serving the audit viewer on these rows');
  return lines.join('\n');
}
