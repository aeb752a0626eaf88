/**
 * Request paths read within fixed bounds: input is cut to
 * {@link MAX_PATH_LENGTH} before it is split, segments longer than
 * {@link MAX_SEGMENT_LENGTH} count as identifiers, and every pattern runs in
 * linear time (the lint configuration refuses super-linear ones).
 */

import { capText, MAX_PATH_LENGTH, MAX_SEGMENT_LENGTH } from './input-limits.js';
import { TRUNCATION_MARKER } from './redact.js';

/** Removes `?query` and `#fragment`. */
function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

/**
 * The first {@link MAX_PATH_LENGTH} units of a path. When that cuts a
 * segment longer than {@link MAX_SEGMENT_LENGTH} (an identifier either
 * way), the segment is kept with a truncation marker, so the record still
 * names its resource; a shorter partial segment could pass for a name and is
 * dropped.
 */
function capPath(path: string): string {
  if (path.length <= MAX_PATH_LENGTH) return path;
  const head = capText(path, MAX_PATH_LENGTH);
  const next = path[head.length];
  if (next === '/' || next === '?' || next === '#') return head;
  const slash = head.lastIndexOf('/');
  if (head.length - slash - 1 > MAX_SEGMENT_LENGTH) {
    const rest = path.length - head.length;
    return `${head}…${TRUNCATION_MARKER} ${rest} chars]`;
  }
  return slash > 0 ? head.slice(0, slash + 1) : head;
}

/** Non-empty path segments (duplicate and trailing slashes collapse) of the path cut by {@link capPath}. */
export function splitSegments(path: string): string[] {
  return stripQuery(capPath(path))
    .split('/')
    .filter((s) => s.length > 0);
}

/** A percent-decoded segment; the segment itself when its escapes are not valid. */
export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const INTEGER = /^\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LONG_HEX = /^[0-9a-f]{16,}$/i;
/** ULID: 48-bit timestamp (first char 0–7) + randomness, Crockford base32. */
const ULID = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/i;
const LONG_TOKEN = /^(?=[a-z]*\d)[a-z0-9]{20,}$/i;

/**
 * Does this path segment look like an identifier rather than a static name?
 * Segments longer than {@link MAX_SEGMENT_LENGTH} always do.
 */
export function isIdSegment(segment: string): boolean {
  return (
    segment.length > MAX_SEGMENT_LENGTH ||
    INTEGER.test(segment) ||
    UUID.test(segment) ||
    LONG_HEX.test(segment) ||
    ULID.test(segment) ||
    LONG_TOKEN.test(segment)
  );
}

/**
 * Turns a concrete path into a route template: drops the query string,
 * replaces id-like segments (integers, UUIDs, hex ≥ 16 chars, ULIDs,
 * alphanumeric tokens with digits ≥ 20 chars) by `:id`, collapses duplicate
 * slashes and drops a trailing slash. `/users/42/?x=1` → `/users/:id`.
 * Only the first {@link MAX_PATH_LENGTH} units of the path are read, and
 * segments longer than {@link MAX_SEGMENT_LENGTH} become `:id`.
 */
export function templatePath(path: string): string {
  const segments = splitSegments(path).map((s) => (isIdSegment(s) ? ':id' : s));
  const lead = path.startsWith('/') || segments.length === 0 ? '/' : '';
  return lead + segments.join('/');
}
