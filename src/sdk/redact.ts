/**
 * Sanitising and size-capping of values that end up in audit records
 * (request bodies, response bodies, headers, hook results).
 *
 * Both `createRedactor` and `capJson` share one walker that turns any value
 * into a JSON-friendly tree without ever throwing: cycles, throwing getters,
 * exotic objects and runaway nesting all become short marker strings.
 *
 * With a byte budget (`createRedactor(keys, { maxBytes })`, as the SDK uses
 * it) the walk stops once the budget is spent: the work per value is bounded
 * by the budget, not by the size of the value, however large a request body
 * is.
 */

import type { JsonValue } from '../contract/values.js';
import { BoundedCache } from './bounded-cache.js';
import { capText, MAX_CACHED_KEY_LENGTH } from './input-limits.js';

/** Keys whose values are always replaced by {@link REDACTED} (compared normalised, by containment). */
export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'api_key',
  'apikey',
  'authorization',
  'cookie',
  'set-cookie',
];

/** Replacement for the value of a sensitive key. */
export const REDACTED = '[REDACTED]';

/** Replacement for a payment card number found inside a string. */
export const CARD_REDACTED = '[REDACTED:card]';

/** Substring contained in every marker `capJson` leaves where it cut something. */
export const TRUNCATION_MARKER = '[truncated';

/** Replacement for an object already being walked (a reference cycle). */
export const CIRCULAR = '[Circular]';

/** Replacement for containers nested deeper than {@link MAX_DEPTH}. */
export const MAX_DEPTH_MARKER = '[MaxDepth]';

/** Replacement for values that could not be read (throwing getters, revoked proxies). */
export const UNREADABLE = '[Unreadable]';

/** Deepest container nesting kept; deeper containers become {@link MAX_DEPTH_MARKER}. */
export const MAX_DEPTH = 32;

/** Smallest `maxBytes` accepted by {@link capJson}: the size of its last-resort output `"[truncated]"`. */
export const MIN_CAP_BYTES = 13;

/** A value that `JSON.stringify` renders losslessly. */
export type { JsonValue };

interface WalkContext {
  /** Returns true when the value under this key must be hidden. */
  readonly isSensitive: ((key: string) => boolean) | undefined;
  /** Mask payment card numbers inside strings. */
  readonly maskCards: boolean;
  /** Longest string kept (UTF-16 code units). */
  readonly maxString: number;
  /** Most array / set items kept per container. */
  readonly maxItems: number;
  /** Most object / map keys kept per container. */
  readonly maxKeys: number;
  /** Values still allowed in the output (counts every emitted value). */
  nodes: number;
  /**
   * Estimated JSON bytes of structure still allowed: each value costs 2, a
   * key or a string its length up to {@link STRUCTURE_CHARS} more. Long
   * strings are bounded by `maxString` and `chars` instead, so that a cap
   * still shortens them before it drops their siblings.
   */
  bytes: number;
  /** String characters still allowed in the output. */
  chars: number;
  /** Set when anything was cut for size. */
  cut: boolean;
  /** Objects on the current path, for cycle detection. */
  readonly ancestors: Set<object>;
}

/** Characters of a key or string counted against {@link WalkContext.bytes}. */
const STRUCTURE_CHARS = 16;

/** True once the walk has produced all its budget allows. */
function spent(ctx: WalkContext): boolean {
  return ctx.nodes <= 0 || ctx.bytes <= 0 || ctx.chars <= 0;
}

/** Normalised form used to compare keys: lowercase, alphanumerics only. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Budget of a redactor's per-key decision cache. */
export const MAX_KEY_CACHE_BYTES = 64 * 1024;

/** Options of {@link createRedactor}. */
export interface RedactorOptions {
  /**
   * Output budget in bytes: once values and keys worth about this many
   * bytes of JSON structure have been produced, the rest of every container
   * is replaced by a truncation marker without being read. Strings are cut
   * at `maxBytes` characters (and all strings together at 8 × `maxBytes`),
   * as {@link capJson} would at the same size, which then shortens them
   * evenly. The work per value is thus bounded by `maxBytes`, whatever the
   * size of the value. Default: unlimited.
   */
  maxBytes?: number;
}

/** A redaction function with its key-decision cache exposed for diagnostics. */
export interface Redactor {
  (value: unknown): unknown;
  /** Bytes held by the key-decision cache (never above {@link MAX_KEY_CACHE_BYTES}). */
  readonly cacheBytes: number;
}

