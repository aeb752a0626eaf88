/**
 * `otel-audit demo` as a newcomer runs it: the built CLI in a child process,
 * in an empty directory with its own HOME and TMPDIR, no database variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_STEPS } from '../../src/demo/script.js';
import { REPO } from '../helpers/app-process.js';
import { createTestDatabase } from '../helpers/pg.js';

const CLI = join(REPO, 'dist', 'cli.js');
const EXPECTED = DEMO_STEPS.flatMap((s) => (s.expect ? [s.expect] : []));

interface Run {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  exited: Promise<number | string>;
  /** The directories the run may write to: its cwd, HOME and TMPDIR. */
  home: string;
  tmp: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function runDemo(args: string[] = []): Run {
  const home = mkdtempSync(join(tmpdir(), 'otel-audit-demo-test-'));
  const tmp = join(home, 'tmp');
  mkdirSync(tmp);
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    cwd: home,
    env: { PATH: process.env['PATH'] ?? '', HOME: home, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  });
  return { child, output: () => ({ stdout, stderr }), exited, home, tmp };
}

/** Resolves (or fails the test) when the run's exit comes, within timeoutMs. */
async function finished(run: Run, timeoutMs = 60_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the demo did not finish by itself within ${timeoutMs} ms:\n${JSON.stringify(run.output(), null, 2)}`)), timeoutMs);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitForOutput(run: Run, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(run.output().stdout);
    if (m) return m;
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no ${pattern} in the output:\n${JSON.stringify(run.output(), null, 2)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The table lines between the header rule and the next blank line. */
function tableRows(stdout: string): string[] {
  const lines = stdout.split('\n');
  const header = lines.findIndex((l) => /^time \(UTC\)\s+service\s+actor\s+action\s+resource\s+outcome\s+status\s+trace id$/.test(l));
  expect(header, stdout).toBeGreaterThanOrEqual(0);
  expect(lines[header + 1]).toMatch(/^[- ]+$/);
  const end = lines.indexOf('', header + 2);
  return lines.slice(header + 2, end);
}

/** What the run started: the example service's pid and port, the sink's gRPC port. */
function started(stdout: string): { pid: number; servicePort: number; grpcPort: number } {
  const service = /pid (\d+), http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
  const sink = /OTLP\/gRPC on 127\.0\.0\.1:(\d+)/.exec(stdout);
  expect(service, stdout).not.toBeNull();
  expect(sink, stdout).not.toBeNull();
  return { pid: Number(service![1]), servicePort: Number(service![2]), grpcPort: Number(sink![1]) };
}

async function expectNothingLeft(run: Run, what: { pid: number; servicePort: number; grpcPort: number }): Promise<void> {
  expect(pidAlive(what.pid), `example service pid ${what.pid} still running`).toBe(false);
  expect(await portOpen(what.servicePort), 'example service port still open').toBe(false);
  expect(await portOpen(what.grpcPort), 'sink port still open').toBe(false);
  // Its temporary directory is gone and nothing was written where it ran.
  expect(readdirSync(run.tmp)).toEqual([]);
  expect(readdirSync(run.home)).toEqual(['tmp']);
}

describe('otel-audit demo', () => {
  it('runs the example service into the embedded database, prints the rows and where to look next, and leaves nothing running', async () => {
    const run = runDemo();
    const code = await finished(run);
    const { stdout, stderr } = run.output();
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stderr).toBe('');

    const rows = tableRows(stdout);
    expect(rows).toHaveLength(EXPECTED.length);
    for (const line of rows) {
      expect(line).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3}\s+demo-api\s/);
      expect(line).toMatch(/\s[0-9a-f]{32}$/);
      expect([...line].length).toBeLessThanOrEqual(120);
    }
    // One row per audited step, in order, with its action, outcome and status.
    EXPECTED.forEach((e, i) => {
      expect(rows[i]).toMatch(new RegExp(`\\s${e.action.replace('.', '\\.')}\\s.*\\s${e.outcome}\\s+${e.statusCode}\\s`));
    });
    expect(rows.join('\n')).not.toMatch(/healthz/);
    expect(stdout).toMatch(/200\s+GET\s+\/healthz/); // it was requested all the same
    expect(rows[0]).toMatch(/alice \(1\)\s+user\.create\s+user\/\d+\s/);
    expect(rows[4]).toMatch(/anonymous\s+session\.create\s+session\s+denied\s+401/);
    expect(rows[6]).toMatch(/bob \(2\)\s+reindex\.create\s+reindex\s+denied\s+403/);

    const next = stdout.slice(stdout.indexOf('Where to look next'));
    expect(stdout).toContain('Where to look next');
    const traceIds = rows.map((l) => l.slice(-32));
    // The SQL names a trace id that is in the table (the denied admin call).
    const sql = /SELECT [^\n]+\n\s+FROM audit\.records WHERE trace_id = '([0-9a-f]{32})';/.exec(next);
    expect(sql, next).not.toBeNull();
    expect(sql![1]).toBe(traceIds[6]);
    expect(next).toContain('collector-config/otelcol.yaml');
    expect(next).toContain('collector-config/README.md');
    expect(next).toMatch(/dashboards/);
    expect(next).toContain('npm start');

    await expectNothingLeft(run, started(stdout));
  });

  it('on Ctrl-C stops the example service, closes the sink, removes its directory and exits 130', async () => {
    const run = runDemo();
    await waitForOutput(run, /pid \d+, http:\/\/127\.0\.0\.1:\d+/);
    run.child.kill('SIGINT'); // to the demo only, as a terminal would also signal the service
    const code = await finished(run, 30_000);
    const { stdout, stderr } = run.output();
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted');
    expect(stdout).not.toContain('Where to look next');
    await expectNothingLeft(run, started(stdout));
  });

  it('--serve ends by serving the audit viewer on its rows until Ctrl-C, then leaves nothing running', async () => {
    const run = runDemo(['--serve']);
    const [, url, token] = await waitForOutput(run, /Audit viewer: open (http:\/\/127\.0\.0\.1:\d+)\/#token=(\S+)/, 60_000);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('viewer.js');
    const res = await fetch(`${url}/api/records?service_name=demo-api`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { records: { action: string }[] };
    expect(res.status).toBe(200);
    expect(body.records.map((r) => r.action).sort()).toEqual(EXPECTED.map((e) => e.action).sort());
    expect((await fetch(`${url}/api/records`)).status).toBe(401);
    run.child.kill('SIGINT');
    const code = await finished(run, 30_000);
    const { stdout, stderr } = run.output();
    expect(code, stderr).toBe(0);
    expect(stdout).not.toContain('demo --serve (npm run demo');
    await expectNothingLeft(run, started(stdout));
  });

  it('--database-url writes to that Postgres: the table is what the database holds', async () => {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const run = runDemo(['--database-url', db.url]);
    const code = await finished(run);
    const { stdout, stderr } = run.output();
    expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(0);
    expect(stdout).toContain(`postgres://postgres@127.0.0.1:5432/${db.name}`);
    const printed = tableRows(stdout).map((l) => l.slice(-32));

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ trace_id: string; action: string; outcome: string; service_name: string }>(
        'SELECT trace_id, action, outcome, service_name FROM audit.records ORDER BY occurred_at, id',
      );
      expect(rows.map((r) => r.trace_id)).toEqual(printed);
      expect(rows.map((r) => `${r.action} ${r.outcome}`)).toEqual(EXPECTED.map((e) => `${e.action} ${e.outcome}`));
      expect(new Set(rows.map((r) => r.service_name))).toEqual(new Set(['demo-api']));
    } finally {
      await client.end();
    }
    await expectNothingLeft(run, started(stdout));
  });

  it('--json prints the rows as JSON lines on stdout, the rest on stderr', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-demo-keep-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const run = runDemo(['--json', '--data-dir', dataDir]);
    const code = await finished(run);
    const { stdout, stderr } = run.output();
    expect(code, stderr).toBe(0);
    const rows = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r['action'])).toEqual(EXPECTED.map((e) => e.action));
    expect(rows[0]).toMatchObject({ service_name: 'demo-api', actor_id: '1', resource_type: 'user', outcome: 'success', status_code: 201 });
    expect(stderr).toContain('Where to look next');
    expect(stderr).toContain(`stay in ${dataDir}`);
    // The embedded database was kept where asked.
    expect(existsSync(dataDir) && readdirSync(dataDir).length > 0).toBe(true);
  });

  it('answers --help, and refuses unknown or conflicting options', async () => {
    const help = runDemo(['--help']);
    expect(await finished(help)).toBe(0);
    expect(help.output().stdout).toMatch(/^Usage: otel-audit demo/);
    expect(help.output().stdout).toContain('--database-url');

    const bad = runDemo(['--nope']);
    expect(await finished(bad)).toBe(2);
    expect(bad.output().stderr).toContain('unknown option --nope');

    const both = runDemo(['--data-dir', 'x', '--database-url', 'postgres://localhost/x']);
    expect(await finished(both)).toBe(2);
    expect(both.output().stderr).toContain('exclude each other');
  });
});
