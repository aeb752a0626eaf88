/**
 * The walker shared by the redactor and `capJson`: turns any value
 * into a JSON-friendly tree without ever throwing: cycles, throwing getters,
 * exotic objects and runaway nesting all become short marker strings. With a
 * budget (see {@link WalkContext}) the walk stops once the budget is spent,
 * so its work is bounded by the budget, not by the size of the value.
 */

import type { JsonValue } from '../contract/values.js';
import { maskCardNumbers } from './card-numbers.js';
import { CIRCULAR, MAX_DEPTH_MARKER, REDACTED, TRUNCATION_MARKER, UNREADABLE } from './redact.js';
import { spent, STRUCTURE_CHARS, type WalkContext } from './walk-budget.js';

/** Deepest container nesting kept; deeper containers become {@link MAX_DEPTH_MARKER}. */
export const MAX_DEPTH = 32;

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
export function walk(value: unknown, depth: number, ctx: WalkContext): JsonValue | undefined {
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
