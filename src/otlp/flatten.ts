/**
 * Plain OTLP export requests flattened into one record per log record or
 * span, each with its own copy of its resource and scope.
 */
import type { DecodedAttributes, DecodedLogRecord, DecodedScope, DecodedSpan } from './decoded-types.js';
import { OtlpStatusCode } from './enums.js';
import { asBuffer } from './message-codec.js';
import type {
  PlainAnyValue, PlainExportLogsServiceRequest, PlainExportTraceServiceRequest, PlainInstrumentationScope, PlainKeyValue, PlainResource,
} from './plain-types.js';

/** Lowercase hex of an id field ('' when empty). */
export function bytesToHex(bytes: Uint8Array | null | undefined): string {
  return bytes ? asBuffer(bytes).toString('hex') : '';
}

/**
 * Converts an AnyValue to a JS value: string, boolean, number (int64 beyond
 * Number.MAX_SAFE_INTEGER stays a decimal string), array, object (kvlist),
 * base64 string (bytes), or null when no member is set.
 */
export function anyValueToJs(value: PlainAnyValue | null | undefined): unknown {
  if (!value) return null;
  switch (value.value) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'boolValue':
      return value.boolValue ?? false;
    case 'intValue':
      return int64ToJs(value.intValue ?? '0');
    case 'doubleValue':
      return value.doubleValue ?? 0;
    case 'arrayValue':
      return (value.arrayValue?.values ?? []).map(anyValueToJs);
    case 'kvlistValue':
      return keyValuesToRecord(value.kvlistValue?.values ?? []);
    case 'bytesValue':
      return value.bytesValue ? asBuffer(value.bytesValue).toString('base64') : '';
    default:
      return null;
  }
}

function int64ToJs(decimal: string): number | string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : decimal;
}

/** Flattens a KeyValue list to a record; a repeated key keeps its last value. */
export function keyValuesToRecord(keyValues: readonly PlainKeyValue[]): DecodedAttributes {
  const out: DecodedAttributes = {};
  for (const kv of keyValues) {
    const v = anyValueToJs(kv.value);
    if (kv.key === '__proto__') {
      Object.defineProperty(out, kv.key, { value: v, enumerable: true, writable: true, configurable: true });
    } else {
      out[kv.key] = v;
    }
  }
  return out;
}

function decodeScope(scope: PlainInstrumentationScope | null): DecodedScope {
  return {
    name: scope?.name ?? '',
    version: scope?.version ?? '',
    attributes: keyValuesToRecord(scope?.attributes ?? []),
  };
}

/** The resource and scope a record was sent under. */
interface Origin {
  resource: DecodedAttributes;
  scope: DecodedScope;
}

/**
 * Walks resource → scope → item and builds one output per item. The origin
 * is built per item so that records share no mutable state.
 */
function flattenNested<R extends { resource: PlainResource | null }, S extends { scope: PlainInstrumentationScope | null }, I, O>(
  resources: readonly R[],
  scopesOf: (resource: R) => readonly S[],
  itemsOf: (scope: S) => readonly I[],
  build: (item: I, origin: Origin) => O,
): O[] {
  const out: O[] = [];
  for (const r of resources) {
    for (const s of scopesOf(r)) {
      for (const item of itemsOf(s)) {
        out.push(build(item, { resource: keyValuesToRecord(r.resource?.attributes ?? []), scope: decodeScope(s.scope) }));
      }
    }
  }
  return out;
}

/** Flattens a plain ExportLogsServiceRequest into log records. */
export function flattenLogsRequest(request: PlainExportLogsServiceRequest): DecodedLogRecord[] {
  return flattenNested(
    request.resourceLogs,
    (rl) => rl.scopeLogs,
    (sl) => sl.logRecords,
    (lr, origin) => ({
      ...origin,
      timeUnixNano: lr.timeUnixNano,
      observedTimeUnixNano: lr.observedTimeUnixNano,
      severityNumber: lr.severityNumber,
      severityText: lr.severityText,
      body: anyValueToJs(lr.body),
      attributes: keyValuesToRecord(lr.attributes),
      droppedAttributesCount: lr.droppedAttributesCount,
      traceId: bytesToHex(lr.traceId),
      spanId: bytesToHex(lr.spanId),
      eventName: lr.eventName,
      flags: lr.flags,
    }),
  );
}

/** Flattens a plain ExportTraceServiceRequest into spans. */
export function flattenTraceRequest(request: PlainExportTraceServiceRequest): DecodedSpan[] {
  return flattenNested(
    request.resourceSpans,
    (rs) => rs.scopeSpans,
    (ss) => ss.spans,
    (span, origin) => ({
      ...origin,
      traceId: bytesToHex(span.traceId),
      spanId: bytesToHex(span.spanId),
      parentSpanId: bytesToHex(span.parentSpanId),
      traceState: span.traceState,
      flags: span.flags,
      name: span.name,
      kind: span.kind,
      startTimeUnixNano: span.startTimeUnixNano,
      endTimeUnixNano: span.endTimeUnixNano,
      attributes: keyValuesToRecord(span.attributes),
      droppedAttributesCount: span.droppedAttributesCount,
      status: { code: span.status?.code ?? OtlpStatusCode.UNSET, message: span.status?.message ?? '' },
      events: span.events.map((e) => ({
        timeUnixNano: e.timeUnixNano,
        name: e.name,
        attributes: keyValuesToRecord(e.attributes),
        droppedAttributesCount: e.droppedAttributesCount,
      })),
      droppedEventsCount: span.droppedEventsCount,
      links: span.links.map((l) => ({
        traceId: bytesToHex(l.traceId),
        spanId: bytesToHex(l.spanId),
        traceState: l.traceState,
        attributes: keyValuesToRecord(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
        flags: l.flags,
      })),
      droppedLinksCount: span.droppedLinksCount,
    }),
  );
}
