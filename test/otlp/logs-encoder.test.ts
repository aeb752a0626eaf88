import type { AnyValue, Attributes } from '@opentelemetry/api';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { describe, expect, it } from 'vitest';
import { LogsEncoder, type EncodableLogRecord, type LogsEncoderOptions } from '../../src/otlp/logs-encoder.js';
import { decodeLogsWire } from '../../src/otlp/wire-logs.js';
import { rng } from '../helpers/rng.js';

const OPTIONS: LogsEncoderOptions = { scopeName: 'otel-audit', scopeVersion: '0.1.0', eventName: 'audit', severityNumber: 9, severityText: 'INFO' };

function hrTime(ns: string): [number, number] {
  const n = BigInt(ns);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/** The same records through the official serializer: one Resource object per distinct resource, as the SDK's would be. */
function official(records: readonly EncodableLogRecord[], options = OPTIONS): Uint8Array {
  const resources = new Map<string, Resource>();
  const scope = { name: options.scopeName, version: options.scopeVersion };
  const logs: ReadableLogRecord[] = records.map((r) => {
    const key = JSON.stringify(r.resource);
    let resource = resources.get(key);
    if (!resource) {
      resource = resourceFromAttributes(r.resource as Attributes);
      resources.set(key, resource);
    }
    return {
      hrTime: hrTime(r.timeUnixNano),
      hrTimeObserved: hrTime(r.observedTimeUnixNano),
      spanContext: { traceId: r.traceId, spanId: r.spanId, traceFlags: r.traceFlags },
      severityNumber: options.severityNumber,
      severityText: options.severityText,
      eventName: options.eventName,
      resource,
      instrumentationScope: scope,
      attributes: r.attributes as Attributes,
      droppedAttributesCount: 0,
    };
  });
  const bytes = ProtobufLogsSerializer.serializeRequest(logs);
  if (!bytes) throw new Error('the official serializer wrote nothing');
  return bytes;
}

const RESOURCE = { 'service.name': 'orders', 'service.version': '1.2.3', 'process.pid': 4242 };

function record(attributes: Record<string, unknown>, over: Partial<EncodableLogRecord> = {}): EncodableLogRecord {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
    timeUnixNano: '1700000000123456789',
    observedTimeUnixNano: '1700000000987654321',
    attributes,
    resource: RESOURCE,
    ...over,
  };
}

/** Every AnyValue kind, nested, unicode and empty values. */
const SHAPES: Record<string, Record<string, unknown>> = {
  'an audit record': {
    'audit.action': 'user.update', 'audit.outcome': 'success', 'audit.actor.id': 'u-1', 'audit.actor.type': 'user',
    'http.response.status_code': 200, 'audit.duration_ms': 12.5, 'audit.emitter.seq': 7, 'audit.incomplete': true,
    'audit.request': JSON.stringify({ name: 'x'.repeat(300) }),
  },
  'strings: empty, unicode, long': { empty: '', unicode: 'ünïcödé ✓ 日本語 😀', long: 'é'.repeat(5000), short: 'x'.repeat(42), edge: 'x'.repeat(43), wide42: '✓'.repeat(42), wide43: '✓'.repeat(43) },
  'numbers: ints, negatives, large, doubles': {
    zero: 0, one: 1, big32: 2 ** 32 + 5, safe: Number.MAX_SAFE_INTEGER, unsafe: 2 ** 60, neg: -1, negBig: -(2 ** 40), min: -(2 ** 63),
    tooBig: 2 ** 63, half: 0.5, negHalf: -2.25, huge: 1e300, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, negZero: -0,
  },
  'booleans and null': { yes: true, no: false, nothing: null },
  'bytes': { bytes: new Uint8Array([0, 1, 2, 255]), empty: new Uint8Array(0) },
  'arrays and maps, nested': {
    list: ['a', 1, true, 2.5, null, [1, [2, [3]]], { k: 'v' }],
    emptyList: [],
    map: { a: { b: { c: ['deep', { d: 'ünï' }] } }, n: 3 },
    emptyMap: {},
  },
  'no attributes': {},
};

