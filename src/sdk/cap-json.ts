/** Serialising any value to JSON of at most a given number of UTF-8 bytes. */

import { walk } from './json-walk.js';
import { TRUNCATION_MARKER } from './redact.js';
import { budgetContext, unlimitedContext } from './walk-budget.js';

/** Smallest `maxBytes` accepted by {@link capJson}: the size of its last-resort output `"[truncated]"`. */
export const MIN_CAP_BYTES = 13;

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
 * The value is first made JSON-friendly as by `createRedactor` (without
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
