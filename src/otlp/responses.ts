/**
 * The answers to OTLP Export calls: empty for full success, else a partial
 * success naming how many records were rejected and why. Written with the
 * SDK's own protobuf writer (the sink needs no protobuf schema at run time).
 */
import { EXPORT_LOGS_RESPONSE, LOGS_PARTIAL_SUCCESS, tagOf, WIRE } from './logs-fields.js';
import { ProtoWriter } from './proto-writer.js';
import { EXPORT_TRACE_RESPONSE, TRACE_PARTIAL_SUCCESS } from './trace-fields.js';

/** Partial-success part of an export response. */
export interface OtlpPartialSuccess {
  /** Records (log records or spans) the receiver rejected. */
  rejected: number;
  errorMessage: string;
}

/** Encodes an ExportLogsServiceResponse (empty = full success). */
export function encodeLogsResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  return encodeResponse(EXPORT_LOGS_RESPONSE.partialSuccess, LOGS_PARTIAL_SUCCESS.rejectedLogRecords, LOGS_PARTIAL_SUCCESS.errorMessage, partialSuccess);
}

/** Encodes an ExportTraceServiceResponse (empty = full success). */
export function encodeTraceResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  return encodeResponse(EXPORT_TRACE_RESPONSE.partialSuccess, TRACE_PARTIAL_SUCCESS.rejectedSpans, TRACE_PARTIAL_SUCCESS.errorMessage, partialSuccess);
}

/** One writer for every response: each is written and finished synchronously. */
let writer: ProtoWriter | undefined;

/** Both fields of the partial success are written, zero or empty as they may be (as a reader with field presence sees them). */
function encodeResponse(partialField: number, rejectedField: number, messageField: number, partialSuccess: OtlpPartialSuccess | undefined): Uint8Array {
  if (!partialSuccess) return new Uint8Array(0);
  writer ??= new ProtoWriter();
  writer.varint(tagOf(partialField, WIRE.len));
  const at = writer.begin();
  writer.varint(tagOf(rejectedField, WIRE.varint));
  writer.int64(partialSuccess.rejected);
  writer.varint(tagOf(messageField, WIRE.len));
  writer.string(partialSuccess.errorMessage);
  writer.end(at);
  return writer.finish();
}

/** google.rpc.Status { int32 code = 1; string message = 2; }, the OTLP/HTTP error body. */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  writer ??= new ProtoWriter();
  writer.varint(tagOf(1, WIRE.varint));
  writer.int64(code);
  writer.varint(tagOf(2, WIRE.len));
  writer.string(message);
  return writer.finish();
}
