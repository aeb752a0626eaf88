/**
 * The decoders compared by bench/otlp-decode.ts, bundled from src/ (whose
 * imports name .js files) into one module the benchmark loads.
 *
 * "schema" is the path the sink took before the direct decoders: protobufjs
 * decode + toObject + flatten for protobuf; JSON.parse, hex ids to bytes,
 * protobufjs fromObject + toObject + flatten for OTLP/JSON, after the same
 * range checks of numbers (json-numbers.ts) as then and now.
 */
import { checkNumbers, type JsonNumberCheck } from '../../src/otlp/json-numbers.ts';
import { flattenLogsRequest, flattenTraceRequest } from '../../src/otlp/flatten.ts';
import { decodeLogsJson, decodeTraceJson } from '../../src/otlp/json.ts';
import { toPlainObject } from '../../src/otlp/message-codec.ts';
import type { PlainExportLogsServiceRequest, PlainExportTraceServiceRequest } from '../../src/otlp/plain-types.ts';
import { decodeLogsRequest, decodeTraceRequest } from '../../src/otlp/protobuf-requests.ts';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.ts';
import { decodeLogsWire } from '../../src/otlp/wire-logs.ts';
import { decodeTracesWire } from '../../src/otlp/wire-traces.ts';

type Json = Record<string, unknown>;

function idsToBytes(item: Json, keys: readonly string[]): void {
  for (const k of keys) if (typeof item[k] === 'string' && item[k] !== '') item[k] = Buffer.from(item[k], 'hex');
}

function each(list: unknown, fn: (item: Json) => void): void {
  if (Array.isArray(list)) for (const x of list) fn(x as Json);
}

/** The number checks of every resource, scope and item, as the sink ran them. */
function check(req: Json, groups: [string, string, string], item: (c: JsonNumberCheck, x: Json) => void): void {
  each(req[groups[0]], (r) => {
    checkNumbers(r, (c, t) => c.resource(t['resource'], 'resource'), () => r['resource']);
    each(r[groups[1]], (s) => {
      checkNumbers(s, (c, t) => c.resource(t['scope'], 'scope'), () => s['scope']);
      each(s[groups[2]], (x) => checkNumbers(x, item, () => x));
    });
  });
}

export function schemaLogsJson(text: string): unknown {
  const req = JSON.parse(text) as Json;
  check(req, ['resourceLogs', 'scopeLogs', 'logRecords'], (c, lr) => c.logRecord(lr));
  each(req['resourceLogs'], (r) => each(r['scopeLogs'], (s) => each(s['logRecords'], (lr) => idsToBytes(lr, ['traceId', 'spanId']))));
  const type = loadOtlpSchema().exportLogsServiceRequest;
  return flattenLogsRequest(toPlainObject(type, type.fromObject(req)) as unknown as PlainExportLogsServiceRequest);
}

export function schemaTraceJson(text: string): unknown {
  const req = JSON.parse(text) as Json;
  check(req, ['resourceSpans', 'scopeSpans', 'spans'], (c, sp) => c.span(sp));
  each(req['resourceSpans'], (r) => each(r['scopeSpans'], (s) => each(s['spans'], (sp) => {
    idsToBytes(sp, ['traceId', 'spanId', 'parentSpanId']);
    each(sp['links'], (l) => idsToBytes(l, ['traceId', 'spanId']));
  })));
  const type = loadOtlpSchema().exportTraceServiceRequest;
  return flattenTraceRequest(toPlainObject(type, type.fromObject(req)) as unknown as PlainExportTraceServiceRequest);
}

export { decodeLogsJson, decodeLogsRequest, decodeLogsWire, decodeTraceJson, decodeTraceRequest, decodeTracesWire };
