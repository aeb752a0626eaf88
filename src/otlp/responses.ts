/**
 * The answers to OTLP Export calls: empty for full success, else a partial
 * success naming how many records were rejected and why.
 */
import type { Type } from 'protobufjs';
import { encodeMessage } from './message-codec.js';
import { loadOtlpSchema } from './schema-loader.js';

/** Partial-success part of an export response. */
export interface OtlpPartialSuccess {
  /** Records (log records or spans) the receiver rejected. */
  rejected: number;
  errorMessage: string;
}

/** Encodes an ExportLogsServiceResponse (empty = full success). */
export function encodeLogsResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  return encodeResponse(loadOtlpSchema().exportLogsServiceResponse, 'rejectedLogRecords', partialSuccess);
}

/** Encodes an ExportTraceServiceResponse (empty = full success). */
export function encodeTraceResponse(partialSuccess?: OtlpPartialSuccess): Uint8Array {
  return encodeResponse(loadOtlpSchema().exportTraceServiceResponse, 'rejectedSpans', partialSuccess);
}

/** A response of `type`, whose partial success counts the rejected records in `rejectedField`. */
function encodeResponse(type: Type, rejectedField: string, partialSuccess: OtlpPartialSuccess | undefined): Uint8Array {
  const body = partialSuccess ? { partialSuccess: { [rejectedField]: partialSuccess.rejected, errorMessage: partialSuccess.errorMessage } } : {};
  return encodeMessage(type, body);
}