/** Normalised, de-duplicated sensitive keys: the defaults plus `extraKeys`. */
function needlesOf(extraKeys: readonly string[]): string[] {
  return [...new Set([...DEFAULT_REDACT_KEYS, ...extraKeys].map(normalizeKey))].filter((k) => k.length > 0);
}

/**
 * Decides per key whether it is sensitive. Decisions for keys up to
 * {@link MAX_CACHED_KEY_LENGTH} units are cached within
 * {@link MAX_KEY_CACHE_BYTES}; longer keys, which only a client inventing
 * keys sends, are decided every time and never kept.
 */
function keyClassifier(needles: readonly string[]): { isSensitive: (key: string) => boolean; cache: BoundedCache<boolean> } {
  const cache = new BoundedCache<boolean>({ maxBytes: MAX_KEY_CACHE_BYTES, maxKeyLength: MAX_CACHED_KEY_LENGTH, valueBytes: () => 8 });
  const isSensitive = (key: string): boolean => {
    let hit = cache.get(key);
    if (hit === undefined) {
      const norm = normalizeKey(key);
      hit = needles.some((needle) => norm.includes(needle));
      cache.set(key, hit);
    }
    return hit;
  };
  return { isSensitive, cache };
}

/**
 * Whether a key is sensitive (default list plus `extraKeys`), decided as
 * {@link createRedactor} decides, with the same bounded cache.
 */
export function sensitiveKeyTest(extraKeys: readonly string[] = []): (key: string) => boolean {
  return keyClassifier(needlesOf(extraKeys)).isSensitive;
}

/**
 * Builds a function returning a sanitised, JSON-friendly copy of a value:
 * values under sensitive keys (default list plus `extraKeys`) become
 * {@link REDACTED}, payment card numbers inside strings become
 * {@link CARD_REDACTED}, and non-JSON values are converted (Date → ISO string,
 * binary → `[binary N bytes]`, Map → object, Set → array, bigint → string;
 * functions and symbols are dropped from objects and become `null` in arrays).
 * The input is never mutated and the function never throws.
 *
 * A key is sensitive when its normalised form (lowercase, non-alphanumerics
 * removed) contains the normalised form of any listed key, so `accessToken`,
 * `client_secret` and `X-Api-Key` all match.
 *
 * With `options.maxBytes` the walk is bounded (see {@link RedactorOptions}).
 */
export function createRedactor(extraKeys: readonly string[] = [], options: RedactorOptions = {}): Redactor {
  const { isSensitive, cache } = keyClassifier(needlesOf(extraKeys));
  const maxBytes = options.maxBytes;
  const bounded = maxBytes !== undefined && Number.isFinite(maxBytes) && maxBytes > 0;
  const redact = (value: unknown): unknown =>
    walk(value, 0, bounded ? budgetContext(Math.floor(maxBytes), isSensitive, true, Math.floor(maxBytes)) : unlimitedContext(isSensitive, true));
  Object.defineProperty(redact, 'cacheBytes', { get: () => cache.bytes, enumerable: true });
  return redact as Redactor;
}

// ---------------------------------------------------------------------------
// Payment card masking

const CARD_MIN_DIGITS = 13;
const CARD_MAX_DIGITS = 19;

/** Luhn checksum over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Could these digits be a card number issued by a payment network (major industry identifier 2–6)? */
function looksLikeCard(digits: string): boolean {
  if (digits.length < CARD_MIN_DIGITS || digits.length > CARD_MAX_DIGITS) return false;
  const first = digits.charCodeAt(0) - 48;
  return first >= 2 && first <= 6 && luhnValid(digits);
}

/** Maximal runs of digits separated by at most one space or dash. */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;

/**
 * Replaces payment card numbers (13–19 digits, optionally grouped by single
 * spaces or dashes, Luhn-valid, starting with 2–6) inside `text` by
 * {@link CARD_REDACTED}. A digit group is never split, so long numeric ids do
 * not lose a card-shaped substring; adjacent groups are combined, so several
 * card numbers separated by single spaces are each found.
 */
