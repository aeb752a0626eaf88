import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { rng } from '../helpers/rng.js';
import { randomLogsRequest as randomRequest } from '../helpers/otlp-random.js';
import { decodeLogsRequest } from '../../src/otlp/protobuf-requests.js';
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';
import { decodeLogsWire } from '../../src/otlp/wire-logs.js';


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
