/**
 * `otel-audit sink --serve` on the embedded database: the sink's own process
 * serves the query API, so rows are readable while it ingests (no second
 * process may open PGlite), and the command that is kept out says how to
 * read them instead.
 */
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { startSink } from '../../src/sink/sink.js';
import { REPO, tempDir } from '../helpers/app-process.js';
import { waitFor } from '../helpers/processes.js';

const CLI = join(REPO, 'dist', 'cli.js');
const tmp = tempDir('sink-serve');
const dataDir = join(tmp.path, 'db');

let sink: ChildProcess;
let out = '';
let exited: Promise<number | string>;
let apiUrl: string;
let token: string;
let grpcUrl: string;

/** One audit log record of trace `traceId`, sent over OTLP/gRPC to the sink. */
async function sendRecord(traceId: string, seq: number): Promise<void> {
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: grpcUrl }) })] });
  provider.getLogger('test').emit({
    context: trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'cd'.repeat(8), traceFlags: 1 }),
    eventName: 'audit',
    attributes: { 'audit.action': 'user.delete', 'audit.resource.type': 'user', 'audit.resource.id': String(seq), 'audit.actor.id': 'root', 'audit.emitter.id': 'e-serve', 'audit.emitter.seq': seq },
  });
  await provider.forceFlush();
  await provider.shutdown();
}

/** The user.delete records the API lists (every read adds an audit.view record of its own). */
async function records(): Promise<{ trace_id: string; resource_id: string }[]> {
  const res = await fetch(`${apiUrl}/api/records?action=user.delete`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { records: { trace_id: string; resource_id: string }[] }).records;
}

/** `otel-audit <args>` to its end: exit status and stderr. */
function runCli(args: string[]): Promise<{ code: number; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, err })));
}

beforeAll(async () => {
  sink = spawn(
    process.execPath,
    [CLI, 'sink', '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0', '--data-dir', dataDir, '--serve', '--serve-port', '0', '--log-level', 'info'],
    // No DATABASE_URL or PG*: the embedded database.
    { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  sink.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  sink.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  exited = new Promise((resolve) => sink.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const m = await waitFor(
    async () => /query API and viewer at (http:\/\/[\d.:]+)\/#token=(\S+)/.exec(out) ?? undefined,
    90_000,
    () => `the sink did not serve the query API:\n${out}`,
  );
  apiUrl = m[1] as string;
  token = m[2] as string;
  const grpc = /"grpc":"([\d.]+:\d+)"/.exec(out);
  expect(grpc, out).not.toBeNull();
  grpcUrl = `http://${(grpc as RegExpExecArray)[1]}`;
}, 120_000);

afterAll(async () => {
  if (sink.exitCode === null && sink.signalCode === null) sink.kill('SIGKILL');
  tmp.remove();
});

describe('otel-audit sink --serve, embedded database', () => {
  it('rows are readable through the API while the sink ingests', async () => {
    const first = 'a1'.repeat(16);
    await sendRecord(first, 1);
    const one = await waitFor(async () => ((await records()).length === 1 ? records() : undefined), 20_000, () => out);
    expect(one).toMatchObject([{ trace_id: first, resource_id: '1' }]);
    const second = 'b2'.repeat(16);
    await sendRecord(second, 2);
    const two = await waitFor(async () => ((await records()).length === 2 ? records() : undefined), 20_000, () => out);
    expect(two.map((r) => r.trace_id).sort()).toEqual([first, second]);
  });

  it('export, kept out of the database, names the sink and its API', async () => {
    const r = await runCli(['export', '--data-dir', dataDir, '--from', '2020-01-01T00:00:00Z', '--to', '2100-01-01T00:00:00Z', '--format', 'jsonl', '--out', join(tmp.path, 'x.jsonl')]);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/in use by otel-audit sink --serve \(process \d+\)/);
    expect(r.err).toContain('it serves the query API and the viewer');
  });

  it('SIGINT stops the viewer and the sink and releases the database', async () => {
    sink.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(false);
  });
});

it('a sink without --serve holds the embedded database, and the refused opener is told about --serve', async () => {
  const dir = join(tmp.path, 'plain');
  const plain = await startSink({ grpcPort: 0, httpPort: 0, metricsPort: 0, dataDir: dir, env: {} }, pino({ level: 'silent' }));
  try {
    await expect(openDatabase({ dataDir: dir, env: {} })).rejects.toThrow(/in use by otel-audit sink \(process \d+, this process\).*start the sink with --serve/);
  } finally {
    await plain.close();
  }
}, 90_000);
