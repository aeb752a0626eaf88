import * as grpc from '@grpc/grpc-js';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../helpers/app-process.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

const dir = tempDir('tls');
const cert = join(dir.path, 'cert.pem');
const key = join(dir.path, 'key.pem');
let t: TestSink;

beforeAll(async () => {
  // A throwaway self-signed certificate for 127.0.0.1.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  t = await startTestSink('postgres', { tlsCert: cert, tlsKey: key });
});
afterAll(async () => {
  await t?.stop();
  dir.remove();
});

it('TLS on both listeners: the official gRPC exporter and an HTTPS client get through with the certificate', async () => {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
  provider.getLogger('x').emit({
    context: trace.setSpanContext(ROOT_CONTEXT, { traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), traceFlags: 1 }),
    eventName: 'audit',
    attributes: { 'audit.action': 'cert.rotate' },
  });
  const logs = memory.getFinishedLogRecords();
  const exporter = new OTLPLogExporter({ url: `https://127.0.0.1:${t.sink.grpcPort}`, credentials: grpc.credentials.createSsl(readFileSync(cert)) });
  const code = await new Promise<number>((resolve) => exporter.export(logs, (r) => resolve(r.code)));
  expect(code).toBe(0);
  await exporter.shutdown();

  const body = Buffer.from(ProtobufLogsSerializer.serializeRequest(logs) as Uint8Array);
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: t.sink.httpPort, path: '/v1/logs', method: 'POST', ca: readFileSync(cert), headers: { 'content-type': 'application/x-protobuf' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  expect(status).toBe(200);
  // Plaintext is refused by the TLS listener.
  await expect(fetch(`http://127.0.0.1:${t.sink.httpPort}/v1/logs`, { method: 'POST', body })).rejects.toThrow();
  const rows = await t.rows(`action = 'cert.rotate'`);
  expect(rows).toHaveLength(1);
});
