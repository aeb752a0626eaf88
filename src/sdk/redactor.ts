/**
 * Sanitised, JSON-friendly copies of values that end up in audit records
 * (request bodies, response bodies, headers, hook results).
 *
 * With a byte budget (`createRedactor(keys, { maxBytes })`, as the SDK uses
 * it) the walk stops once the budget is spent: the work per value is bounded
 * by the budget, not by the size of the value, however large a request body
 * is.
 */

import { walk } from './json-walk.js';
import { keyClassifier } from './redact.js';
import { budgetContext, unlimitedContext } from './walk-budget.js';

/** Options of {@link createRedactor}. */
export interface RedactorOptions {
  /**
   * Output budget in bytes: once values and keys worth about this many
   * bytes of JSON structure have been produced, the rest of every container
   * is replaced by a truncation marker without being read. Strings are cut
   * at `maxBytes` characters (and all strings together at 8 × `maxBytes`),
   * as `capJson` would at the same size, which then shortens them
   * evenly. The work per value is thus bounded by `maxBytes`, whatever the
   * size of the value. Default: unlimited.
   */
  maxBytes?: number;
}

/** A redaction function with its key-decision cache exposed for diagnostics. */
export interface Redactor {
  (value: unknown): unknown;
  /** Bytes held by the key-decision cache (never above `MAX_KEY_CACHE_BYTES`). */
  readonly cacheBytes: number;
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
  const { isSensitive, cache } = keyClassifier(extraKeys);
  const maxBytes = options.maxBytes;
  const bounded = maxBytes !== undefined && Number.isFinite(maxBytes) && maxBytes > 0;
  const redact = (value: unknown): unknown =>
    walk(value, 0, bounded ? budgetContext(Math.floor(maxBytes), isSensitive, true, Math.floor(maxBytes)) : unlimitedContext(isSensitive, true));
  Object.defineProperty(redact, 'cacheBytes', { get: () => cache.bytes, enumerable: true });
  return redact as Redactor;
}
