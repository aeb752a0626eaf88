import {
  flattenLogsRequest, flattenTraceRequest, loadOtlpSchema, toPlainObject,
  type DecodedLogRecord, type DecodedSpan, type PlainExportLogsServiceRequest, type PlainExportTraceServiceRequest,
} from './schema.js';

type Json = Record<string, unknown>;

const HEX = /^[0-9a-fA-F]*$/;

function hexToBytes(value: unknown, field: string): unknown {
  if (value === undefined || value === null || value === '') return value;
  if (typeof value !== 'string' || value.length % 2 !== 0 || !HEX.test(value)) {
    throw new Error(`${field} must be a hex string in OTLP/JSON`);
  }
  return Buffer.from(value, 'hex');
}

function each(list: unknown, fn: (item: Json) => void): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new Error('expected an array');
  for (const item of list) if (item !== null && typeof item === 'object') fn(item as Json);
}

function parseObject(text: string): Json {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('the request is not a JSON object');
  return value as Json;
}

/**
 * OTLP/JSON differs from the protobuf JSON mapping in one way that matters:
 * trace and span ids are hex, not base64. Convert them, then let the schema
 * check and normalise the rest exactly as for protobuf input.
 */
export function decodeLogsJson(text: string): DecodedLogRecord[] {
  const req = parseObject(text);
  each(req['resourceLogs'], (rl) =>
    each(rl['scopeLogs'], (sl) =>
      each(sl['logRecords'], (lr) => {
        lr['traceId'] = hexToBytes(lr['traceId'], 'traceId');
        lr['spanId'] = hexToBytes(lr['spanId'], 'spanId');
      }),
    ),
  );
  const { exportLogsServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return flattenLogsRequest(toPlainObject(type, message) as unknown as PlainExportLogsServiceRequest);
}

/** OTLP/JSON traces request → flat spans (ids in hex, as OTLP/JSON has them). */
export function decodeTraceJson(text: string): DecodedSpan[] {
  const req = parseObject(text);
  each(req['resourceSpans'], (rs) =>
    each(rs['scopeSpans'], (ss) =>
      each(ss['spans'], (sp) => {
        sp['traceId'] = hexToBytes(sp['traceId'], 'traceId');
        sp['spanId'] = hexToBytes(sp['spanId'], 'spanId');
        sp['parentSpanId'] = hexToBytes(sp['parentSpanId'], 'parentSpanId');
        each(sp['links'], (l) => {
          l['traceId'] = hexToBytes(l['traceId'], 'links.traceId');
          l['spanId'] = hexToBytes(l['spanId'], 'links.spanId');
        });
      }),
    ),
  );
  const { exportTraceServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return flattenTraceRequest(toPlainObject(type, message) as unknown as PlainExportTraceServiceRequest);
}
