import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_FLAGS } from '../../src/cli/sink.js';
import { REPO } from '../helpers/app-process.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres', { token: 's3cret', maxMessageBytes: 64 * 1024 });
});
afterAll(async () => {
  await t?.stop();
});

function batch(n: number, pad = 0): ReadableLogRecord[] {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  for (let i = 0; i < n; i++) {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, { traceId: (i + 1).toString(16).padStart(32, '7'), spanId: '1'.repeat(16), traceFlags: 1 });
    provider.getLogger('a').emit({ context: ctx, eventName: 'audit', attributes: { 'audit.action': 'key.rotate', 'audit.meta.pad': 'p'.repeat(pad) } });
  }
  return memory.getFinishedLogRecords();
}

const exportCode = (e: OTLPLogExporter, b: ReadableLogRecord[]): Promise<number | undefined> =>
  new Promise((resolve) => e.export(b, (r) => resolve(r.code === 0 ? 0 : (r.error as { code?: number } | undefined)?.code)));

describe('sink server', () => {
  it('bearer token: without it UNAUTHENTICATED / 401; with it accepted', async () => {
    const anonymous = new OTLPLogExporter({ url: t.grpcEndpoint });
    expect(await exportCode(anonymous, batch(1))).toBe(grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer s3cret');
    const authed = new OTLPLogExporter({ url: t.grpcEndpoint, metadata: md });
    expect(await exportCode(authed, batch(2))).toBe(0);
    const body = Buffer.from(ProtobufLogsSerializer.serializeRequest(batch(1)) as Uint8Array);
    const no = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
    expect(no.status).toBe(401);
    const yes = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer s3cret' }, body });
    expect(yes.status).toBe(200);
    await anonymous.shutdown();
    await authed.shutdown();
  });

  it('oversize: RESOURCE_EXHAUSTED over gRPC, 413 over HTTP (also after gzip)', async () => {
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer s3cret');
    const e = new OTLPLogExporter({ url: t.grpcEndpoint, metadata: md });
    expect(await exportCode(e, batch(3, 40_000))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const big = Buffer.from(ProtobufLogsSerializer.serializeRequest(batch(3, 40_000)) as Uint8Array);
    const headers = { 'content-type': 'application/x-protobuf', authorization: 'Bearer s3cret' };
    expect((await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers, body: big })).status).toBe(413);
    const bomb = gzipSync(big);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: bomb })).status).toBe(413);
    // gzip within the limit is accepted.
    const small = gzipSync(Buffer.from(ProtobufLogsSerializer.serializeRequest(batch(2)) as Uint8Array));
    expect((await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { ...headers, 'content-encoding': 'gzip' }, body: small })).status).toBe(200);
    await e.shutdown();
  });

  it('oversize bodies without a length (chunked, or growing past the limit while decompressing) get their 413, and are counted', async () => {
    const before = await t.metric('otel_audit_sink_oversize_requests_total');
    const post = (chunks: Buffer[], headers: Record<string, string> = {}): Promise<string> =>
      new Promise((resolve) => {
        const req = request(
          { host: '127.0.0.1', port: t.sink.httpPort, path: '/v1/logs', method: 'POST', headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer s3cret', ...headers } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(`status ${res.statusCode}`));
          },
        );
        req.on('error', (e) => resolve(`error ${e.message}`));
        let i = 0;
        const next = (): void => {
          if (i >= chunks.length) return void req.end();
          req.write(chunks[i++], () => setImmediate(next));
        };
        next();
      });
    // No content-length: the limit is found while reading.
    expect(await post(Array.from({ length: 32 }, () => Buffer.alloc(16 * 1024, 1)))).toBe('status 413');
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(await post([bomb.subarray(0, 1000), bomb.subarray(1000)], { 'content-encoding': 'gzip' })).toBe('status 413');
    expect((await t.metric('otel_audit_sink_oversize_requests_total')) - before).toBe(2);
  });

  it('a body that does not decompress: 400, and kept verbatim in audit.rejected', async () => {
    const garbage = Buffer.from('1f8b08000000000000ffdeadbeef', 'hex');
    const res = await fetch(`${t.httpEndpoint}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip', authorization: 'Bearer s3cret' },
      body: garbage,
    });
    expect(res.status).toBe(400);
    const rows = (await t.rejected()).filter((r) => String(r['reason']).includes('cannot decompress'));
    expect(rows).toHaveLength(1);
    expect(Buffer.compare(rows[0]!['raw'] as Buffer, garbage)).toBe(0);
    const br = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'br', authorization: 'Bearer s3cret' }, body: garbage });
    expect(br.status).toBe(415);
  });

  it('wrong path, method or content type get clear errors', async () => {
    const h = { authorization: 'Bearer s3cret' };
    expect((await fetch(`${t.httpEndpoint}/v1/metrics`, { method: 'POST', headers: h })).status).toBe(404);
    expect((await fetch(`${t.httpEndpoint}/v1/logs`, { headers: h })).status).toBe(405);
    const r = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { ...h, 'content-type': 'text/plain' }, body: 'hi' });
    expect(r.status).toBe(415);
  });

  it('metrics, health and readiness endpoints', async () => {
    const text = await (await fetch(t.metricsUrl)).text();
    for (const name of ['otel_audit_sink_records_received_total', 'otel_audit_sink_records_written_total', 'otel_audit_sink_records_duplicate_total', 'otel_audit_sink_conflicts_total', 'otel_audit_sink_records_rejected_total', 'otel_audit_sink_non_audit_ignored_total', 'otel_audit_sink_batch_rows_bucket', 'otel_audit_sink_batch_seconds_bucket', 'otel_audit_sink_queue_depth', 'otel_audit_sink_open_sequence_gaps']) {
      expect(text).toContain(name);
    }
    expect(await t.metric('otel_audit_sink_records_written_total')).toBeGreaterThanOrEqual(3);
    expect((await fetch(`http://127.0.0.1:${t.sink.metricsPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${t.sink.metricsPort}/readyz`)).status).toBe(200);
  });
});

describe('otel-audit sink --help', () => {
  it('documents every flag and its OTEL_AUDIT_SINK_* variable', () => {
    const out = spawnSync(process.execPath, ['dist/cli.js', 'sink', '--help'], { cwd: REPO, encoding: 'utf8' });
    expect(out.status).toBe(0);
    for (const f of SINK_FLAGS) {
      expect(out.stdout).toContain(`--${f.flag}`);
      for (const v of f.env ?? []) expect(out.stdout).toContain(v);
    }
    expect(out.stdout).toContain('OTEL_AUDIT_SINK_GRPC_PORT');
    const top = spawnSync(process.execPath, ['dist/cli.js', '--help'], { cwd: REPO, encoding: 'utf8' });
    expect(top.stdout).toContain('sink');
    expect(top.stdout).toContain('migrate');
    const bad = spawnSync(process.execPath, ['dist/cli.js', 'sink', '--grpc-port', 'nope'], { cwd: REPO, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--grpc-port needs a non-negative number');
  });
});
