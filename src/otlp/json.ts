/**
 * OTLP/JSON export requests (OTLP/HTTP with `application/json`) decoded into
 * the same flat records as protobuf ones.
 */
import type { DecodedLogRecord, DecodedSpan, InvalidNumbers } from './decoded-types.js';
import { flattenLogsRequest, flattenTraceRequest } from './flatten.js';
import { checkNumbers, type JsonNumberCheck } from './json-numbers.js';
import { toPlainObject } from './message-codec.js';
import type { PlainExportLogsServiceRequest, PlainExportTraceServiceRequest } from './plain-types.js';
import { loadOtlpSchema } from './schema-loader.js';

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

/** Where a request of one signal keeps its records: `resourceLogs[].scopeLogs[].logRecords[]` and the like. */
interface Nesting {
  resources: string;
  scopes: string;
  items: string;
}

/**
 * Checks the numbers of every record of `req` (with its resource's and
 * scope's) and turns its hex ids into bytes; returns each record's problem,
 * in request order.
 */
function prepareRecords(req: Json, nesting: Nesting, checkItem: (c: JsonNumberCheck, item: Json) => void, convertIds: (item: Json) => void): Invalid[] {
  const invalid: Invalid[] = [];
  each(req[nesting.resources], (r) => {
    const resource = checkNumbers(r, (c, t) => c.resource(t['resource'], 'resource'), () => r['resource']);
    each(r[nesting.scopes], (s) => {
      const scope = checkNumbers(s, (c, t) => c.resource(t['scope'], 'scope'), () => s['scope']);
      each(s[nesting.items], (item) => {
        const own = checkNumbers(item, checkItem, () => item);
        invalid.push(recordProblem(resource, resource?.record, scope, scope?.record, own, item));
        convertIds(item);
      });
    });
  });
  return invalid;
}

/** The trace and span id of an OTLP/JSON record (hex) as bytes, as the protobuf JSON mapping reads them. */
function convertRecordIds(item: Json, prefix = ''): void {
  item['traceId'] = hexToBytes(item['traceId'], `${prefix}traceId`);
  item['spanId'] = hexToBytes(item['spanId'], `${prefix}spanId`);
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
  const invalid = prepareRecords(req, { resources: 'resourceLogs', scopes: 'scopeLogs', items: 'logRecords' }, (c, lr) => c.logRecord(lr), (lr) => convertRecordIds(lr));
  const { exportLogsServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return markInvalid(flattenLogsRequest(toPlainObject(type, message) as unknown as PlainExportLogsServiceRequest), invalid);
}

/** OTLP/JSON traces request → flat spans (ids in hex, as OTLP/JSON has them). */
export function decodeTraceJson(text: string): DecodedSpan[] {
  const req = parseObject(text);
  const invalid = prepareRecords(req, { resources: 'resourceSpans', scopes: 'scopeSpans', items: 'spans' }, (c, sp) => c.span(sp), (sp) => {
    convertRecordIds(sp);
    sp['parentSpanId'] = hexToBytes(sp['parentSpanId'], 'parentSpanId');
    each(sp['links'], (l) => convertRecordIds(l, 'links.'));
  });
  const { exportTraceServiceRequest: type } = loadOtlpSchema();
  const message = type.fromObject(req);
  return markInvalid(flattenTraceRequest(toPlainObject(type, message) as unknown as PlainExportTraceServiceRequest), invalid);
}
