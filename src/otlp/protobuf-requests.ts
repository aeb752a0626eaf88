/**
 * OTLP/protobuf export requests (the bytes of a gRPC or HTTP body) decoded
 * into plain objects and flat records.
 */
import type { DecodedLogRecord, DecodedSpan } from './decoded-types.js';
import { flattenLogsRequest, flattenTraceRequest } from './flatten.js';
import { decodeMessage, toPlainObject } from './message-codec.js';
import type { PlainExportLogsServiceRequest, PlainExportTraceServiceRequest } from './plain-types.js';
import { loadOtlpSchema } from './schema-loader.js';

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
