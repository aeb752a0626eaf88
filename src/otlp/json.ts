import {
  flattenLogsRequest, flattenTraceRequest, loadOtlpSchema, toPlainObject,
  type DecodedLogRecord, type DecodedSpan, type InvalidNumbers, type PlainExportLogsServiceRequest, type PlainExportTraceServiceRequest,
} from './schema.js';
import { checkNumbers } from './json-numbers.js';

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

type Invalid = InvalidNumbers | undefined;

/** Marks the flattened records (in request order) that carried out-of-range numbers. */
function markInvalid<T extends { invalid?: InvalidNumbers }>(records: T[], invalid: Invalid[]): T[] {
  if (!invalid.some((x) => x !== undefined)) return records;
  if (records.length !== invalid.length) throw new Error(`internal: ${records.length} records decoded from ${invalid.length} in the request`);
  records.forEach((r, i) => {
    const bad = invalid[i];
    if (bad) r.invalid = bad;
  });
  return records;
}

/** The problem of a record: its resource's, else its scope's, else its own; with the record as it arrived. */
function recordProblem(
  resource: ReturnType<typeof checkNumbers>, resourceOriginal: unknown,
  scope: ReturnType<typeof checkNumbers>, scopeOriginal: unknown,
  own: ReturnType<typeof checkNumbers>, item: Json,
): Invalid {
  if (resource) return { reason: resource.reason, record: { resource: resourceOriginal, record: own?.record ?? structuredClone(item) } };
  if (scope) return { reason: scope.reason, record: { scope: scopeOriginal, record: own?.record ?? structuredClone(item) } };
  return own;
}

/**
 * OTLP/JSON differs from the protobuf JSON mapping in one way that matters:
 * trace and span ids are hex, not base64. Convert them, then let the schema
 * check and normalise the rest exactly as for protobuf input. Numeric fields
 * are checked first (see numbers.ts): a record with a value out of range is
 * decoded without it and marked `invalid`, never converted with a wrapped or
 * truncated value.
 */
export function decodeLogsJson(text: string): DecodedLogRecord[] {
  const req = parseObject(text);
  const invalid: Invalid[] = [];
  each(req['resourceLogs'], (rl) => {
    const resource = checkNumbers(rl, (c, t) => c.resource(t['resource'], 'resource'), () => rl['resource']);
    each(rl['scopeLogs'], (sl) => {
      const scope = checkNumbers(sl, (c, t) => c.resource(t['scope'], 'scope'), () => sl['scope']);
      each(sl['logRecords'], (lr) => {
        const own = checkNumbers(lr, (c, t) => c.logRecord(t), () => lr);
        invalid.push(recordProblem(resource, resource?.record, scope, scope?.record, own, lr));
        lr['traceId'] = hexToBytes(lr['traceId'], 'traceId');
        lr['spanId'] = hexToBytes(lr['spanId'], 'spanId');
      });
    });
  });
  const { exportLogsServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return markInvalid(flattenLogsRequest(toPlainObject(type, message) as unknown as PlainExportLogsServiceRequest), invalid);
}

/** OTLP/JSON traces request → flat spans (ids in hex, as OTLP/JSON has them). */
export function decodeTraceJson(text: string): DecodedSpan[] {
  const req = parseObject(text);
  const invalid: Invalid[] = [];
  each(req['resourceSpans'], (rs) => {
    const resource = checkNumbers(rs, (c, t) => c.resource(t['resource'], 'resource'), () => rs['resource']);
    each(rs['scopeSpans'], (ss) => {
      const scope = checkNumbers(ss, (c, t) => c.resource(t['scope'], 'scope'), () => ss['scope']);
      each(ss['spans'], (sp) => {
        const own = checkNumbers(sp, (c, t) => c.span(t), () => sp);
        invalid.push(recordProblem(resource, resource?.record, scope, scope?.record, own, sp));
        sp['traceId'] = hexToBytes(sp['traceId'], 'traceId');
        sp['spanId'] = hexToBytes(sp['spanId'], 'spanId');
        sp['parentSpanId'] = hexToBytes(sp['parentSpanId'], 'parentSpanId');
        each(sp['links'], (l) => {
          l['traceId'] = hexToBytes(l['traceId'], 'links.traceId');
          l['spanId'] = hexToBytes(l['spanId'], 'links.spanId');
        });
      });
    });
  });
  const { exportTraceServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return markInvalid(flattenTraceRequest(toPlainObject(type, message) as unknown as PlainExportTraceServiceRequest), invalid);
}
