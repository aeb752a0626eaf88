/**
 * Field numbers of the OTLP logs messages, from the OTLP specification
 * (opentelemetry/proto/collector/logs/v1/logs_service.proto,
 * logs/v1/logs.proto, common/v1/common.proto, resource/v1/resource.proto).
 * The one table that the sink's decoder (wire-logs.ts) and the SDK's
 * encoder (logs-encoder.ts) both read, so the two directions cannot drift.
 */

/** Deepest nesting of AnyValue arrays and maps that is read or written (protobufjs and protoc stop at 100 messages). */
export const ANY_VALUE_MAX_DEPTH = 32;

/** Protobuf wire types. */
export const WIRE = { varint: 0, i64: 1, len: 2, i32: 5 } as const;

/** The key of a field on the wire: field number and wire type. */
export const tagOf = (field: number, wire: number): number => (field << 3) | wire;

/** ExportLogsServiceRequest. */
export const EXPORT_LOGS_REQUEST = { resourceLogs: 1 } as const;

/** ExportLogsServiceResponse and its ExportLogsPartialSuccess. */
export const EXPORT_LOGS_RESPONSE = { partialSuccess: 1 } as const;
export const LOGS_PARTIAL_SUCCESS = { rejectedLogRecords: 1, errorMessage: 2 } as const;

/** ResourceLogs. */
export const RESOURCE_LOGS = { resource: 1, scopeLogs: 2, schemaUrl: 3 } as const;

/** Resource. */
export const RESOURCE = { attributes: 1, droppedAttributesCount: 2 } as const;

/** ScopeLogs. */
export const SCOPE_LOGS = { scope: 1, logRecords: 2, schemaUrl: 3 } as const;

/** InstrumentationScope. */
export const SCOPE = { name: 1, version: 2, attributes: 3, droppedAttributesCount: 4 } as const;

/** LogRecord (field 4 is reserved). */
export const LOG_RECORD = {
  timeUnixNano: 1,
  severityNumber: 2,
  severityText: 3,
  body: 5,
  attributes: 6,
  droppedAttributesCount: 7,
  flags: 8,
  traceId: 9,
  spanId: 10,
  observedTimeUnixNano: 11,
  eventName: 12,
} as const;

/** KeyValue. */
export const KEY_VALUE = { key: 1, value: 2 } as const;

/** AnyValue: one of these. */
export const ANY_VALUE = {
  stringValue: 1,
  boolValue: 2,
  intValue: 3,
  doubleValue: 4,
  arrayValue: 5,
  kvlistValue: 6,
  bytesValue: 7,
} as const;

/** ArrayValue and KeyValueList: their one repeated field. */
export const ARRAY_VALUE = { values: 1 } as const;
export const KEY_VALUE_LIST = { values: 1 } as const;
