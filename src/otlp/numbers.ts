/**
 * The numeric fields of OTLP and what each accepts. Protobufjs converts
 * whatever it is given (`"-1"` becomes 2^64-1, `"12abc"` becomes 0), so
 * OTLP/JSON input is checked here before conversion, and the wire decoder
 * checks the varints that can exceed their type. A record with a value out
 * of its field's range is refused, never rewritten.
 *
 * OTLP/JSON: 64-bit integers are decimal strings (or JSON numbers that are
 * safe integers), 32-bit integers and enums are numbers (or decimal strings),
 * doubles are numbers or the strings `NaN`, `Infinity`, `-Infinity` or a
 * decimal number.
 */

/** A numeric field's kind; `enum` fields carry the largest value they accept. */
export type NumberKind = 'uint64' | 'int64' | 'uint32' | 'int32' | 'double' | { enumMax: number };

const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U32_MAX = 2 ** 32 - 1;

/** Largest `SeverityNumber` (FATAL4). */
export const SEVERITY_NUMBER_MAX = 24;
/** Largest `Span.SpanKind` (CONSUMER). */
export const SPAN_KIND_MAX = 5;
/** Largest `Status.StatusCode` (ERROR). */
export const STATUS_CODE_MAX = 2;

const DECIMAL = /^\d{1,20}$/;
const SIGNED_DECIMAL = /^-?\d{1,19}$/;
const DOUBLE_TEXT = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function describe(kind: NumberKind): string {
  if (kind === 'uint64') return 'an unsigned 64-bit integer';
  if (kind === 'int64') return 'a signed 64-bit integer';
  if (kind === 'uint32') return 'an unsigned 32-bit integer';
  if (kind === 'int32') return 'a signed 32-bit integer';
  if (kind === 'double') return 'a number';
  return `an integer from 0 to ${kind.enumMax}`;
}

function inRange(n: bigint, kind: NumberKind): boolean {
  if (kind === 'uint64') return n >= 0n && n <= U64_MAX;
  if (kind === 'int64') return n >= I64_MIN && n <= I64_MAX;
  if (kind === 'uint32') return n >= 0n && n <= BigInt(U32_MAX);
  if (kind === 'int32') return n >= -(2n ** 31n) && n < 2n ** 31n;
  if (kind === 'double') return true;
  return n >= 0n && n <= BigInt(kind.enumMax);
}

/** A value as reasons show it: JSON, at most 64 characters. */
export function showValue(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

/** The reason a value is refused for a field. */
export function numberProblem(field: string, value: unknown, kind: NumberKind): string {
  return `${field} ${showValue(value)} is not ${describe(kind)}`;
}

/**
 * Whether an OTLP/JSON value is acceptable for a numeric field of `kind`.
 * Absent (undefined or null) is acceptable: it means the default, 0.
 */
export function jsonNumberOk(value: unknown, kind: NumberKind): boolean {
  if (value === undefined || value === null) return true;
  if (kind === 'double') {
    if (typeof value === 'number') return true;
    return typeof value === 'string' && (value === 'NaN' || value === 'Infinity' || value === '-Infinity' || DOUBLE_TEXT.test(value));
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) && inRange(BigInt(value), kind);
  if (typeof value !== 'string') return false;
  if (!(kind === 'int64' ? SIGNED_DECIMAL : DECIMAL).test(value)) return false;
  return inRange(BigInt(value), kind);
}
