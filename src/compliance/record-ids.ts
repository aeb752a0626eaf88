/**
 * Record ids as the export reads them: decimal text (int8 as Postgres prints
 * it), compared without converting to numbers.
 */

/** Compares two non-negative decimal integers given as text. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** How many rows of an id-ordered batch have an id above `limit` (all when nothing is sealed). */
export function countAbove<T>(batch: readonly T[], limit: string | null, idOf: (row: T) => string): number {
  if (limit === null) return batch.length;
  const last = batch[batch.length - 1];
  if (last === undefined || compareIds(idOf(last), limit) <= 0) return 0;
  // Binary search for the first id above the limit.
  let lo = 0;
  let hi = batch.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(idOf(batch[mid] as T), limit) > 0) hi = mid;
    else lo = mid + 1;
  }
  return batch.length - lo;
}

export function idInRange(id: string, first: string, last: string): boolean {
  return compareIds(id, first) >= 0 && compareIds(id, last) <= 0;
}
