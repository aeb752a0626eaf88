/**
 * `npm run pipeline` (scripts/pipeline.ts) as a newcomer runs it: one
 * command starts Jaeger, the sink with its query API, the collector and the
 * example service on the cached builds; a request to the service becomes a
 * row the sink's API shows and a trace Jaeger holds; SIGINT leaves no process
 * and no port behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTraceparent } from '../../src/demo/script.js';
import { REPO, tempDir } from '../helpers/app-process.js';
import { freePorts, waitFor } from '../helpers/processes.js';
import { BUILD_TIMEOUT_MS, collectorBinaries } from './harness.js';

const SCRIPT = join(REPO, 'scripts', 'pipeline.ts');
const PORT_FLAGS = [
  'otlp-grpc-port',
  'otlp-http-port',
  'sink-grpc-port',
  'sink-http-port',
  'sink-metrics-port',
  'viewer-port',
  'jaeger-ui-port',
  'jaeger-grpc-port',
  'jaeger-otlp-port',
  'collector-metrics-port',
  'example-port',
] as const;
type PortFlag = (typeof PORT_FLAGS)[number];

const tmp = tempDir('local-pipeline');

/** The environment a shell would give: no OTEL_*, no database variables; the build cache where the tests find it. */
function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };
  for (const name of ['OTEL_AUDIT_CACHE_DIR', 'XDG_CACHE_HOME', 'GO']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...extra };
}

interface Run {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | string>;
}

function runPipeline(args: string[], env = shellEnv()): Run {
  const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: tmp.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, out: () => out, err: () => err, exited };
}

async function portArgs(): Promise<{ ports: Record<PortFlag, number>; args: string[] }> {
  const free = await freePorts(PORT_FLAGS.length);
  const ports = Object.fromEntries(PORT_FLAGS.map((f, i) => [f, free[i] as number])) as Record<PortFlag, number>;
  return { ports, args: PORT_FLAGS.flatMap((f) => [`--${f}`, String(ports[f])]) };
}

/** Process ids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

afterAll(() => tmp.remove());

describe('npm run pipeline: refusals before anything starts', () => {
  it('-h prints the usage', async () => {
    const run = runPipeline(['-h']);
    expect(await run.exited).toBe(0);
    expect(run.out()).toMatch(/^Usage: npm run pipeline/);
    expect(run.out()).toContain('--otlp-grpc-port N');
  });

  it('a busy port is one line naming the port and its flag', async () => {
    const { ports, args } = await portArgs();
    const taken = await listen(ports['otlp-grpc-port']);
    try {
      const run = runPipeline([...args, '--data-dir', join(tmp.path, 'busy')]);
      expect(await run.exited).toBe(1);
      expect(run.err()).toBe(
        `pipeline: port ${ports['otlp-grpc-port']} (collector OTLP/gRPC) is in use on 127.0.0.1; stop what listens there or choose another port with --otlp-grpc-port N\n`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('without cached collector and Jaeger builds it gives the command that builds them', async () => {
    const { args } = await portArgs();
    const run = runPipeline([...args, '--data-dir', join(tmp.path, 'unbuilt')], shellEnv({ OTEL_AUDIT_CACHE_DIR: join(tmp.path, 'empty-cache') }));
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/^pipeline: not built yet: the OpenTelemetry Collector \(.*\) and Jaeger \(.*\); run "npm run collector:build" once/);
    expect(run.err().trim().split('\n')).toHaveLength(1);
  });
});

describe('npm run pipeline: service → collector → Jaeger + sink (embedded database, --serve)', () => {
  let run: Run;
  let ports: Record<PortFlag, number>;
  let token: string;
  let children: number[];

  beforeAll(async () => {
    // The builds this command runs on; the same policy as the other end-to-end tests.
    collectorBinaries();
    const chosen = await portArgs();
    ports = chosen.ports;
    run = runPipeline([...chosen.args, '--data-dir', join(tmp.path, 'state')]);
    await waitFor(
      async () => (run.out().includes('pipeline: running') ? true : run.child.exitCode !== null ? false : undefined),
      240_000,
      () => `the pipeline did not come up:\n${run.out()}\n${run.err()}`,
    );
    expect(run.out(), run.err()).toContain('pipeline: running');
    token = (/viewer +http:\/\/127\.0\.0\.1:\d+\/#token=(\S+)/.exec(run.out()) ?? [])[1] ?? '';
    expect(token, run.out()).not.toBe('');
    children = childrenOf(run.child.pid as number);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (run?.child.exitCode === null) {
      run.child.kill('SIGKILL');
      for (const pid of childrenOf(run.child.pid as number)) process.kill(pid, 'SIGKILL');
    }
  });

  it('prints the URLs: service, Jaeger UI, viewer, sink health', () => {
    const out = run.out();
    expect(out).toContain(`service      http://127.0.0.1:${ports['example-port']}`);
    expect(out).toContain(`Jaeger UI    http://127.0.0.1:${ports['jaeger-ui-port']}`);
    expect(out).toContain(`viewer       http://127.0.0.1:${ports['viewer-port']}/#token=`);
    expect(out).toContain(`sink health  http://127.0.0.1:${ports['sink-metrics-port']}/readyz`);
    // Jaeger, the sink, the collector and the example service.
    expect(children).toHaveLength(4);
  });

  it("a request to the example service is a row in the sink's API and a trace in Jaeger", async () => {
    const { traceId, traceparent } = newTraceparent();
    const res = await fetch(`http://127.0.0.1:${ports['example-port']}/users`, {
      method: 'POST',
      headers: { traceparent, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'carol' }),
    });
    expect(res.status).toBe(201);
    const api = `http://127.0.0.1:${ports['viewer-port']}/api/records?trace_id=${traceId}`;
    const rows = await waitFor(
      async () => {
        const r = await fetch(api, { headers: { Authorization: `Bearer ${token}` } });
        const body = (await r.json()) as { records?: Record<string, unknown>[] };
        return body.records && body.records.length > 0 ? body.records : undefined;
      },
      60_000,
      () => `no row of trace ${traceId} in the sink's API:\n${run.out()}`,
    );
    expect(rows).toMatchObject([{ trace_id: traceId, action: 'user.create', resource_type: 'user', outcome: 'success', service_name: 'example-service' }]);
    const spans = await waitFor(
      async () => {
        const r = await fetch(`http://127.0.0.1:${ports['jaeger-ui-port']}/api/traces/${traceId}`);
        if (r.status === 404) return void (await r.arrayBuffer());
        const body = (await r.json()) as { data?: { processes: Record<string, { serviceName: string }> }[] };
        const services = (body.data ?? []).flatMap((t) => Object.values(t.processes).map((p) => p.serviceName));
        return services.length > 0 ? services : undefined;
      },
      60_000,
      () => `Jaeger holds no trace ${traceId}`,
    );
    expect(spans).toContain('example-service');
  });

  it('SIGINT stops every process it started and frees every port', async () => {
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.out()).toContain('pipeline: stopping');
    for (const pid of children) expect(alive(pid), `process ${pid}`).toBe(false);
    for (const port of Object.values(ports)) {
      const server = await listen(port);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
