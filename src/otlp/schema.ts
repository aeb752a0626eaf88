/**
 * OTLP protobuf schema, loaded at runtime from the .proto files shipped with
 * the package (src/proto when running from source, dist/proto when bundled),
 * plus pure decoders that turn OTLP export requests into plain records.
 *
 * Field presence: every singular field is configured with explicit presence.
 * A decoded message therefore remembers exactly which fields were on the wire
 * (including ones carrying a zero value, which the OpenTelemetry JS serializer
 * writes for e.g. `dropped_attributes_count`), and encoding it again yields the
 * same bytes. The wire format itself is unchanged: proto3 readers accept both
 * present and absent zero values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { IConversionOptions, Message, NamespaceBase, Root, Service, Type } from 'protobufjs';
import { assetPath } from '../assets.js';

/** The .proto files of the schema, relative to the proto directory, in dependency order. */
export const OTLP_PROTO_FILES: readonly string[] = [
  'opentelemetry/proto/common/v1/common.proto',
  'opentelemetry/proto/resource/v1/resource.proto',
  'opentelemetry/proto/logs/v1/logs.proto',
  'opentelemetry/proto/trace/v1/trace.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
];

/** gRPC method path of LogsService/Export. */
export const OTLP_LOGS_EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
/** gRPC method path of TraceService/Export. */
export const OTLP_TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** OTLP `Span.SpanKind` values. */
export const OtlpSpanKind = {
  UNSPECIFIED: 0,
  INTERNAL: 1,
  SERVER: 2,
  CLIENT: 3,
  PRODUCER: 4,
  CONSUMER: 5,
} as const;

/** OTLP `Status.StatusCode` values. */
export const OtlpStatusCode = {
  UNSET: 0,
  OK: 1,
  ERROR: 2,
} as const;

/** The loaded schema: protobufjs types of the export requests and responses. */
export interface OtlpSchema {
  /** Absolute path of the directory holding `opentelemetry/proto/...`. */
  readonly protoDir: string;
  readonly root: Root;
  readonly exportLogsServiceRequest: Type;
  readonly exportLogsServiceResponse: Type;
  readonly exportTraceServiceRequest: Type;
  readonly exportTraceServiceResponse: Type;
  /** `/opentelemetry.proto.collector.logs.v1.LogsService/Export` */
  readonly logsExportPath: string;
  /** `/opentelemetry.proto.collector.trace.v1.TraceService/Export` */
  readonly traceExportPath: string;
}

/**
 * `toObject` options used by the decoders: 64-bit integers as decimal strings,
 * enums as numbers, bytes as they were decoded (a `Buffer` when decoded with
 * {@link decodeMessage}), defaults filled in for
 * absent fields, empty arrays for absent repeated fields, and the name of the
 * set member on each oneof (`AnyValue.value`).
 */
export const OTLP_TO_OBJECT_OPTIONS: Readonly<IConversionOptions> = Object.freeze({
  longs: String,
  enums: Number,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
});

/** Directory holding the .proto files, next to the module's own directory. */
export function otlpProtoDir(): string {
  return assetPath('proto');
}

/**
 * Parses the .proto files under `protoDir` into a fresh schema. Prefer
 * {@link loadOtlpSchema}, which caches the default one.
 */
export function createOtlpSchema(protoDir: string = otlpProtoDir()): OtlpSchema {
  const root = new protobuf.Root();
  const parsed = new Set<string>();
  for (const file of OTLP_PROTO_FILES) {
    const source = readFileSync(join(protoDir, file), 'utf8');
    const result = protobuf.parse(source, root, { keepCase: false });
    for (const imported of result.imports ?? []) {
      if (!parsed.has(imported)) {
        throw new Error(`${file} imports ${imported}, which is not loaded before it`);
      }
    }
    parsed.add(file);
  }
  useExplicitPresence(root);
  root.resolveAll();

  const logsService = root.lookupService('opentelemetry.proto.collector.logs.v1.LogsService');
  const traceService = root.lookupService('opentelemetry.proto.collector.trace.v1.TraceService');
  return Object.freeze({
    protoDir,
    root,
    exportLogsServiceRequest: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
    exportLogsServiceResponse: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
    exportTraceServiceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    exportTraceServiceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    logsExportPath: methodPath(logsService, 'Export'),
    traceExportPath: methodPath(traceService, 'Export'),
  });
}

