/**
 * The OTLP schema and what is built on it, in one import: the loader
 * (`schema-loader.ts`), protocol enums, message codec, plain and decoded
 * shapes, flatteners, request decoders and responses.
 */
export { createOtlpSchema, loadOtlpSchema, OTLP_LOGS_EXPORT_PATH, OTLP_PROTO_FILES, OTLP_TRACE_EXPORT_PATH, otlpProtoDir, type OtlpSchema } from './schema-loader.js';
export { OtlpSpanKind, OtlpStatusCode } from './enums.js';
export { decodeMessage, encodeMessage, OTLP_TO_OBJECT_OPTIONS, toPlainObject } from './message-codec.js';
export type * from './plain-types.js';
export type * from './decoded-types.js';
export { anyValueToJs, bytesToHex, flattenLogsRequest, flattenTraceRequest, keyValuesToRecord } from './flatten.js';
export { decodeLogsRequest, decodeLogsRequestObject, decodeTraceRequest, decodeTraceRequestObject } from './protobuf-requests.js';
export { encodeLogsResponse, encodeTraceResponse, type OtlpPartialSuccess } from './responses.js';
