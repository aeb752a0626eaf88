import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { decodeLogsRequest } from '../../src/otlp/protobuf-requests.js';
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { decodeLogsWire } from '../../src/otlp/wire-logs.js';


function anyValue(r: () => number, depth: number): Record<string, unknown> {
  const k = Math.floor(r() * (depth > 3 ? 5 : 8));
  switch (k) {
    case 0: return { stringValue: ['', 'a', 'ünïcödé', '__proto__', 'x'.repeat(50)][Math.floor(r() * 5)] };
    case 1: return { boolValue: r() < 0.5 };
    case 2: return { intValue: [0, 1, -1, 2 ** 53 + 3, -(2 ** 60), 123456789].map(String)[Math.floor(r() * 6)] };
    case 3: return { doubleValue: [0, 1.5, -2.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(r() * 6)] };
    case 4: return { bytesValue: Buffer.from([1, 2, 3, Math.floor(r() * 255)]) };
    case 5: return { arrayValue: { values: Array.from({ length: Math.floor(r() * 4) }, () => anyValue(r, depth + 1)) } };
    case 6: return { kvlistValue: { values: kvs(r, depth + 1, 3) } };
    default: return {};
  }
}

function kvs(r: () => number, depth: number, max: number): Record<string, unknown>[] {
  return Array.from({ length: Math.floor(r() * max) }, (_, i) => ({ key: r() < 0.1 ? '__proto__' : r() < 0.2 ? 'dup' : `k${i}`, value: anyValue(r, depth) }));
}

function randomRequest(r: () => number): Uint8Array {
  const id = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const records = (): Record<string, unknown>[] =>
    Array.from({ length: Math.floor(r() * 4) }, () => ({
      ...(r() < 0.8 ? { timeUnixNano: String(BigInt(Math.floor(r() * 2 ** 50)) * 1000n) } : {}),
      ...(r() < 0.5 ? { observedTimeUnixNano: '1700000000000000001' } : {}),
      ...(r() < 0.5 ? { severityNumber: Math.floor(r() * 24) } : {}),
      ...(r() < 0.3 ? { severityText: 'INFO' } : {}),
      ...(r() < 0.7 ? { body: anyValue(r, 0) } : {}),
      attributes: kvs(r, 0, 6),
      ...(r() < 0.2 ? { droppedAttributesCount: 3 } : {}),
      ...(r() < 0.5 ? { flags: 1 } : {}),
      ...(r() < 0.9 ? { traceId: id(r() < 0.9 ? 16 : 5) } : {}),
      ...(r() < 0.9 ? { spanId: id(8) } : {}),
      ...(r() < 0.7 ? { eventName: 'audit' } : {}),
    }));
  return encodeMessage(loadOtlpSchema().exportLogsServiceRequest, {
    resourceLogs: Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({
      ...(r() < 0.9 ? { resource: { attributes: kvs(r, 0, 4), droppedAttributesCount: 0 } } : {}),
      scopeLogs: Array.from({ length: Math.floor(r() * 3) }, () => ({
        ...(r() < 0.8 ? { scope: { name: 'otel-audit', version: r() < 0.5 ? '1.0' : '', attributes: kvs(r, 0, 2) } } : {}),
        logRecords: records(),
        schemaUrl: r() < 0.3 ? 'https://opentelemetry.io/schemas/1.30.0' : '',
      })),
    })),
  });
}

describe('decodeLogsWire', () => {
  it('decodes exactly like the schema path, over 2,000 generated requests', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const bytes = randomRequest(r);
      expect(decodeLogsWire(bytes)).toEqual(decodeLogsRequest(bytes));
    }
  });

  it('decodes what the official serializer writes exactly like the schema path', () => {
    const memory = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'svc', n: 3 }), processors: [new SimpleLogRecordProcessor({ exporter: memory })] });
    const logger = provider.getLogger('otel-audit', '0.1.0');
    for (let i = 0; i < 20; i++) {
      logger.emit({
        context: trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(31) + (i % 10), spanId: 'b'.repeat(16), traceFlags: 1 }),
        eventName: 'audit',
        body: { action: 'x.read', nested: { list: [1, 'two', true, null] } },
        attributes: { 'audit.action': 'x.read', 'audit.emitter.seq': i + 1, big: 2 ** 60, f: 1.5, ok: true },
      });
    }
    const bytes = ProtobufLogsSerializer.serializeRequest(memory.getFinishedLogRecords()) as Uint8Array;
    const fast = decodeLogsWire(bytes);
    expect(fast).toHaveLength(20);
    expect(fast).toEqual(decodeLogsRequest(bytes));
    // Records of one resource share one decoded resource.
    expect(fast[0]!.resource).toBe(fast[19]!.resource);
  });

  it('throws on truncated input and impossible wire types, and never pollutes prototypes', () => {
    const r = rng(11);
    let threw = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = randomRequest(r);
      if (bytes.length < 4) continue;
      const cut = bytes.subarray(0, Math.max(1, Math.floor(r() * (bytes.length - 1))));
      try {
        decodeLogsWire(cut);
      } catch {
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(100);
    expect(() => decodeLogsWire(Buffer.from([0x0f, 0x01]))).toThrow(/wire type/);
    const polluted = encodeMessage(loadOtlpSchema().exportLogsServiceRequest, {
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ attributes: [{ key: '__proto__', value: { kvlistValue: { values: [{ key: 'polluted', value: { boolValue: true } }] } } }] }] }] }],
    });
    const [rec] = decodeLogsWire(polluted);
    expect(Object.getPrototypeOf(rec!.attributes)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(rec!.attributes)).toEqual(['__proto__']);
  });
});