let cachedSchema: OtlpSchema | undefined;

/** The schema loaded from {@link otlpProtoDir}, parsed once per process. */
export function loadOtlpSchema(): OtlpSchema {
  cachedSchema ??= createOtlpSchema();
  return cachedSchema;
}

/** Marks every singular field (outside oneofs, which already track presence) as explicit-presence. */
function useExplicitPresence(root: Root): void {
  const visit = (ns: NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        for (const field of nested.fieldsArray) {
          if (!field.repeated && !field.map && !field.partOf) {
            field.setOption('features.field_presence', 'EXPLICIT');
          }
        }
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
}

function methodPath(service: Service, method: string): string {
  if (!service.methods[method]) throw new Error(`${service.fullName} has no method ${method}`);
  return `/${service.fullName.replace(/^\./, '')}/${method}`;
}

// ---------------------------------------------------------------------------
// Encoding / decoding helpers
// ---------------------------------------------------------------------------

/** A Buffer view of `bytes` (no copy), so that decoded `bytes` fields are Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes `bytes` as a message of `type` (throws on malformed input). */
export function decodeMessage(type: Type, bytes: Uint8Array): Message {
  return type.decode(asBuffer(bytes));
}

/** Encodes a decoded message, or a plain object in protobufjs' camelCase form. */
export function encodeMessage(type: Type, value: Message | Record<string, unknown>): Uint8Array {
  const message = value instanceof protobuf.Message ? value : type.fromObject(value);
  return type.encode(message).finish();
}

/** Converts a decoded message to a plain object with {@link OTLP_TO_OBJECT_OPTIONS}. */
export function toPlainObject(type: Type, message: Message): Record<string, unknown> {
  return type.toObject(message, OTLP_TO_OBJECT_OPTIONS);
}

/** Partial-success part of an export response. */
export interface OtlpPartialSuccess {
  /** Records (log records or spans) the receiver rejected. */
  rejected: number;
  errorMessage: string;
}

/** Encodes an ExportLogsServiceResponse (empty = full success). */
export function encodeLogsResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  const { exportLogsServiceResponse } = loadOtlpSchema();
  const body = partialSuccess
    ? { partialSuccess: { rejectedLogRecords: partialSuccess.rejected, errorMessage: partialSuccess.errorMessage } }
    : {};
  return encodeMessage(exportLogsServiceResponse, body);
}

/** Encodes an ExportTraceServiceResponse (empty = full success). */
export function encodeTraceResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  const { exportTraceServiceResponse } = loadOtlpSchema();
  const body = partialSuccess
    ? { partialSuccess: { rejectedSpans: partialSuccess.rejected, errorMessage: partialSuccess.errorMessage } }
    : {};
  return encodeMessage(exportTraceServiceResponse, body);
}

// ---------------------------------------------------------------------------
// Plain-object shapes produced by toObject(OTLP_TO_OBJECT_OPTIONS)
// ---------------------------------------------------------------------------

/** `AnyValue` as a plain object; `value` names the set member, if any. */
export interface PlainAnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  /** Decimal string (int64). */
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: PlainAnyValue[] };
  kvlistValue?: { values: PlainKeyValue[] };
  bytesValue?: Buffer;
}

export interface PlainKeyValue {
  key: string;
  value: PlainAnyValue | null;
}

