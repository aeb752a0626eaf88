/**
 * What redaction hides and what it leaves in place: the sensitive keys (the
 * built-in list plus configured ones, matched by containment) and the
 * markers that replace hidden, cut or unreadable values.
 */

import { BoundedCache } from './bounded-cache.js';
import { MAX_CACHED_KEY_LENGTH } from './input-limits.js';

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

/** Replacement for containers nested deeper than the walk's depth limit. */
export const MAX_DEPTH_MARKER = '[MaxDepth]';

/** Replacement for values that could not be read (throwing getters, revoked proxies). */
export const UNREADABLE = '[Unreadable]';

/** Normalised form used to compare keys: lowercase, alphanumerics only. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Budget of a redactor's per-key decision cache. */
export const MAX_KEY_CACHE_BYTES = 64 * 1024;

/** Normalised, de-duplicated sensitive keys: the defaults plus `extraKeys`. */
function needlesOf(extraKeys: readonly string[]): string[] {
  return [...new Set([...DEFAULT_REDACT_KEYS, ...extraKeys].map(normalizeKey))].filter((k) => k.length > 0);
}

/**
 * Decides per key whether it is sensitive (default list plus `extraKeys`).
 * Decisions for keys up to {@link MAX_CACHED_KEY_LENGTH} units are cached
 * within {@link MAX_KEY_CACHE_BYTES}; longer keys, which only a client
 * inventing keys sends, are decided every time and never kept.
 */
export function keyClassifier(extraKeys: readonly string[]): { isSensitive: (key: string) => boolean; cache: BoundedCache<boolean> } {
  const needles = needlesOf(extraKeys);
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
 * the redactor decides, with the same bounded cache.
 */
export function sensitiveKeyTest(extraKeys: readonly string[] = []): (key: string) => boolean {
  return keyClassifier(extraKeys).isSensitive;
}
