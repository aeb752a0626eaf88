import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/processes.js';

// The register hook arrives through NODE_OPTIONS in containers and CI, so it
// also runs in every `node -e` health check, `node -p`, script on stdin,
// worker thread and child process. It must never stop them from running.

interface Run {
  code: number | null;
  out: string;
}

function run(loader: '--require' | '--import', args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        NODE_OPTIONS: `${loader} otel-audit/register`,
        OTEL_AUDIT_EXPORTER: 'console',
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(stdin ?? '');
  });
}

let health: Server;
let healthUrl = '';

beforeAll(async () => {
  health = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
});

afterAll(async () => {
  await new Promise((resolve) => health.close(resolve));
});

describe.each(['--require', '--import'] as const)('NODE_OPTIONS="%s otel-audit/register"', (loader) => {
  it('runs `node -e` (a container health check)', async () => {
    const script = `require('http').get(${JSON.stringify(healthUrl)}, (r) => { console.log('status', r.statusCode); process.exit(r.statusCode === 200 ? 0 : 1); })`;
    const { code, out } = await run(loader, ['-e', script]);
    expect(out).toContain('status 200');
    expect(code, out).toBe(0);
  });

  it('runs `node -p`', async () => {
    const { code, out } = await run(loader, ['-p', "require('module').builtinModules.includes('http') && 'printed'"]);
    expect(out).toContain('printed');
    expect(code, out).toBe(0);
  });

  it('runs a script read from stdin', async () => {
    const { code, out } = await run(loader, [], "const { createHash } = require('crypto'); console.log('stdin', createHash('sha256').update('x').digest('hex').length);");
    expect(out).toContain('stdin 64');
    expect(code, out).toBe(0);
  });

  it('runs a worker thread given source', async () => {
    const script = `const { Worker } = require('worker_threads');
      new Worker("require('http'); require('node:fs'); console.log('worker ran')", { eval: true }).on('exit', (c) => process.exit(c));`;
    const { code, out } = await run(loader, ['-e', script]);
    expect(out).toContain('worker ran');
    expect(code, out).toBe(0);
  });

  it('runs child processes that inherit NODE_OPTIONS', async () => {
    const script = `const { execFileSync } = require('child_process');
      const got = execFileSync(process.execPath, ['-e', "console.log(require('os').EOL.length + ' child ran')"], { encoding: 'utf8' });
      console.log(got.trim());`;
    const { code, out } = await run(loader, ['-e', script]);
    expect(out).toContain('1 child ran');
    expect(code, out).toBe(0);
  });
});
