/**
 * Random OTLP parts in protobufjs' plain-object form (camelCase, int64 as
 * decimal strings, bytes as Buffers), for decoders compared over many
 * generated requests. Deterministic for a given `rng`.
 */
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';

/** An AnyValue of any kind (or none), nested at most a few levels. */
export function randomAnyValue(r: () => number, depth: number): Record<string, unknown> {
  const k = Math.floor(r() * (depth > 3 ? 5 : 8));
  switch (k) {
    case 0: return { stringValue: ['', 'a', 'ünïcödé', '__proto__', 'x'.repeat(50)][Math.floor(r() * 5)] };
    case 1: return { boolValue: r() < 0.5 };
    case 2: return { intValue: [0, 1, -1, 2 ** 53 + 3, -(2 ** 60), 123456789].map(String)[Math.floor(r() * 6)] };
    case 3: return { doubleValue: [0, 1.5, -2.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY][Math.floor(r() * 6)] };
    case 4: return { bytesValue: Buffer.from([1, 2, 3, Math.floor(r() * 255)]).subarray(0, Math.floor(r() * 5)) };
    case 5: return { arrayValue: { values: Array.from({ length: Math.floor(r() * 4) }, () => randomAnyValue(r, depth + 1)) } };
    case 6: return { kvlistValue: { values: randomKeyValues(r, depth + 1, 3) } };
    default: return {};
  }
}

/** Up to `max` KeyValues, with `__proto__` and repeated keys now and then. */
export function randomKeyValues(r: () => number, depth: number, max: number): Record<string, unknown>[] {
  return Array.from({ length: Math.floor(r() * max) }, (_, i) => ({ key: r() < 0.1 ? '__proto__' : r() < 0.2 ? 'dup' : `k${i}`, value: randomAnyValue(r, depth) }));
}

