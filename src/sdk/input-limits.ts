/**
 * Caps applied to request input before the SDK parses it. Whatever a client
 * sends, the work the SDK does per request and the memory it keeps stay
 * within fixed bounds derived from these numbers.
 */

/** Longest request path (UTF-16 units) the SDK reads; the rest is ignored when deriving routes. */
export const MAX_PATH_LENGTH = 2048;

/** Longest path segment treated as a name; longer segments count as identifiers (`:id`). */
export const MAX_SEGMENT_LENGTH = 256;

/** Longest query string (after `?`) parsed; parameters beyond it are not read. */
export const MAX_QUERY_LENGTH = 8192;

/** Longest header value read (`X-Forwarded-For`, actor and tenant headers, user agent). */
export const MAX_HEADER_LENGTH = 8192;

/** Most `X-Forwarded-For` hops walked from the right, whatever the trusted proxies. */
export const MAX_FORWARDED_HOPS = 32;

/**
 * Request bodies declared (`Content-Length`) larger than this many bytes, or
 * than 16 × the value cap if that is more, are not walked for the record: a
 * parsed body of that size can hold so many keys that merely listing them
 * costs milliseconds, and the record could keep only its first few KB.
 */
export const MAX_RECORDED_BODY_BYTES = 64 * 1024;

/** Largest declared body recorded under a value cap of `maxValueBytes` (see {@link MAX_RECORDED_BODY_BYTES}). */
export function recordedBodyBytes(maxValueBytes: number): number {
  return Math.max(MAX_RECORDED_BODY_BYTES, 16 * maxValueBytes);
}

/** Longest object key whose redaction decision is cached. */
export const MAX_CACHED_KEY_LENGTH = 128;

/**
 * The first `max` UTF-16 units of `text`, never splitting a surrogate pair.
 * Returns `text` itself when it is short enough.
 */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  if (end > 0) {
    const c = text.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--;
  }
  return text.slice(0, end);
}

/** A header value as one string (first of repeated values), capped at {@link MAX_HEADER_LENGTH}. */
export function headerText(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? capText(v, MAX_HEADER_LENGTH) : undefined;
}
