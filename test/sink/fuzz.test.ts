import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema, OTLP_LOGS_EXPORT_PATH } from '../../src/otlp/schema-loader.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink;
beforeAll(async () => {
  t = await startTestSink('postgres', { maxMessageBytes: 1024 * 1024, maxValueBytes: 4096 });
});
afterAll(async () => {
  await t?.stop();
});


const SQL = `x.read'); DROP TABLE audit.records; --`;
type Attr = { key: string; value: Record<string, unknown> };
const s = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });

function request(records: Record<string, unknown>[]): Uint8Array {
  return encodeMessage(loadOtlpSchema().exportLogsServiceRequest, {
    resourceLogs: [{ resource: { attributes: [s('service.name', 'fuzz')] }, scopeLogs: [{ scope: { name: 'otel-audit' }, logRecords: records }] }],
  });
}

function record(r: () => number, attrs: Attr[], over: Record<string, unknown> = {}): Record<string, unknown> {
  const id = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  return { timeUnixNano: '1763727600000000000', eventName: 'audit', traceId: id(16), spanId: id(8), attributes: attrs, ...over };
}

function deep(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { stringValue: 'bottom' };
  for (let i = 0; i < depth; i++) v = { kvlistValue: { values: [{ key: 'k', value: v }] } };
  return v;
}

