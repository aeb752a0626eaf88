/**
 * RFC 8785 (JSON Canonicalization Scheme): one byte sequence per JSON value,
 * so that a hash over it does not depend on key order or number spelling.
 *
 * - object members sorted by their names' UTF-16 code units, recursively;
 * - no whitespace;
 * - strings and numbers serialised as ECMAScript's JSON.stringify does
 *   (shortest round-trip number form, `1e+30`, minimal escapes);
 * - `undefined` members are left out (as JSON.stringify does); non-finite
 *   numbers and other non-JSON values are errors.
 *
 * `known`, when given, may answer the canonical form of an object or array
 * it has seen before (a caller's cache); undefined lets it be computed.
 */
export function canonicalJson(value: unknown, known?: KnownForms): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON has no form for ${value}`);
      // -0 serialises as 0 (JSON.stringify does this too).
      return JSON.stringify(value);
    case 'object': {
      const form = known?.(value);
      if (form !== undefined) return form;
      if (Array.isArray(value)) return canonicalArray(value, known);
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      return canonicalObject(value as Record<string, unknown>, known);
    }
    default:
      throw new TypeError(`canonical JSON has no form for a ${typeof value}`);
  }
}

// Loops appending to one string rather than map/filter/join: the sink hashes
// every record with this (src/sink/content-hash.ts), and the intermediate
// arrays cost about half its time.

/** A cache of canonical forms: the form of `value`, or undefined when it has none. */
export type KnownForms = (value: object) => string | undefined;

function canonicalArray(value: readonly unknown[], known: KnownForms | undefined): string {
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    const v = value[i];
    out += canonicalJson(v === undefined ? null : v, known);
  }
  return out + ']';
}

function canonicalObject(obj: Record<string, unknown>, known: KnownForms | undefined): string {
  // Array.prototype.sort without a comparator orders by UTF-16 code units, as RFC 8785 asks.
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + canonicalJson(v, known);
  }
  return out + '}';
}