/** `n` random bytes. */
export function randomId(r: () => number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

/** A decimal fixed64 of nanoseconds. */
export function randomNanos(r: () => number): string {
  return String(BigInt(Math.floor(r() * 2 ** 50)) * 1000n + BigInt(Math.floor(r() * 1000)));
}

/** A Resource and InstrumentationScope, each present or not. */
export function randomOrigin(r: () => number): { resource?: Record<string, unknown>; scope?: Record<string, unknown> } {
  return {
    ...(r() < 0.9 ? { resource: { attributes: randomKeyValues(r, 0, 4), droppedAttributesCount: r() < 0.2 ? 2 : 0 } } : {}),
    ...(r() < 0.8 ? { scope: { name: 'otel-audit', version: r() < 0.5 ? '1.0' : '', attributes: randomKeyValues(r, 0, 2) } } : {}),
  };
}

/** An ExportLogsServiceRequest: every LogRecord field present or not. */
export function randomLogsRequest(r: () => number): Uint8Array {
  const id = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const records = (): Record<string, unknown>[] =>
    Array.from({ length: Math.floor(r() * 4) }, () => ({
      ...(r() < 0.8 ? { timeUnixNano: String(BigInt(Math.floor(r() * 2 ** 50)) * 1000n) } : {}),
      ...(r() < 0.5 ? { observedTimeUnixNano: '1700000000000000001' } : {}),
      ...(r() < 0.5 ? { severityNumber: Math.floor(r() * 24) } : {}),
      ...(r() < 0.3 ? { severityText: 'INFO' } : {}),
      ...(r() < 0.7 ? { body: randomAnyValue(r, 0) } : {}),
      attributes: randomKeyValues(r, 0, 6),
      ...(r() < 0.2 ? { droppedAttributesCount: 3 } : {}),
      ...(r() < 0.5 ? { flags: 1 } : {}),
      ...(r() < 0.9 ? { traceId: id(r() < 0.9 ? 16 : 5) } : {}),
      ...(r() < 0.9 ? { spanId: id(8) } : {}),
      ...(r() < 0.7 ? { eventName: 'audit' } : {}),
    }));
  return encodeMessage(loadOtlpSchema().exportLogsServiceRequest, {
    resourceLogs: Array.from({ length: 1 + Math.floor(r() * 2) }, () => ({
      ...(r() < 0.9 ? { resource: { attributes: randomKeyValues(r, 0, 4), droppedAttributesCount: 0 } } : {}),
      scopeLogs: Array.from({ length: Math.floor(r() * 3) }, () => ({
        ...(r() < 0.8 ? { scope: { name: 'otel-audit', version: r() < 0.5 ? '1.0' : '', attributes: randomKeyValues(r, 0, 2) } } : {}),
        logRecords: records(),
        schemaUrl: r() < 0.3 ? 'https://opentelemetry.io/schemas/1.30.0' : '',
      })),
    })),
  });
}

function randomSpan(r: () => number): Record<string, unknown> {
  const maybe = (p: number, v: Record<string, unknown>): Record<string, unknown> => (r() < p ? v : {});
  return {
    ...maybe(0.95, { traceId: randomId(r, r() < 0.9 ? 16 : 5) }),
    ...maybe(0.95, { spanId: randomId(r, 8) }),
    ...maybe(0.3, { traceState: 'vendor=abc' }),
    ...maybe(0.6, { parentSpanId: randomId(r, 8) }),
    ...maybe(0.5, { flags: [1, 0x101, 0x301, 0][Math.floor(r() * 4)] }),
    ...maybe(0.9, { name: ['GET /users/:id', '', 'ünïcödé'][Math.floor(r() * 3)] }),
    ...maybe(0.8, { kind: Math.floor(r() * 6) }),
    ...maybe(0.9, { startTimeUnixNano: randomNanos(r) }),
    ...maybe(0.9, { endTimeUnixNano: randomNanos(r) }),
    attributes: randomKeyValues(r, 0, 6),
    ...maybe(0.2, { droppedAttributesCount: 4294967295 }),
    events: Array.from({ length: Math.floor(r() * 3) }, () => ({
      ...maybe(0.8, { timeUnixNano: randomNanos(r) }),
      ...maybe(0.8, { name: r() < 0.5 ? 'exception' : 'audit.recorded' }),
      attributes: randomKeyValues(r, 0, 3),
      ...maybe(0.2, { droppedAttributesCount: 1 }),
    })),
    ...maybe(0.2, { droppedEventsCount: 7 }),
    links: Array.from({ length: Math.floor(r() * 2) }, () => ({
      ...maybe(0.9, { traceId: randomId(r, 16) }),
      ...maybe(0.9, { spanId: randomId(r, 8) }),
      ...maybe(0.3, { traceState: 'k=v' }),
      attributes: randomKeyValues(r, 0, 2),
      ...maybe(0.2, { droppedAttributesCount: 1 }),
      ...maybe(0.5, { flags: 0x301 }),
    })),
    ...maybe(0.2, { droppedLinksCount: 2 }),
    ...maybe(0.6, { status: { ...maybe(0.7, { code: Math.floor(r() * 3) }), ...maybe(0.5, { message: 'boom' }) } }),
  };
}

/** An ExportTraceServiceRequest: every Span field present or not, events and links included. */
export function randomTraceRequest(r: () => number): Uint8Array {
  return encodeMessage(loadOtlpSchema().exportTraceServiceRequest, {
    resourceSpans: Array.from({ length: 1 + Math.floor(r() * 2) }, () => {
      const { resource, scope } = randomOrigin(r);
      return {
        ...(resource ? { resource } : {}),
        scopeSpans: Array.from({ length: Math.floor(r() * 3) }, () => ({
          ...(scope ? { scope } : {}),
          spans: Array.from({ length: Math.floor(r() * 4) }, () => randomSpan(r)),
          schemaUrl: r() < 0.3 ? 'https://opentelemetry.io/schemas/1.30.0' : '',
        })),
      };
    }),
  });
}