/** One hostile payload: [bytes, content-type]. */
function payload(r: () => number, i: number): { body: Buffer; type: string; kind: string } {
  const valid = (): Uint8Array => request([record(r, [s('audit.action', 'doc.read'), s('audit.resource.id', String(i))])]);
  switch (i % 12) {
    case 0:
      return { kind: 'random', type: 'application/x-protobuf', body: Buffer.from(Array.from({ length: Math.floor(r() * 512) + 1 }, () => Math.floor(r() * 256))) };
    case 1: {
      const b = valid();
      return { kind: 'truncated', type: 'application/x-protobuf', body: Buffer.from(b.subarray(0, Math.max(1, Math.floor(r() * (b.length - 1))))) };
    }
    case 2: {
      const b = Buffer.from(valid());
      for (let k = 0; k < 3; k++) { const at = Math.floor(r() * b.length); b[at] = (b[at] ?? 0) ^ (1 << Math.floor(r() * 8)); }
      return { kind: 'bitflip', type: 'application/x-protobuf', body: b };
    }
    case 3:
      return { kind: 'huge-string', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', 'doc.read'), s('audit.request', 'x'.repeat(5000 + Math.floor(r() * 50_000)))])])) };
    case 4:
      return { kind: 'nul', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', 'doc.read'), s('audit.resource.id', `a\u0000b${i}`)])])) };
    case 5: {
      const marker = `ZZZZ${String(i).padStart(6, '0')}`;
      const b = Buffer.from(request([record(r, [s('audit.action', 'doc.read'), s('audit.actor.id', marker)])]));
      const at = b.indexOf(marker);
      b[at] = 0xff;
      b[at + 1] = 0xfe;
      return { kind: 'bad-utf8', type: 'application/x-protobuf', body: b };
    }
    case 6:
      return { kind: 'sql', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', SQL), s('audit.resource.id', `'; SELECT pg_sleep(10); -- ${i}`)])])) };
    case 7:
      return { kind: 'deep', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', 'doc.read'), { key: 'audit.meta.deep', value: deep(5 + Math.floor(r() * 24)) }])])) };
    case 8:
      return {
        kind: 'wrong-types',
        type: 'application/x-protobuf',
        body: Buffer.from(request([record(r, [{ key: 'audit.action', value: { intValue: 7 } }, { key: 'audit.actor.id', value: { kvlistValue: { values: [] } } }])])),
      };
    case 9:
      return { kind: 'bad-ids', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', 'doc.read')], { traceId: Buffer.alloc(r() < 0.5 ? 0 : 5, 1) })])) };
    case 10:
      return { kind: 'bad-outcome', type: 'application/x-protobuf', body: Buffer.from(request([record(r, [s('audit.action', 'doc.read'), s('audit.outcome', 'maybe')])])) };
    default: {
      const variants = ['{', '[]', 'null', '{"resourceLogs":"x"}', '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz","eventName":"audit"}]}]}]}', JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ eventName: 'audit', traceId: '0'.repeat(31) + '1', spanId: '0'.repeat(15) + '1', attributes: [{ key: 'audit.action', value: { stringValue: '\u0000' } }] }] }] }] }), '\u0000\u0001', '{"a":'.repeat(2000)];
      return { kind: 'json', type: 'application/json', body: Buffer.from(variants[Math.floor(r() * variants.length)] as string) };
    }
  }
}

it('a few thousand malformed or hostile payloads: no crash, every one answered, rejected input stored, hostile values stored sanitised', async () => {
  const r = rng(20261121);
  const N = 3000;
  const statuses = new Map<number, number>();
  let partialRejected = 0;
  let invalid = 0;
  const kinds = new Map<string, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < N) {
      const i = next++;
      const p = payload(r, i);
      kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
      const res = await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': p.type }, body: p.body });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 400) invalid++;
      else if (res.status === 200 && p.type === 'application/x-protobuf') {
        const resp = loadOtlpSchema().exportLogsServiceResponse.decode(Buffer.from(await res.arrayBuffer())) as unknown as { partialSuccess?: { rejectedLogRecords?: number | { toNumber(): number } } };
        const n = resp.partialSuccess?.rejectedLogRecords;
        partialRejected += typeof n === 'number' ? n : n ? n.toNumber() : 0;
      } else if (res.status === 200) {
        const body = (await res.json()) as { partialSuccess?: { rejectedLogRecords?: string } };
        partialRejected += Number(body.partialSuccess?.rejectedLogRecords ?? 0);
      } else {
        await res.arrayBuffer();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));

  // Every payload got an answer, and only the expected ones.
  const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
  expect(answered).toBe(N);
  expect([...statuses.keys()].filter((c) => c !== 200 && c !== 400)).toEqual([]);
  expect(invalid).toBeGreaterThan(200);
  expect(partialRejected).toBeGreaterThan(500);

  // Nothing lost: every refusal is in audit.rejected.
  const rejected = await t.sink.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit.rejected WHERE reason NOT LIKE 'sanitized: %'");
  expect(Number(rejected.rows[0]!.n)).toBe(invalid + partialRejected);
  const raw = await t.sink.db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit.rejected WHERE raw IS NULL OR length(raw) = 0');
  expect(raw.rows[0]!.n).toBe('0');

  // Hostile values (NUL, oversize) landed as records, flagged, each with its raw input kept.
  const flagged = await t.sink.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit.records WHERE attributes ? 'audit.sanitized'");
  const kept = await t.sink.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit.rejected WHERE reason LIKE 'sanitized: %'");
  expect(Number(flagged.rows[0]!.n)).toBeGreaterThanOrEqual((kinds.get('huge-string') ?? 0) + (kinds.get('nul') ?? 0));
  expect(Number(kept.rows[0]!.n)).toBe(Number(flagged.rows[0]!.n));

  // SQL text is data: stored verbatim, and the table is still there.
  const sql = await t.sink.db.query<{ action: string; n: string }>('SELECT action, count(*)::text AS n FROM audit.records WHERE action = $1 GROUP BY action', [SQL]);
  expect(sql.rows[0]?.action).toBe(SQL);
  expect(Number(sql.rows[0]?.n)).toBe(kinds.get('sql'));

  // Still serving, over both transports.
  expect((await fetch(`http://127.0.0.1:${t.sink.metricsPort}/healthz`)).status).toBe(200);
  const Client = grpc.makeGenericClientConstructor({ Export: { path: OTLP_LOGS_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } }, 'Logs');
  const client = new Client(`127.0.0.1:${t.sink.grpcPort}`, grpc.credentials.createInsecure()) as unknown as { Export(b: Buffer, cb: (e: grpc.ServiceError | null) => void): void; close(): void };
  const err = await new Promise<grpc.ServiceError | null>((resolve) => client.Export(Buffer.from([0xff, 0xff, 0xff]), resolve));
  expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
  const ok = await new Promise<grpc.ServiceError | null>((resolve) => client.Export(Buffer.from(request([record(r, [s('audit.action', 'doc.read')])])), resolve));
  expect(ok).toBeNull();
  client.close();
});
