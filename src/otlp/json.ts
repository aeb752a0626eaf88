/**
 * OTLP/JSON export requests (OTLP/HTTP with `application/json`) decoded into
 * the same flat records as protobuf ones: JSON.parse, then a direct mapping
 * (json-values.ts), with no protobuf schema in between.
 */
import type { DecodedAttributes, DecodedLogRecord, DecodedScope, DecodedSpan, InvalidNumbers } from './decoded-types.js';
import { OTLP_ENUM_NAMES } from './enums.js';
import { checkNumbers, type JsonNumberCheck } from './json-numbers.js';
import {
  jsonAnyValue, jsonAttributes, jsonHexId, jsonInt, jsonList, jsonObject, jsonResource, jsonScope, jsonString, jsonUint64, type Json,
} from './json-values.js';

function parseObject(text: string): Json {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('the request is not a JSON object');
  return value as Json;
}

type Checked = ReturnType<typeof checkNumbers>;

/** The problem of a record: its resource's, else its scope's, else its own; with the record as it arrived. */
function recordProblem(resource: Checked, scope: Checked, own: Checked, item: Json): InvalidNumbers | undefined {
  if (resource) return { reason: resource.reason, record: { resource: resource.record, record: own?.record ?? structuredClone(item) } };
  if (scope) return { reason: scope.reason, record: { scope: scope.record, record: own?.record ?? structuredClone(item) } };
  return own;
}

/** Where a request of one signal keeps its records (`resourceLogs[].scopeLogs[].logRecords[]` and the like), and how one is read. */
interface JsonSignal<T> {
  resources: string;
  scopes: string;
  items: string;
  check: (c: JsonNumberCheck, item: Json) => void;
  map: (item: Json, resource: DecodedAttributes, scope: DecodedScope) => T;
}

/**
 * Walks resource → scope → item. Numeric fields are checked first (see
 * numbers.ts): a record with a value out of range is decoded without it and
 * marked `invalid`, never converted with a wrapped or truncated value. Each
 * resource and scope is mapped once and shared by its records.
 */
function decodeRequest<T extends { invalid?: InvalidNumbers }>(text: string, signal: JsonSignal<T>): T[] {
  const req = parseObject(text);
  const out: T[] = [];
  for (const r of jsonList(req[signal.resources], signal.resources)) {
    const resourceCheck = checkNumbers(r, (c, t) => c.resource(t['resource'], 'resource'), () => r['resource']);
    const resource = jsonResource(r['resource']);
    for (const s of jsonList(r[signal.scopes], signal.scopes)) {
      const scopeCheck = checkNumbers(s, (c, t) => c.resource(t['scope'], 'scope'), () => s['scope']);
      const scope = jsonScope(s['scope']);
      for (const item of jsonList(s[signal.items], signal.items)) {
        const own = checkNumbers(item, signal.check, () => item);
        const decoded = signal.map(item, resource, scope);
        const problem = recordProblem(resourceCheck, scopeCheck, own, item);
        if (problem) decoded.invalid = problem;
        out.push(decoded);
      }
    }
  }
  return out;
}

const LOGS: JsonSignal<DecodedLogRecord> = {
  resources: 'resourceLogs',
  scopes: 'scopeLogs',
  items: 'logRecords',
  check: (c, lr) => c.logRecord(lr),
  map: (lr, resource, scope) => ({
    resource,
    scope,
    timeUnixNano: jsonUint64(lr['timeUnixNano']),
    observedTimeUnixNano: jsonUint64(lr['observedTimeUnixNano']),
    severityNumber: jsonInt(lr['severityNumber'], OTLP_ENUM_NAMES.severityNumber),
    severityText: jsonString(lr['severityText']),
    body: jsonAnyValue(lr['body']),
    attributes: jsonAttributes(lr['attributes']),
    droppedAttributesCount: jsonInt(lr['droppedAttributesCount']),
    traceId: jsonHexId(lr['traceId'], 'traceId'),
    spanId: jsonHexId(lr['spanId'], 'spanId'),
    eventName: jsonString(lr['eventName']),
    flags: jsonInt(lr['flags']),
  }),
};

const TRACES: JsonSignal<DecodedSpan> = {
  resources: 'resourceSpans',
  scopes: 'scopeSpans',
  items: 'spans',
  check: (c, sp) => c.span(sp),
  map: (sp, resource, scope) => {
    const status = jsonObject(sp['status'], 'status');
    return {
      resource,
      scope,
      traceId: jsonHexId(sp['traceId'], 'traceId'),
      spanId: jsonHexId(sp['spanId'], 'spanId'),
      parentSpanId: jsonHexId(sp['parentSpanId'], 'parentSpanId'),
      traceState: jsonString(sp['traceState']),
      flags: jsonInt(sp['flags']),
      name: jsonString(sp['name']),
      kind: jsonInt(sp['kind'], OTLP_ENUM_NAMES.spanKind),
      startTimeUnixNano: jsonUint64(sp['startTimeUnixNano']),
      endTimeUnixNano: jsonUint64(sp['endTimeUnixNano']),
      attributes: jsonAttributes(sp['attributes']),
      droppedAttributesCount: jsonInt(sp['droppedAttributesCount']),
      status: { code: jsonInt(status?.['code'], OTLP_ENUM_NAMES.statusCode), message: jsonString(status?.['message']) },
      events: jsonList(sp['events'], 'events').map((e) => ({
        timeUnixNano: jsonUint64(e['timeUnixNano']),
        name: jsonString(e['name']),
        attributes: jsonAttributes(e['attributes']),
        droppedAttributesCount: jsonInt(e['droppedAttributesCount']),
      })),
      droppedEventsCount: jsonInt(sp['droppedEventsCount']),
      links: jsonList(sp['links'], 'links').map((l) => ({
        traceId: jsonHexId(l['traceId'], 'links.traceId'),
        spanId: jsonHexId(l['spanId'], 'links.spanId'),
        traceState: jsonString(l['traceState']),
        attributes: jsonAttributes(l['attributes']),
        droppedAttributesCount: jsonInt(l['droppedAttributesCount']),
        flags: jsonInt(l['flags']),
      })),
      droppedLinksCount: jsonInt(sp['droppedLinksCount']),
    };
  },
};

/** OTLP/JSON logs request → flat log records (ids in hex, as OTLP/JSON has them). */
export function decodeLogsJson(text: string): DecodedLogRecord[] {
  return decodeRequest(text, LOGS);
}

/** OTLP/JSON traces request → flat spans (ids in hex, as OTLP/JSON has them). */
export function decodeTraceJson(text: string): DecodedSpan[] {
  return decodeRequest(text, TRACES);
}