export interface PlainResource {
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainInstrumentationScope {
  name: string;
  version: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: PlainAnyValue | null;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Buffer;
  spanId: Buffer;
  eventName: string;
}

export interface PlainExportLogsServiceRequest {
  resourceLogs: {
    resource: PlainResource | null;
    scopeLogs: { scope: PlainInstrumentationScope | null; logRecords: PlainLogRecord[]; schemaUrl: string }[];
    schemaUrl: string;
  }[];
}

export interface PlainSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainSpanLink {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface PlainSpan {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  parentSpanId: Buffer;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  events: PlainSpanEvent[];
  droppedEventsCount: number;
  links: PlainSpanLink[];
  droppedLinksCount: number;
  status: { message: string; code: number } | null;
}

export interface PlainExportTraceServiceRequest {
  resourceSpans: {
    resource: PlainResource | null;
    scopeSpans: { scope: PlainInstrumentationScope | null; spans: PlainSpan[]; schemaUrl: string }[];
    schemaUrl: string;
  }[];
}

// ---------------------------------------------------------------------------
// Decoded records
// ---------------------------------------------------------------------------

/** Attributes flattened to JS values (see {@link anyValueToJs}). */
export type DecodedAttributes = Record<string, unknown>;

export interface DecodedScope {
  name: string;
  version: string;
  attributes: DecodedAttributes;
}

/** One OTLP log record with its resource and scope, ids as lowercase hex. */
export interface DecodedLogRecord {
  /** Resource attributes. */
  resource: DecodedAttributes;
  scope: DecodedScope;
  /** Nanoseconds since the Unix epoch, decimal ("0" = unknown). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  /** The body as a JS value; null when absent or empty. */
  body: unknown;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  /** 32 hex digits, or '' when not associated with a trace. */
  traceId: string;
  /** 16 hex digits, or ''. */
  spanId: string;
  /** '' for plain log records. */
  eventName: string;
  /** W3C trace flags in the low byte. */
  flags: number;
  /** Set when a numeric field is out of its range: the record is refused with this reason. */
  invalid?: InvalidNumbers;
}

/** Why a decoded record is refused although it decoded: a value out of its field's range (removed from the record). */
export interface InvalidNumbers {
  /** Names the field and the value, e.g. `timeUnixNano "-1" is not an unsigned 64-bit integer`. */
  reason: string;
  /** The record as it arrived (OTLP/JSON), when the decoder kept it. */
  record?: unknown;
}

export interface DecodedSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
}

export interface DecodedSpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  flags: number;
}

/** One OTLP span with its resource and scope, ids as lowercase hex. */
export interface DecodedSpan {
  resource: DecodedAttributes;
  scope: DecodedScope;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  /** W3C trace flags plus the SpanFlags is-remote bits. */
  flags: number;
  name: string;
  /** {@link OtlpSpanKind} value. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  /** {@link OtlpStatusCode} value and message. */
  status: { code: number; message: string };
  events: DecodedSpanEvent[];
  droppedEventsCount: number;
  links: DecodedSpanLink[];
  droppedLinksCount: number;
  /** Set when a numeric field is out of its range: the span is refused with this reason. */
  invalid?: InvalidNumbers;
}

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

/** Flattens a plain ExportLogsServiceRequest into log records. */
export function flattenLogsRequest(request: PlainExportLogsServiceRequest): DecodedLogRecord[] {
  const out: DecodedLogRecord[] = [];
  for (const rl of request.resourceLogs) {
    for (const sl of rl.scopeLogs) {
      for (const lr of sl.logRecords) {
        out.push({
          // Built per record so that records share no mutable state.
          resource: keyValuesToRecord(rl.resource?.attributes ?? []),
          scope: decodeScope(sl.scope),
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
        });
      }
    }
  }
  return out;
}

/** Flattens a plain ExportTraceServiceRequest into spans. */
export function flattenTraceRequest(request: PlainExportTraceServiceRequest): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const rs of request.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (const span of ss.spans) {
        out.push({
          resource: keyValuesToRecord(rs.resource?.attributes ?? []),
          scope: decodeScope(ss.scope),
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
        });
      }
    }
  }
  return out;
}

/** Decodes an ExportLogsServiceRequest to its plain-object form. */
export function decodeLogsRequestObject(bytes: Uint8Array): PlainExportLogsServiceRequest {
  const { exportLogsServiceRequest: type } = loadOtlpSchema();
  return toPlainObject(type, decodeMessage(type, bytes)) as unknown as PlainExportLogsServiceRequest;
}

/** Decodes an ExportTraceServiceRequest to its plain-object form. */
export function decodeTraceRequestObject(bytes: Uint8Array): PlainExportTraceServiceRequest {
  const { exportTraceServiceRequest: type } = loadOtlpSchema();
  return toPlainObject(type, decodeMessage(type, bytes)) as unknown as PlainExportTraceServiceRequest;
}

/** Decodes a serialized ExportLogsServiceRequest into flat log records. */
export function decodeLogsRequest(bytes: Uint8Array): DecodedLogRecord[] {
  return flattenLogsRequest(decodeLogsRequestObject(bytes));
}

/** Decodes a serialized ExportTraceServiceRequest into flat spans. */
export function decodeTraceRequest(bytes: Uint8Array): DecodedSpan[] {
  return flattenTraceRequest(decodeTraceRequestObject(bytes));
}
