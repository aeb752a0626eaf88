/**
 * `npm run pipeline`: Jaeger, the sink (with its query API and viewer), the
 * collector and the example service, started in that order (each one's
 * receiver before its sender), watched while they run, and stopped in the
 * reverse order: the service flushes its records into the collector, the
 * collector hands what it holds to the sink, the sink commits, Jaeger last.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedBinaries } from './binaries.ts';
import { httpOk, startChild, tail, waitReady, type Child } from './children.ts';
import type { PipelineOptions } from './options.ts';
import { PORT_FLAGS } from './options.ts';
import { portProblem } from './ports.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HOST = '127.0.0.1';
/** Time for one process to get ready (the embedded database takes seconds to create). */
const READY_MS = 120_000;
/** OTEL_SERVICE_NAME of the example service. */
const EXAMPLE_SERVICE_NAME = 'example-service';
/** Variables that would make the sink write elsewhere than the pipeline says. */
const DATABASE_VARIABLES = ['DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE'];

/** Exit statuses. */
export const EXIT = { stopped: 0, failed: 1 } as const;

/** The environment of a child: ours without OTEL_* (and without the database selectors unless asked), plus `extra`. */
function childEnv(extra: Record<string, string>, keepDatabase: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('OTEL_') || k === 'PORT') continue;
    if (!keepDatabase && DATABASE_VARIABLES.includes(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? `./${rel}` : path;
}

/**
 * Run the pipeline until `signal` aborts (Ctrl-C) or a process stops on its
 * own. `say` gets the lines for the person at the terminal.
 */
export async function runPipeline(o: PipelineOptions, signal: AbortSignal, say: (line: string) => void): Promise<number> {
  const fail = (message: string): number => {
    process.stderr.write(`pipeline: ${message}\n`);
    return EXIT.failed;
  };
  const cli = join(REPO, 'dist', 'cli.js');
  const register = join(REPO, 'dist', 'register.js');
  if (!existsSync(cli) || !existsSync(register)) return fail('dist/ is missing: run "npm run build" first');
  const p = o.ports;
  const uses = (Object.keys(PORT_FLAGS) as (keyof typeof PORT_FLAGS)[])
    .filter((k) => o.example || k !== 'example')
    .map((k) => ({ port: p[k], what: PORT_FLAGS[k].what, flag: `--${PORT_FLAGS[k].flag}` }));
  const busy = await portProblem(HOST, uses);
  if (busy) return fail(busy);
  const bins = cachedBinaries();
  if ('problem' in bins) return fail(bins.problem);

  const dataDir = resolve(o.dataDir);
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  const tokens = JSON.stringify([{ name: 'pipeline', sha256: createHash('sha256').update(token).digest('hex'), role: 'audit_auditor' }]);
  const children: Child[] = [];
  // A hard exit (a second Ctrl-C, a crash) skips the orderly stop: leave nothing behind.
  const killAll = (): void => {
    for (const c of children) if (c.running()) c.process.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const start = async (name: string, command: string, args: string[], env: Record<string, string>, ready: (c: Child) => boolean | Promise<boolean>): Promise<Child> => {
    const child = startChild({ name, command, args, env, cwd: process.cwd(), logFile: join(logDir, `${name}.log`) });
    children.push(child);
    try {
      await waitReady(child, () => ready(child), READY_MS, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new Error(`${(err as Error).message}; its last lines (all in ${shown(child.logFile)}):\n${tail(child.output())}`, { cause: err });
    }
    return child;
  };

  const viewerUrl = `http://${HOST}:${p.viewer}`;
  const jaegerUrl = `http://${HOST}:${p.jaegerUi}`;
  let exampleUrl: string | undefined;
  let status: number = EXIT.stopped;
  try {
    say(`pipeline: starting (logs in ${shown(logDir)}/)`);
    await start(
      'jaeger',
      bins.jaeger,
      ['--config', `file:${join(REPO, 'collector-config', 'jaeger-local.yaml')}`],
      childEnv(
        {
          JAEGER_OTLP_GRPC_ENDPOINT: `${HOST}:${p.jaegerOtlp}`,
          JAEGER_QUERY_HTTP_ENDPOINT: `${HOST}:${p.jaegerUi}`,
          JAEGER_QUERY_GRPC_ENDPOINT: `${HOST}:${p.jaegerGrpc}`,
        },
        false,
      ),
      async (c) => c.output().includes('Everything is ready') && (await httpOk(`${jaegerUrl}/api/services`)),
    );
    say(`  jaeger     ready`);

    const embedded = o.databaseUrl === undefined;
    await start(
      'sink',
      process.execPath,
      [
        cli,
        'sink',
        '--host',
        HOST,
        '--grpc-port',
        String(p.sinkGrpc),
        '--http-port',
        String(p.sinkHttp),
        '--metrics-port',
        String(p.sinkMetrics),
        ...(embedded ? ['--data-dir', dataDir] : []),
        '--serve',
        '--serve-port',
        String(p.viewer),
        '--serve-trace-url',
        `${jaegerUrl}/trace/{trace_id}`,
      ],
      // The URL goes in the environment, not the command line (which other users can read).
      childEnv({ OTEL_AUDIT_SERVE_TOKENS: tokens, ...(embedded ? {} : { DATABASE_URL: o.databaseUrl as string }) }, !embedded),
      async (c) => c.output().includes('query API and viewer at') && (await httpOk(`http://${HOST}:${p.sinkMetrics}/readyz`)),
    );
    say(`  sink       ready`);

    await start(
      'collector',
      bins.collector,
      ['--config', `file:${join(REPO, 'collector-config', 'otelcol.yaml')}`, '--config', `file:${join(REPO, 'collector-config', 'otelcol-local.yaml')}`],
      childEnv(
        {
          OTLP_GRPC_ENDPOINT: `${HOST}:${p.otlpGrpc}`,
          OTLP_HTTP_ENDPOINT: `${HOST}:${p.otlpHttp}`,
          APM_ENDPOINT: `${HOST}:${p.jaegerOtlp}`,
          AUDIT_SINK_ENDPOINT: `${HOST}:${p.sinkGrpc}`,
          AUDIT_QUEUE_DIR: join(dataDir, 'collector-queue'),
          COLLECTOR_METRICS_HOST: HOST,
          COLLECTOR_METRICS_PORT: String(p.collectorMetrics),
        },
        false,
      ),
      (c) => c.output().includes('Everything is ready'),
    );
    say(`  collector  ready`);

    if (o.example) {
      const server = join(REPO, 'examples', 'express-app', 'server.js');
      await start(
        'example',
        process.execPath,
        ['--import', register, server],
        childEnv(
          {
            PORT: String(p.example),
            OTEL_SERVICE_NAME: EXAMPLE_SERVICE_NAME,
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${p.otlpGrpc}`,
            OTEL_METRICS_EXPORTER: 'none',
            OTEL_LOGS_EXPORTER: 'none',
            OTEL_BSP_SCHEDULE_DELAY: '1000',
            OTEL_AUDIT_SPOOL_DIR: join(dataDir, 'spool'),
          },
          false,
        ),
        (c) => /example service on http:\/\//.test(c.output()),
      );
      exampleUrl = `http://${HOST}:${p.example}`;
      say(`  example    ready`);
    }

    say('');
    say('pipeline: running; Ctrl-C stops everything');
    say('');
    if (exampleUrl) {
      say(`  service      ${exampleUrl}  (examples/express-app under --import otel-audit/register, service.name ${EXAMPLE_SERVICE_NAME})`);
      say(`               try: curl -X POST -H 'Content-Type: application/json' -d '{"name":"carol"}' ${exampleUrl}/users`);
    }
    say(`  OTLP in      http://${HOST}:${p.otlpGrpc} (gRPC), http://${HOST}:${p.otlpHttp} (HTTP): the collector; your own service needs only`);
    say('               node --import otel-audit/register app.js');
    say(`  Jaeger UI    ${jaegerUrl}`);
    say(`  viewer       ${viewerUrl}/#token=${token}`);
    say(`  query API    curl -H 'Authorization: Bearer ${token}' ${viewerUrl}/api/records`);
    say(`  sink health  http://${HOST}:${p.sinkMetrics}/readyz  (metrics: /metrics)`);
    say(`  database     ${embedded ? `embedded PGlite in ${shown(join(dataDir, 'pgdata'))} (kept; the sink serves it, above)` : 'the Postgres of --database-url'}`);
    say(`  logs         ${shown(logDir)}/{${children.map((c) => c.name).join(',')}}.log`);

    // Until Ctrl-C, or until one of them stops on its own.
    const stoppedOnItsOwn = await new Promise<Child | undefined>((resolveWait) => {
      if (signal.aborted) return resolveWait(undefined);
      signal.addEventListener('abort', () => resolveWait(undefined), { once: true });
      for (const c of children) void c.exited.then(() => resolveWait(c));
    });
    if (stoppedOnItsOwn && !signal.aborted) {
      status = fail(`${stoppedOnItsOwn.name} stopped (${await stoppedOnItsOwn.exited}); stopping the rest. Its last lines:\n${tail(stoppedOnItsOwn.output())}`);
    }
  } catch (err) {
    if (!signal.aborted) status = fail((err as Error).message);
  } finally {
    say('pipeline: stopping');
    // Senders before receivers, each given time to hand over what it holds.
    for (const c of [...children].reverse()) {
      await c.stop('SIGTERM', c.name === 'jaeger' ? 5_000 : 15_000);
      say(`  ${c.name.padEnd(10)} stopped (${await c.exited})`);
    }
    process.removeListener('exit', killAll);
  }
  return status;
}
