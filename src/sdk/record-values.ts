/**
 * The values a record may carry: every string that goes into an audit
 * record is made storable (no NUL, no lone surrogate) and bounded, with a
 * visible marker where it was cut, and names (actions, resource types) stay
 * dotted lower case. Used where a record's attributes are built, so that no
 * value reaches a record without passing here.
 */
import { TRUNCATION_MARKER } from './redact.js';
import { redactText } from './redact-text.js';

/** Replacement of a NUL character or a lone surrogate. */
export const REPLACEMENT_CHAR = '\uFFFD';

/** Longest action or resource type, in characters. */
export const MAX_NAME_LENGTH = 128;

/** Longest segment of an action or resource type before it is cut. */
const MAX_NAME_SEGMENT = 64;

/** Suffix of an action or resource type segment that was cut (keeps the name dotted lower case). */
export const NAME_TRUNCATED = '_truncated';

/** Most `audit.meta.*` keys per record; the rest are summarised by one `truncated` key. */
export const MAX_META_KEYS = 64;

/** Longest meta key, in characters. */
export const MAX_META_KEY_LENGTH = 128;

/** A lone high surrogate, a lone low surrogate, or NUL. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\u0000/g;
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE_TEST = /[\ud800-\udfff\u0000]/;

/** In JSON text: an escaped NUL or an escaped surrogate (JSON.stringify escapes lone surrogates). */
const UNSTORABLE_JSON_ESCAPE = /\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/;

const encoder = new TextEncoder();

/**
 * A value as record text: strings as they are, numbers, bigints and booleans
 * in decimal / `true`, valid Dates as ISO 8601; anything else is absent.
 */
export function toText(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? String(v) : undefined;
    case 'bigint':
      return v.toString();
    case 'boolean':
      return String(v);
    default:
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
      return undefined;
  }
}

/** NUL and lone surrogates → U+FFFD. Returns the same string when there is nothing to replace. */
export function storableText(s: string): string {
  if (!UNSTORABLE_TEST.test(s)) return s;
  return s.replace(UNSTORABLE, REPLACEMENT_CHAR);
}

/**
 * At most `maxBytes` UTF-8 bytes: a longer string keeps its beginning and
 * ends in `…[truncated N chars]` (the marker of the request values).
 */
export function capText(s: string, maxBytes: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: most strings need no measuring.
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let keep = Math.max(0, maxBytes - 40);
  let marker = '';
  for (let i = 0; i < 3; i++) {
    const buf = new Uint8Array(keep);
    const { read } = encoder.encodeInto(s, buf);
    let end = read;
    const c = s.charCodeAt(end - 1);
    if (end > 0 && c >= 0xd800 && c <= 0xdbff) end--;
    marker = `…${TRUNCATION_MARKER} ${s.length - end} chars]`;
    const markerBytes = Buffer.byteLength(marker, 'utf8');
    if (Buffer.byteLength(s.slice(0, end), 'utf8') + markerBytes <= maxBytes) return s.slice(0, end) + marker;
    keep = Math.max(0, maxBytes - markerBytes);
  }
  return marker.slice(0, Math.max(0, maxBytes));
}

/** Storable and capped. */
export function cleanText(s: string, maxBytes: number): string {
  return capText(storableText(s), maxBytes);
}

/**
 * An action or resource type as dotted lower case (`[a-z0-9_-]` segments):
 * other characters become `_`, empty segments are removed, segments longer
 * than 64 characters and names longer than {@link MAX_NAME_LENGTH} are cut
 * and end in {@link NAME_TRUNCATED}. Undefined when nothing is left.
 */
export function cleanName(s: string): string | undefined {
  if (s.length <= MAX_NAME_LENGTH && /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(s)) return s;
  const segments = s
    .slice(0, MAX_NAME_LENGTH * 4)
    .toLowerCase()
    .split('.')
    .map((seg) => seg.replace(/[^a-z0-9_-]/g, '_'))
    .filter((seg) => seg.length > 0)
    .map((seg) => (seg.length > MAX_NAME_SEGMENT ? seg.slice(0, MAX_NAME_SEGMENT - NAME_TRUNCATED.length) + NAME_TRUNCATED : seg));
  if (segments.length === 0) return undefined;
  let name = segments.join('.');
  if (name.length > MAX_NAME_LENGTH) {
    // Keep the last segment (the verb of an action) and as much of the front as fits.
    const last = segments[segments.length - 1] as string;
    const room = MAX_NAME_LENGTH - last.length - 1 - NAME_TRUNCATED.length;
    let front = name.slice(0, Math.max(1, room));
    while (front.endsWith('.')) front = front.slice(0, -1);
    name = `${front}${NAME_TRUNCATED}.${last}`;
  }
  return name;
}

/** First segment of the actions that only otel-audit's own commands write (`audit.export`, ...). */
const RESERVED_ACTION_PREFIX = 'audit.';
/** Put before an application's action that would fall in the reserved namespace. */
const APP_ACTION_PREFIX = 'app.';

/**
 * An application action outside the reserved `audit.` namespace (which the
 * sink refuses over OTLP): `audit.read`, derived from `GET /audit/:id`,
 * becomes `app.audit.read`, so the record still lands.
 */
export function unreservedAction(action: string): string {
  return action.startsWith(RESERVED_ACTION_PREFIX) ? APP_ACTION_PREFIX + action : action;
}

/**
 * JSON text (already capped) whose escaped NULs and lone surrogates are
 * replaced by U+FFFD. Never longer than the input: an escape is six bytes,
 * U+FFFD three.
 */
export function storableJson(json: string): string {
  if (!UNSTORABLE_JSON_ESCAPE.test(json)) return json;
  try {
    return JSON.stringify(storableTree(JSON.parse(json) as unknown));
  } catch {
    return JSON.stringify(storableText(json));
  }
}

function storableTree(v: unknown): unknown {
  if (typeof v === 'string') return storableText(v);
  if (Array.isArray(v)) return v.map(storableTree);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      Object.defineProperty(out, storableText(k), { value: storableTree(val), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

/** Where a record's values are bounded. */
export interface RecordValueLimits {
  /** Longest value, UTF-8 bytes (`maxValueBytes`). */
  maxValueBytes: number;
  /** Keys whose values are masked (meta keys, `key=value` in error messages). */
  isSensitive: (key: string) => boolean;
}

/**
 * Text of an error message: cut, redacted by key (`key=value`, `key: value`,
 * JSON pairs, XML elements, card numbers; see {@link redactText}), storable,
 * capped.
 */
export function cleanErrorText(s: string, limits: RecordValueLimits): string {
  // Redaction works on a bounded prefix: the result is capped below anyway.
  return cleanText(redactText(s, { isSensitive: limits.isSensitive, maxLength: limits.maxValueBytes * 2 }), limits.maxValueBytes);
}