describe('LogsEncoder', () => {
  for (const [name, attributes] of Object.entries(SHAPES)) {
    it(`writes the same bytes as the official serializer: ${name}`, () => {
      const records = [record(attributes), record(attributes, { traceFlags: 0, spanId: '', traceId: '' })];
      const { bytes, count, unencodable } = new LogsEncoder(OPTIONS).encode(records);
      expect({ count, unencodable }).toEqual({ count: 2, unencodable: 0 });
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(official(records)).toString('hex'));
    });
  }

  it('writes the same bytes with several resources, spooled copies and options left out', () => {
    const options: LogsEncoderOptions = { scopeName: 's', scopeVersion: '', eventName: '', severityNumber: 0, severityText: '' };
    const other = { 'service.name': 'billing' };
    const records = [
      record({ a: 1 }),
      record({ a: 2 }, { resource: other }),
      // A copy read back from the spool: equal content, another object.
      record({ a: 3 }, { resource: { ...RESOURCE } }),
      record({ a: 4 }, { resource: other }),
    ];
    const encoder = new LogsEncoder(options);
    const { bytes, count } = encoder.encode(records);
    expect(count).toBe(4);
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(official(records, options)).toString('hex'));
    // The cached resource bytes give the same result the second time.
    expect(Buffer.from(encoder.encode(records).bytes).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  });

  it('writes the same bytes for 300 generated records in batches', () => {
    const r = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const value = (depth: number): unknown => {
      switch (Math.floor(r() * (depth > 2 ? 5 : 7))) {
        case 0: return pick(['', 'a', 'ünï', 'x'.repeat(200), '😀'.repeat(30)]);
        case 1: return r() < 0.5;
        case 2: return pick([0, 1, -1, 127, 128, 16_384, 2 ** 31, -(2 ** 53), 2 ** 62]);
        case 3: return pick([0.1, -1e-9, 1e21, Number.NaN]);
        case 4: return null;
        case 5: return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
        default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}`, value(depth + 1)]));
      }
    };
    const encoder = new LogsEncoder(OPTIONS);
    for (let batch = 0; batch < 10; batch++) {
      const records = Array.from({ length: 30 }, (_, i) =>
        record(Object.fromEntries(Array.from({ length: 1 + Math.floor(r() * 8) }, (__, j) => [`key.${j}`, value(0)])), {
          timeUnixNano: String(1_700_000_000_000_000_000n + BigInt(batch * 1000 + i)),
        }));
      expect(Buffer.from(encoder.encode(records).bytes).toString('hex')).toBe(Buffer.from(official(records)).toString('hex'));
    }
  });

  it('round-trips through the sink decoder', () => {
    const attributes = SHAPES['an audit record'] as Record<string, unknown>;
    const { bytes } = new LogsEncoder(OPTIONS).encode([record(attributes), record({ n: -5, big: 2 ** 60, s: 'ü' }, { traceFlags: 0 })]);
    const decoded = decodeLogsWire(bytes);
    expect(decoded).toHaveLength(2);
    const [a, b] = decoded;
    expect(a).toMatchObject({
      resource: RESOURCE,
      scope: { name: 'otel-audit', version: '0.1.0', attributes: {} },
      timeUnixNano: '1700000000123456789',
      observedTimeUnixNano: '1700000000987654321',
      severityNumber: 9,
      severityText: 'INFO',
      body: null,
      attributes,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      eventName: 'audit',
      flags: 1,
    });
    expect(b?.attributes).toEqual({ n: -5, big: String(2n ** 60n), s: 'ü' });
    expect(b?.flags).toBe(0);
    expect(b?.resource).toBe(a?.resource);
  });

  it('leaves out records with values that have no AnyValue form, and encodes the others', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const good = [record({ a: 1 }), record({ a: 3 })];
    const records = [good[0] as EncodableLogRecord, record({ b: 2n }), record({ c: undefined }), record({ d: cyclic }), record({ e: (): void => undefined }), good[1] as EncodableLogRecord];
    const { bytes, count, unencodable } = new LogsEncoder(OPTIONS).encode(records);
    expect({ count, unencodable }).toEqual({ count: 2, unencodable: 4 });
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(official(good)).toString('hex'));
  });

  it('counts records whose resource cannot be encoded; nothing to send is zero bytes', () => {
    const bad = record({ a: 1 }, { resource: { big: 1n } as unknown as Record<string, unknown> });
    expect(new LogsEncoder(OPTIONS).encode([bad, bad])).toEqual({ bytes: Buffer.alloc(0), count: 0, unencodable: 2 });
    const mixed = new LogsEncoder(OPTIONS).encode([record({ a: 1 }), bad]);
    expect({ count: mixed.count, unencodable: mixed.unencodable }).toEqual({ count: 1, unencodable: 1 });
    expect(new LogsEncoder(OPTIONS).encode([])).toEqual({ bytes: Buffer.alloc(0), count: 0, unencodable: 0 });
  });

  it('keeps `__proto__` as a plain key', () => {
    const attrs = JSON.parse('{"__proto__": "x", "a": 1}') as Record<string, AnyValue>;
    const decoded = decodeLogsWire(new LogsEncoder(OPTIONS).encode([record(attrs)]).bytes);
    expect(Object.keys(decoded[0]?.attributes ?? {})).toEqual(['__proto__', 'a']);
  });
});
