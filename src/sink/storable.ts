/**
 * Text and JSON as Postgres stores them: what text and jsonb refuse (NUL,
 * unpaired surrogates) replaced or escaped, and long values cut with a
 * marker that keeps their size and a hash.
 */
import { createHash } from 'node:crypto';
import { codePoints, setOwn } from './decoded-values.js';
import { MAX_JSON_DEPTH } from './transform-limits.js';

// Unpaired surrogates: with the `u` flag, a class of surrogates matches only lone ones.
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
export const LONE_SURROGATES = /[\uD800-\uDFFF]/gu;
/** Longest reason text kept, in UTF-16 code units. */
const MAX_REASON_LENGTH = 1000;
/** Hex digits of the SHA-256 that a cut marker shows. */
const SHORT_HASH_DIGITS = 16;
/** UTF-8 bytes of the shortest marker, `…`. */
const ELLIPSIS_BYTES = 3;

/** The first 16 hex digits of the SHA-256 of `s` (UTF-8): tells cut values apart. */
export function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, SHORT_HASH_DIGITS);
}

/**
 * `s` (free of unpaired surrogates, `bytes` long in UTF-8) cut to at most
 * `maxBytes` UTF-8 bytes, ending in `…[cut: <bytes> bytes, sha256 <16 hex>]`
 * (only `…` when the limit is smaller than the marker).
 */
export function cutBytes(s: string, bytes: number, maxBytes: number): string {
  let marker = `…[cut: ${bytes} bytes, sha256 ${shortHash(s)}]`;
  let budget = maxBytes - Buffer.byteLength(marker, 'utf8');
  if (budget < 0) {
    marker = '…';
    budget = Math.max(0, maxBytes - ELLIPSIS_BYTES);
  }
  const buf = Buffer.from(s, 'utf8');
  let end = budget;
  // Back up to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (end > 0 && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end) + marker;
}

/** `s` (`length` code points) cut to `maxChars` code points, ending in `…[cut: <length> characters, sha256 <16 hex>]`. */
export function cutChars(s: string, length: number, maxChars: number): string {
  const marker = `…[cut: ${length} characters, sha256 ${shortHash(s)}]`;
  const keep = Math.max(0, maxChars - codePoints(marker));
  return Array.from(s).slice(0, keep).join('') + marker;
}

/** `s` with NUL and unpaired surrogates written out as `\u` escapes. */
export function escapeUnstorable(s: string): string {
  if (!s.includes('\u0000') && !LONE_SURROGATE.test(s)) return s;
  return s.replaceAll('\u0000', '\\u0000').replace(LONE_SURROGATES, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** Text that Postgres can store: NUL and unpaired surrogates escaped, at most 1000 characters. */
export function sanitizeText(s: string): string {
  return escapeUnstorable(s.length > MAX_REASON_LENGTH ? `${s.slice(0, MAX_REASON_LENGTH)}…` : s);
}

/** What {@link jsonScalar} answers for strings, lists, maps and anything else it has no JSON form for. */
export const NOT_SCALAR: unique symbol = Symbol('not a JSON scalar');

/**
 * The JSON form of a decoded scalar other than a string: numbers (non-finite
 * ones as their names, `NaN`, `Infinity`: jsonb has no such numbers),
 * booleans, null (also for undefined), bigints as decimal strings, bytes as
 * base64.
 */
export function jsonScalar(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'boolean' || v === null || v === undefined) return v ?? null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  return NOT_SCALAR;
}

/**
 * A copy of a decoded record that jsonb accepts, for `audit.rejected.record`:
 * strings and keys escaped as in {@link escapeUnstorable}, non-finite numbers
 * as names, bytes as base64, nesting cut at twice {@link MAX_JSON_DEPTH}.
 * Nothing is flagged: the copy keeps the input readable, the raw bytes keep
 * it exact. Undefined when even that fails.
 */
export function escapedCopy(input: unknown): unknown {
  const copy = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return escapeUnstorable(v);
    const scalar = jsonScalar(v);
    if (scalar !== NOT_SCALAR) return scalar;
    if (depth >= MAX_JSON_DEPTH * 2) return '[nested too deep]';
    if (Array.isArray(v)) return v.map((x) => copy(x, depth + 1));
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, escapeUnstorable(k), copy(x, depth + 1));
      return out;
    }
    return String(v);
  };
  try {
    return copy(input, 0);
  } catch {
    return undefined;
  }
}
