/**
 * Hand-built OTLP/HTTP protobuf log exports, for tests that need exact
 * control of each record (ids, attribute types, hostile strings) and read the
 * partial success of the answer.
 */
import { encodeMessage } from '../../src/otlp/message-codec.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';

export type OtlpValue = { stringValue: string } | { intValue: number | string } | { boolValue: boolean } | { doubleValue: number };
export type OtlpAttr = { key: string; value: OtlpValue };

/** A string attribute. */
export const str = (key: string, v: string): OtlpAttr => ({ key, value: { stringValue: v } });
/** An int attribute (a decimal string for values beyond the safe range). */
export const int = (key: string, v: number | string): OtlpAttr => ({ key, value: { intValue: v } });

export interface LogSpec {
  traceId: string;
  spanId: string;
  /** Unix nanoseconds. Default 2025-11-21T12:20:00Z. */
  timeUnixNano?: string;
  attributes: OtlpAttr[];
}

/** An ExportLogsServiceRequest of audit records from one service. */
export function logsRequest(records: LogSpec[], service = 'write-path'): Buffer {
  return Buffer.from(
    encodeMessage(loadOtlpSchema().exportLogsServiceRequest, {
      resourceLogs: [
        {
          resource: { attributes: [str('service.name', service)] },
          scopeLogs: [
            {
              scope: { name: 'otel-audit' },
              logRecords: records.map((r) => ({
                timeUnixNano: r.timeUnixNano ?? '1763727600000000000',
                eventName: 'audit',
                traceId: Buffer.from(r.traceId, 'hex'),
                spanId: Buffer.from(r.spanId, 'hex'),
                attributes: r.attributes,
              })),
            },
          ],
        },
      ],
    }),
  );
}

export interface ExportAnswer {
  status: number;
  /** partialSuccess.rejectedLogRecords (0 when absent). */
  rejected: number;
  /** partialSuccess.errorMessage ('' when absent). */
  message: string;
}

/** POSTs a protobuf body to /v1/logs and decodes the answer. */
export async function postLogs(httpEndpoint: string, body: Buffer): Promise<ExportAnswer> {
  const res = await fetch(`${httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, rejected: 0, message: bytes.toString('utf8') };
  const decoded = loadOtlpSchema().exportLogsServiceResponse.decode(bytes) as unknown as {
    partialSuccess?: { rejectedLogRecords?: number | { toNumber(): number }; errorMessage?: string };
  };
  const n = decoded.partialSuccess?.rejectedLogRecords;
  return {
    status: res.status,
    rejected: typeof n === 'number' ? n : n ? n.toNumber() : 0,
    message: decoded.partialSuccess?.errorMessage ?? '',
  };
}
