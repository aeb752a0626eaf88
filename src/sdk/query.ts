import { MAX_QUERY_LENGTH } from './input-limits.js';

/** Query parameters by name: a string, or every value in order when the name repeats. */
export type QueryParams = Record<string, string | string[]>;

/**
 * The query parameters of a request URL, as sent: names are kept verbatim
 * (`toString`, `__proto__` and `constructor` are ordinary names: the result
 * has no prototype), a repeated name gives an array of its values in order.
 * Only the first {@link MAX_QUERY_LENGTH} characters of the query are read,
 * up to the last whole parameter within them.
 */
export function parseQuery(url: string | undefined): QueryParams {
  const out = Object.create(null) as QueryParams;
  if (typeof url !== 'string') return out;
  const q = url.indexOf('?');
  if (q < 0) return out;
  let query = url.slice(q + 1, q + 1 + MAX_QUERY_LENGTH + 1);
  if (query.length > MAX_QUERY_LENGTH) {
    const amp = query.lastIndexOf('&', MAX_QUERY_LENGTH);
    query = query.slice(0, amp > 0 ? amp : MAX_QUERY_LENGTH);
  }
  const hash = query.indexOf('#');
  if (hash !== -1) query = query.slice(0, hash);
  for (const [k, v] of new URLSearchParams(query)) {
    const prev = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}
