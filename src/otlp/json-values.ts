/**
 * OTLP/JSON values mapped straight to the decoded shape (decoded-types.ts),
 * as the protobuf JSON mapping reads them, with OTLP/JSON's one difference:
 * trace and span ids are hex. Numbers arrive checked (json-numbers.ts): a
 * value still present is in its field's range. Scalars of the wrong JSON
 * type are converted as protobuf JSON readers do (`String`, `Boolean`);
 * objects and lists of the wrong shape make the request malformed.
 */
import type { DecodedAttributes, DecodedScope } from './decoded-types.js';

export type Json = Record<string, unknown>;

/**
 * Deepest AnyValue nesting read from OTLP/JSON. Deeper than the protobuf
 * decoders' limit on purpose: JSON input always had its deep values cut by
 * the sanitizer, per record, rather than the request refused; this bound
 * only keeps a hostile request from exhausting the stack.
 */
export const JSON_MAX_DEPTH = 512;

/** The items of a repeated field: absent is empty; anything but a list of objects is malformed. */
export function jsonList(value: unknown, field: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error(`${field} must be an array`);
  for (const item of value) if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error(`${field} must hold objects`);
  return value as Json[];
}

/** A singular message field: absent is undefined; anything but an object is malformed. */
export function jsonObject(value: unknown, field: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${field} must be an object`);
  return value as Json;
}

export function jsonString(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** A 32-bit integer or enum given as a number or decimal string (checked), or an enum by its name. */
export function jsonInt(value: unknown, names?: Readonly<Record<string, number>>): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string' && names && Object.hasOwn(names, value)) return names[value] as number;
  return Number(value);
}

/** A 64-bit unsigned integer (checked) as its decimal string. */
export function jsonUint64(value: unknown): string {
  if (value === undefined || value === null) return '0';
  return BigInt(value as number | string).toString();
}

const HEX = /^[0-9a-fA-F]*$/;

/** A trace or span id: hex in OTLP/JSON, lowercase here ('' when absent). */
export function jsonHexId(value: unknown, field: string): string {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value !== 'string' || value.length % 2 !== 0 || !HEX.test(value)) throw new Error(`${field} must be a hex string in OTLP/JSON`);
  return value.toLowerCase();
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Converts an AnyValue to a JS value, as `anyValueToJs` in flatten.ts does
 * for protobuf input: when several members are set, the last one of the
 * message's declaration wins, as with protobufjs.
 */
export function jsonAnyValue(value: unknown, depth = 0): unknown {
  const v = jsonObject(value, 'AnyValue');
  if (v === undefined) return null;
  if (depth > JSON_MAX_DEPTH) throw new Error('AnyValue nested too deeply');
  const bytes = v['bytesValue'];
  if (bytes !== undefined && bytes !== null) {
    if (typeof bytes !== 'string' || !BASE64.test(bytes)) throw new Error('bytesValue must be base64 in OTLP/JSON');
    return Buffer.from(bytes, 'base64').toString('base64');
  }
  const kvlist = jsonObject(v['kvlistValue'], 'kvlistValue');
  if (kvlist) return jsonAttributes(kvlist['values'], depth + 1);
  const array = jsonObject(v['arrayValue'], 'arrayValue');
  if (array) return jsonList(array['values'], 'arrayValue.values').map((x) => jsonAnyValue(x, depth + 1));
  if (v['doubleValue'] !== undefined && v['doubleValue'] !== null) return Number(v['doubleValue']);
  if (v['intValue'] !== undefined && v['intValue'] !== null) {
    const n = BigInt(v['intValue'] as number | string);
    const asNumber = Number(n);
    return Number.isSafeInteger(asNumber) ? asNumber : n.toString();
  }
  if (v['boolValue'] !== undefined && v['boolValue'] !== null) return Boolean(v['boolValue']);
  if (v['stringValue'] !== undefined && v['stringValue'] !== null) return String(v['stringValue']);
  return null;
}

/** A KeyValue list as a record; a repeated key keeps its last value; `__proto__` is plain data. */
export function jsonAttributes(list: unknown, depth = 0): DecodedAttributes {
  const out: DecodedAttributes = {};
  for (const kv of jsonList(list, 'attributes')) {
    const key = jsonString(kv['key']);
    const value = jsonAnyValue(kv['value'], depth);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  return out;
}

/** A Resource's attributes. */
export function jsonResource(value: unknown): DecodedAttributes {
  return jsonAttributes(jsonObject(value, 'resource')?.['attributes']);
}

/** An InstrumentationScope. */
export function jsonScope(value: unknown): DecodedScope {
  const s = jsonObject(value, 'scope');
  return { name: jsonString(s?.['name']), version: jsonString(s?.['version']), attributes: jsonAttributes(s?.['attributes']) };
}
