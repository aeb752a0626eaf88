/**
 * Values that many rows share by reference: the cleaned resource attributes
 * of a request (attributes-column.ts) go into every row of it. They are
 * frozen, deeply, when shared, so that a serialised form computed once per
 * value stays true for every row that holds it; the content hash
 * (content-hash.ts) reuses that form instead of serialising the value again
 * for each row.
 */

/** Values registered by {@link share}, with their canonical JSON once computed. */
const SHARED = new WeakMap<object, { canonical: string | undefined }>();

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** Freezes `value` deeply and marks it as shared between rows; returns it. */
export function share<T extends object>(value: T): T {
  deepFreeze(value);
  if (!SHARED.has(value)) SHARED.set(value, { canonical: undefined });
  return value;
}

/**
 * The canonical JSON of a shared value, computed at most once per value by
 * `compute`; undefined for a value that was not shared.
 */
export function sharedForm(value: object, compute: (v: object) => string): string | undefined {
  const entry = SHARED.get(value);
  if (entry === undefined) return undefined;
  entry.canonical ??= compute(value);
  return entry.canonical;
}
