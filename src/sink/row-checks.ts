/**
 * Checks a record must pass to become a row. A failed check throws
 * {@link RowError}; the transform's entry points turn it into a rejection
 * whose reason is the error's message.
 */
import { quote, typeName } from './decoded-values.js';

/** 9999-12-31T23:59:59.999999999Z: the last instant with a four-digit year. */
const MAX_ISO_NANOS = 253_402_300_799_999_999_999n;
const TRACE_ID_HEX_DIGITS = 32;
const SPAN_ID_HEX_DIGITS = 16;

/** A rule violation: becomes a rejection with this message as its reason. */
export class RowError extends Error {}

/** Refuses the record with `reason`. */
export function fail(reason: string): never {
  throw new RowError(reason);
}

/**
 * Unix nanoseconds (decimal string) as ISO-8601 UTC with microseconds
 * (truncated): `'1700000000123456789'` → `'2023-11-14T22:13:20.123456Z'`.
 * Undefined for `'0'`, anything that is not a decimal number, and instants
 * after 9999-12-31 (which neither a four-digit ISO year nor an OTLP fixed64
 * timestamp can express).
 */
export function nanosToIso(ns: string): string | undefined {
  if (typeof ns !== 'string' || !/^\d{1,30}$/.test(ns)) return undefined;
  const n = BigInt(ns);
  if (n <= 0n || n > MAX_ISO_NANOS) return undefined;
  const ms = Number(n / 1_000_000n);
  const micros = Number((n / 1_000n) % 1_000n);
  // toISOString: YYYY-MM-DDTHH:MM:SS.mmmZ; append the microseconds.
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/** The first of `times` (field name → Unix nanoseconds, in order of preference) that is a valid instant, as ISO-8601. */
export function checkTime(times: Readonly<Record<string, string>>): string {
  for (const ns of Object.values(times)) {
    const iso = nanosToIso(ns);
    if (iso !== undefined) return iso;
  }
  const named = Object.entries(times).map(([name, ns]) => `${name} ${quote(String(ns))}`);
  return fail(`missing timestamp: ${named.join(' and ')} ${named.length > 1 ? 'are' : 'is'} zero or invalid`);
}

/** Lowercase hex of `digits` digits, not all zero. */
function checkHexId(id: unknown, digits: number, what: string): string {
  const hex = typeof id === 'string' ? id.toLowerCase() : '';
  if (hex.length !== digits || !/^[0-9a-f]+$/.test(hex) || /^0+$/.test(hex)) {
    fail(`missing or invalid ${what} (expected ${digits} hex digits, not all zero; got ${describeId(id)})`);
  }
  return hex;
}

export function checkTraceId(id: unknown): string {
  return checkHexId(id, TRACE_ID_HEX_DIGITS, 'trace id');
}

export function checkSpanId(id: unknown): string {
  return checkHexId(id, SPAN_ID_HEX_DIGITS, 'span id');
}

function describeId(id: unknown): string {
  return typeof id === 'string' ? (id === '' ? 'none' : quote(id)) : typeName(id);
}

/** `value` when it is one of `allowed`; else the record is refused, naming the field. */
export function oneOf<T extends string>(value: string | null, name: string, allowed: readonly T[]): T {
  if (value !== null && (allowed as readonly string[]).includes(value)) return value as T;
  return fail(`${name} ${quote(value ?? '')} is not one of ${allowed.join(', ')}`);
}