export function maskCardNumbers(text: string): string {
  // Cheap pre-check: not enough digits for any card number.
  let digitCount = 0;
  for (let i = 0; i < text.length && digitCount < CARD_MIN_DIGITS; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digitCount++;
  }
  if (digitCount < CARD_MIN_DIGITS) return text;

  return text.replace(DIGIT_RUN, (run: string) => {
    const groups: { start: number; end: number; digits: string }[] = [];
    const groupRe = /\d+/g;
    let m: RegExpExecArray | null;
    while ((m = groupRe.exec(run)) !== null) {
      groups.push({ start: m.index, end: m.index + m[0].length, digits: m[0] });
    }
    let out = '';
    let copiedUpTo = 0;
    let i = 0;
    while (i < groups.length) {
      // Longest run of whole groups starting at i that is a card number.
      let best = -1;
      let digits = '';
      for (let j = i; j < groups.length; j++) {
        digits += (groups[j] as { digits: string }).digits;
        if (digits.length > CARD_MAX_DIGITS) break;
        if (looksLikeCard(digits)) best = j;
      }
      if (best >= 0) {
        const startGroup = groups[i] as { start: number };
        const endGroup = groups[best] as { end: number };
        out += run.slice(copiedUpTo, startGroup.start) + CARD_REDACTED;
        copiedUpTo = endGroup.end;
        i = best + 1;
      } else {
        i++;
      }
    }
    return copiedUpTo === 0 ? run : out + run.slice(copiedUpTo);
  });
}

// ---------------------------------------------------------------------------
// Walker

type JsonObject = { [key: string]: JsonValue };

/**
 * Assigns without triggering the `__proto__` setter. Plain assignment for
 * every other key: `defineProperty` on each key turns a large object into a
 * slow dictionary, which made walking wide bodies several times slower.
 */
