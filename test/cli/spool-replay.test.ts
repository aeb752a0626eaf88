/**
 * `otel-audit spool replay` on the spool a killed service left behind, sent
 * to a real sink over Postgres.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, request, REPO, startApp, tempDir } from '../helpers/app-process.js';
import { freePort } from '../helpers/processes.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

const REQUESTS = 30;

/** Run the built CLI; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'dist', 'cli.js'), ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } }, (error, out, err) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, out, err });
    });
  });
}

/** Record lines in a spool directory's segments (acknowledged ones included). */
function spooledLines(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir)) if (f.endsWith('.jsonl')) n += readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).length;
  return n;
}

let sink: TestSink;
const spool = tempDir('replay');
let emitter = '';

beforeAll(async () => {
  sink = await startTestSink('postgres');
  // A service whose receiver is unreachable spools everything; then it is killed.
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  const app = await startApp('express-app.mjs', { env: { ...baseEnv(nowhere, spool.path), OTEL_TRACES_EXPORTER: 'none' } });
  for (let i = 0; i < REQUESTS; i++) expect((await request(app.url, 'GET', `/users/${i}`)).status).toBe(200);
  const deadline = Date.now() + 20_000;
  while (spooledLines(spool.path) < REQUESTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(spooledLines(spool.path)).toBe(REQUESTS);
  await app.stop('SIGKILL');
  emitter = /"audit\.emitter\.id":"([0-9a-f]+)"/.exec(readFileSync(join(spool.path, readdirSync(spool.path).find((f) => f.endsWith('.jsonl')) as string), 'utf8'))?.[1] ?? '';
}, 60_000);

afterAll(async () => {
  await sink?.stop();
  spool.remove();
});

describe('otel-audit spool replay', () => {
  it('-h prints the usage', async () => {
    const r = await cli(['spool', 'replay', '-h']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: otel-audit spool replay \[options\]/);
    expect(r.out).toContain('--dir');
    expect(r.out).toContain('--endpoint');
  });

  it('refuses a spool directory a running service uses, and sends nothing', async () => {
    const live = tempDir('replay-live');
    try {
      const app = await startApp('express-app.mjs', { env: { ...baseEnv(sink.grpcEndpoint, live.path), OTEL_TRACES_EXPORTER: 'none' } });
      try {
        const r = await cli(['spool', 'replay', '--dir', live.path, '--endpoint', sink.grpcEndpoint]);
        expect(r.code).toBe(1);
        expect(r.err).toBe(
          `otel-audit spool replay: the spool directory ${live.path} is in use by process ${app.child.pid}; ` +
            'that process sends its records itself (stop it first to replay them here)\n',
        );
      } finally {
        await app.stop();
      }
    } finally {
      live.remove();
    }
  });

  it('sends the spool of a killed service once: every record stored, a second run adds nothing', async () => {
    expect(emitter).not.toBe('');
    // The endpoint as the SDK takes it, from the environment.
    const first = await cli(['spool', 'replay', '--dir', spool.path], { OTEL_EXPORTER_OTLP_ENDPOINT: sink.grpcEndpoint });
    expect(first, first.err).toMatchObject({ code: 0, err: '' });
    expect(first.out).toBe(`sent ${REQUESTS} audit records from ${spool.path} to ${sink.grpcEndpoint}; 0 left in the spool\n`);
    const rows = await sink.rows(`emitter_id = '${emitter}'`);
    expect(rows.map((r) => Number(r['emitter_seq']))).toEqual(Array.from({ length: REQUESTS }, (_, i) => i + 1));
    // Acknowledged records left the spool.
    expect(readdirSync(spool.path).filter((f) => f.endsWith('.jsonl'))).toEqual([]);

    const second = await cli(['spool', 'replay', '--dir', spool.path, '--endpoint', sink.grpcEndpoint]);
    expect(second.code).toBe(0);
    expect(second.out).toBe(`sent 0 audit records from ${spool.path} to ${sink.grpcEndpoint}; 0 left in the spool\n`);
    expect(await sink.rows(`emitter_id = '${emitter}'`)).toHaveLength(REQUESTS);
  });

  it('receiver unreachable: nothing leaves the spool, exit status 1, one line on stderr', async () => {
    const dir = tempDir('replay-down');
    try {
      const nowhere = `http://127.0.0.1:${await freePort()}`;
      const app = await startApp('express-app.mjs', { env: { ...baseEnv(nowhere, dir.path), OTEL_TRACES_EXPORTER: 'none' } });
      expect((await request(app.url, 'GET', '/users/1')).status).toBe(200);
      const deadline = Date.now() + 20_000;
      while (spooledLines(dir.path) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await app.stop('SIGKILL');
      const r = await cli(['spool', 'replay', '--dir', dir.path, '--endpoint', nowhere, '--timeout-ms', '2000']);
      expect(r.code).toBe(1);
      expect(r.out).toBe(`sent 0 audit records from ${dir.path} to ${nowhere}; 1 left in the spool\n`);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(spooledLines(dir.path)).toBe(1);
    } finally {
      dir.remove();
    }
  });
});