function setKey(target: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Reads a property, turning a throwing getter into {@link UNREADABLE}. */
function readProp(obj: object, key: PropertyKey): unknown {
  try {
    return (obj as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** Keeps at most `keep` UTF-16 units of `s` without splitting a surrogate pair. */
function cutString(s: string, keep: number): string {
  let end = Math.max(0, Math.min(s.length, keep));
  if (end > 0 && end < s.length) {
    const c = s.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--;
  }
  return s.slice(0, end);
}

/** Longest written form of a card number (19 digits, 18 separators) plus one: a head cut this much past a limit masks every card that starts before it. */
const CARD_MARGIN = 40;

function walkString(s: string, ctx: WalkContext): string {
  const limit = Math.max(0, Math.min(ctx.maxString, ctx.chars));
  if (s.length > limit + CARD_MARGIN) {
    // Only the part that can be kept is looked at: the work stays bounded by the limit.
    const head = cutString(s, limit + CARD_MARGIN);
    const kept = cutString(ctx.maskCards ? maskCardNumbers(head) : head, limit);
    ctx.chars -= kept.length;
    ctx.cut = true;
    return `${kept}…${TRUNCATION_MARKER} ${s.length - kept.length} chars]`;
  }
  const text = ctx.maskCards ? maskCardNumbers(s) : s;
  if (text.length <= limit) {
    ctx.chars -= text.length;
    return text;
  }
  const kept = cutString(text, limit);
  ctx.chars -= kept.length;
  ctx.cut = true;
  return `${kept}…${TRUNCATION_MARKER} ${text.length - kept.length} chars]`;
}

function mapKeyToString(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
    case 'symbol':
      return String(key);
    default:
      return key === null ? 'null' : key instanceof Date && !Number.isNaN(key.getTime()) ? key.toISOString() : '[object]';
  }
}

/** Converts any value into a JSON-friendly tree; `undefined` means "omit". */
function walk(value: unknown, depth: number, ctx: WalkContext): JsonValue | undefined {
  try {
    return walkUnsafe(value, depth, ctx);
  } catch {
    return UNREADABLE;
  }
}

function walkUnsafe(value: unknown, depth: number, ctx: WalkContext): JsonValue | undefined {
  ctx.nodes--;
  ctx.bytes -= 2;
  switch (typeof value) {
    case 'string':
      ctx.bytes -= Math.min(value.length, STRUCTURE_CHARS);
      return walkString(value, ctx);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;

  if (obj instanceof Date) {
    return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  }
  if (ArrayBuffer.isView(obj)) return `[binary ${obj.byteLength} bytes]`;
  if (obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) return `[binary ${obj.byteLength} bytes]`;
  if (obj instanceof RegExp) return walkString(obj.toString(), ctx);
  if (obj instanceof String || obj instanceof Number || obj instanceof Boolean) {
    return walkUnsafe(obj.valueOf(), depth, ctx);
  }
  if (depth > MAX_DEPTH) return MAX_DEPTH_MARKER;
  if (ctx.ancestors.has(obj)) return CIRCULAR;

  ctx.ancestors.add(obj);
  try {
    if (Array.isArray(obj)) return walkArray(obj, depth, ctx);
    if (obj instanceof Set) return walkIterable(obj.values(), obj.size, depth, ctx);
    if (obj instanceof Map) return walkEntries(mapEntries(obj), obj.size, depth, ctx);
    if (obj instanceof Error) {
      const entries: [string, unknown][] = [
        ['name', readProp(obj, 'name')],
        ['message', readProp(obj, 'message')],
      ];
      for (const key of Object.keys(obj)) {
        if (key !== 'name' && key !== 'message' && key !== 'stack') entries.push([key, undefined]);
      }
      return walkEntries(lazyEntries(obj, entries), entries.length, depth, ctx);
    }
    const toJSON = readProp(obj, 'toJSON');
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(obj);
      // A toJSON that returns its own receiver would otherwise loop; treat it as plain.
      if (replaced !== obj) return walk(replaced, depth + 1, ctx);
    }
    const keys = Object.keys(obj);
    return walkEntries(ownEntries(obj, keys), keys.length, depth, ctx);
  } finally {
    ctx.ancestors.delete(obj);
  }
}

/** Map entries with stringified keys; values are read eagerly (maps have no getters). */
function* mapEntries(map: Map<unknown, unknown>): Generator<[string, () => unknown]> {
  for (const [k, v] of map) yield [mapKeyToString(k), () => v];
}

/**
 * Object entries whose values are read only when needed, so that the value
 * under a sensitive key is never read (its getter never runs). A pre-read
 * value in the tuple is used when the key is not read from `obj` itself.
 */
function* lazyEntries(obj: object, entries: readonly [string, unknown][]): Generator<[string, () => unknown]> {
  for (const [key, preset] of entries) {
    yield [key, preset === undefined ? () => readProp(obj, key) : () => preset];
  }
}

/** Own enumerable entries of `obj` by `keys`, values read only when needed; nothing is built for keys never reached. */
function* ownEntries(obj: object, keys: readonly string[]): Generator<[string, () => unknown]> {
  for (const key of keys) yield [key, () => readProp(obj, key)];
}

function walkEntries(
  entries: Iterable<[string, () => unknown]>,
  size: number,
  depth: number,
  ctx: WalkContext,
): JsonObject {
  const out: JsonObject = {};
  let seen = 0;
  for (const [key, read] of entries) {
    if (seen >= ctx.maxKeys || spent(ctx)) {
      ctx.cut = true;
      setKey(out, '…', `${TRUNCATION_MARKER}: ${size - seen} more keys]`);
      return out;
    }
    seen++;
    // Keys count against the budget like strings; one too long to keep is cut.
    const outKey = key.length > ctx.maxString ? `${cutString(key, ctx.maxString)}…${TRUNCATION_MARKER}]` : key;
    if (outKey !== key) ctx.cut = true;
    ctx.chars -= outKey.length;
    ctx.bytes -= Math.min(outKey.length, STRUCTURE_CHARS) + 3;
    if (ctx.isSensitive?.(key)) {
      ctx.nodes--;
      setKey(out, outKey, REDACTED);
      continue;
    }
    const v = walk(read(), depth + 1, ctx);
    if (v !== undefined) setKey(out, outKey, v);
  }
  return out;
}

function walkArray(arr: readonly unknown[], depth: number, ctx: WalkContext): JsonValue[] {
  const out: JsonValue[] = [];
  const n = arr.length;
  for (let i = 0; i < n; i++) {
    if (i >= ctx.maxItems || spent(ctx)) {
      ctx.cut = true;
      out.push(`${TRUNCATION_MARKER}: ${n - i} more items]`);
      return out;
    }
    const v = walk(readProp(arr, i), depth + 1, ctx);
    out.push(v === undefined ? null : v);
  }
  return out;
}

function walkIterable(items: Iterable<unknown>, size: number, depth: number, ctx: WalkContext): JsonValue[] {
  const out: JsonValue[] = [];
  let i = 0;
  for (const item of items) {
    if (i >= ctx.maxItems || spent(ctx)) {
      ctx.cut = true;
      out.push(`${TRUNCATION_MARKER}: ${size - i} more items]`);
      return out;
    }
    i++;
    const v = walk(item, depth + 1, ctx);
    out.push(v === undefined ? null : v);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Size capping

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

interface Rendered {
  json: string;
  cut: boolean;
}

/** Serialises `value` with every limit scaled by `scale` (0..1) of the byte budget. */
function render(value: unknown, maxBytes: number, scale: number): Rendered {
  // At scale 1 these limits only cut what could never fit.
  const ctx = budgetContext(Math.floor(maxBytes * scale), undefined, false);
  const tree = walk(value, 0, ctx);
  return { json: JSON.stringify(tree === undefined ? null : tree), cut: ctx.cut };
}

/**
 * Serialises `value` to JSON of at most `maxBytes` UTF-8 bytes.
 *
 * The value is first made JSON-friendly as by {@link createRedactor} (without
 * redaction). If the JSON fits it is returned unchanged. Otherwise long
 * strings, arrays and objects are cut, all with the same, progressively
 * smaller, limits until the result fits (found by binary search, so the
 * outcome is deterministic). Every cut leaves a marker containing
 * {@link TRUNCATION_MARKER}: strings end in `…[truncated N chars]`, arrays get
 * a final `'[truncated: N more items]'` element and objects a `'…'` key with
 * `'[truncated: N more keys]'`. When not even the smallest such form fits, the
 * result is the JSON string `"[truncated: N bytes]"` (N: size of the JSON
 * before shrinking, at least) or `"[truncated]"`.
 *
 * @throws RangeError when `maxBytes` is NaN or below {@link MIN_CAP_BYTES}.
 */
export function capJson(value: unknown, maxBytes: number): string {
  if (Number.isNaN(maxBytes) || maxBytes < MIN_CAP_BYTES) {
    throw new RangeError(`capJson: maxBytes must be at least ${MIN_CAP_BYTES}, got ${maxBytes}`);
  }
  if (maxBytes === Infinity) return JSON.stringify(walk(value, 0, unlimitedContext(undefined, false)) ?? null);
  maxBytes = Math.floor(maxBytes);

  const full = render(value, maxBytes, 1);
  const fullBytes = utf8Length(full.json);
  if (fullBytes <= maxBytes) return full.json;

  // Largest scale step (of STEPS) whose rendering fits.
  const STEPS = 1024;
  let lo = 0;
  let hi = STEPS - 1;
  let best: string | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const attempt = render(value, maxBytes, mid / STEPS);
    if (utf8Length(attempt.json) <= maxBytes) {
      best = attempt.json;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best !== undefined) return best;

  const fallback = JSON.stringify(`${TRUNCATION_MARKER}: ${fullBytes} bytes]`);
  if (utf8Length(fallback) <= maxBytes) return fallback;
  return JSON.stringify(`${TRUNCATION_MARKER}]`);
}

/**
 * Limits for an output of about `budget` bytes, the same as {@link capJson}'s
 * first attempt: a string of n chars needs n + 2 bytes, an array of n items
 * 2n + 1, an object of n keys 5n + 1, and every value at least one byte.
 */
function budgetContext(budget: number, isSensitive: WalkContext['isSensitive'], maskCards: boolean, structureBytes = Infinity): WalkContext {
  return {
    isSensitive,
    maskCards,
    maxString: budget,
    maxItems: Math.floor(budget / 2),
    maxKeys: Math.floor(budget / 4),
    nodes: budget,
    bytes: structureBytes,
    chars: budget * 8,
    cut: false,
    ancestors: new Set(),
  };
}

function unlimitedContext(isSensitive: WalkContext['isSensitive'], maskCards: boolean): WalkContext {
  return {
    isSensitive,
    maskCards,
    maxString: Infinity,
    maxItems: Infinity,
    maxKeys: Infinity,
    nodes: Infinity,
    bytes: Infinity,
    chars: Infinity,
    cut: false,
    ancestors: new Set(),
  };
}

// ---------------------------------------------------------------------------
// Free text

/** `<key …>value<` : an XML / HTML element holding a value (name, optional attributes, text up to the next tag). */
const ELEMENT_VALUE = /<([\w.:-]{1,128})(\s[^<>]{0,1024})?>([^<]*)/g;

/**
 * The `key=` of `key=value`, `key: value`, `"key": "value"`: a key (up to 128
 * name characters), an optional closing quote, `=` or `:`. Every quantifier
 * is bounded, so a failed attempt costs at most 128 steps.
 */
const KEY_SEPARATOR = /([\w.%[\]-]{1,128})("?[ \t]{0,8}[=:][ \t]{0,8})/g;

/** Longest quoted value looked for. */
const MAX_QUOTED = 4096;

/** Authorization schemes whose credentials follow after a space (`Authorization: Bearer <token>`). */
const SCHEMES = new Set(['bearer', 'basic', 'digest', 'token', 'apikey']);

function isValueEnd(c: string): boolean {
  return c === '&' || c === ';' || c === ',' || c === '"' || c === "'" || c === ' ' || c === '\t' || c === '\n' || c === '\r';
}

/** End of the value starting at `start`: a quoted string (quotes included), else up to a separator or whitespace. */
function valueEnd(text: string, start: number): number {
  const q = text[start];
  if (q === '"' || q === "'") {
    const close = text.indexOf(q, start + 1);
    const nl = text.indexOf('\n', start + 1);
    if (close !== -1 && close - start <= MAX_QUOTED && (nl === -1 || nl > close)) return close + 1;
  }
  let end = start;
  while (end < text.length && !isValueEnd(text[end] as string)) end++;
  // `Bearer <token>`: the credential is the word after the scheme.
  if (text[end] === ' ' && SCHEMES.has(text.slice(start, end).toLowerCase())) {
    end++;
    while (end < text.length && !isValueEnd(text[end] as string)) end++;
  }
  return end;
}

/** Replaces the values of sensitive keys in `key=value` forms (see {@link redactText}). */
function redactKeyValues(text: string, sensitive: (key: string) => boolean): string {
  const re = new RegExp(KEY_SEPARATOR.source, 'g');
  let out = '';
  let copied = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (!sensitive(m[1] as string)) continue;
    const start = re.lastIndex;
    const end = valueEnd(text, start);
    if (end === start) continue;
    const q = text[start];
    const quoted = (q === '"' || q === "'") && text[end - 1] === q && end - start >= 2;
    out += text.slice(copied, start) + (quoted ? `${q}${REDACTED}${q}` : REDACTED);
    copied = end;
    re.lastIndex = end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Decodes `%xx` escapes of a form key; the key itself when it is not valid. */
function decodeFormKey(key: string): string {
  if (!key.includes('%')) return key;
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}

/** Options of {@link redactText}. */
export interface RedactTextOptions {
  /** Sensitive keys besides {@link DEFAULT_REDACT_KEYS}. Default: none. */
  keys?: readonly string[];
  /** Decides which keys are sensitive instead of `keys` (e.g. one made by {@link sensitiveKeyTest}). */
  isSensitive?: (key: string) => boolean;
  /** Longest text kept (UTF-16 units); longer text is cut first and marked. Default: 4096. */
  maxLength?: number;
}

/**
 * Redacts free text that may carry credentials: request bodies kept as text
 * (`text/plain`, form-encoded, XML) and error messages. The text is first cut
 * to `maxLength` (ending in `…[truncated N chars]`), so the work is bounded
 * by the cap, not by the input. Then the values of sensitive keys (matched
 * as in {@link createRedactor}) become {@link REDACTED} in `key=value`,
 * `key: value` and `"key": "value"` forms and in XML elements
 * (`<password>…</password>`), and payment card numbers become
 * {@link CARD_REDACTED}. Never throws.
 */
export function redactText(text: string, options: RedactTextOptions = {}): string {
  try {
    const maxLength = Math.max(0, options.maxLength ?? 4096);
    const test = options.isSensitive ?? sensitiveKeyTest(options.keys ?? []);
    const sensitive = (key: string): boolean => test(decodeFormKey(key));
    const head = capText(String(text), maxLength);
    let out = head.replace(ELEMENT_VALUE, (whole: string, name: string, attrs: string | undefined) =>
      sensitive(name) ? `<${name}${attrs ?? ''}>${REDACTED}` : whole,
    );
    out = maskCardNumbers(redactKeyValues(out, sensitive));
    return head.length < text.length ? `${out}…${TRUNCATION_MARKER} ${text.length - head.length} chars]` : out;
  } catch {
    return UNREADABLE;
  }
}
