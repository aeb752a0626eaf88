/**
 * The filters of the query API, read from a URL's query string, and the
 * SQL they make. Every filter is an exact match on one column except `q`, a
 * case-insensitive substring of url_path or actor_name; `from`/`to` bound
 * occurred_at, half-open. Unknown parameters are refused, so a misspelt
 * filter never silently shows everything.
 */
import { parseTimeBound } from '../compliance/export-time.js';
import { OUTCOMES } from '../contract/values.js';
import { ACTOR_INDEX_ATTRIBUTE } from '../crypto/encryption-config.js';
import { HttpError } from './http-error.js';

/** Filters that match one column exactly, named as the column. */
export const EXACT_FILTERS = [
  'tenant_id', 'actor_id', 'action', 'resource_type', 'resource_id', 'module', 'outcome', 'service_name', 'trace_id',
] as const;
export type ExactFilter = (typeof EXACT_FILTERS)[number];

export interface RecordFilter {
  exact: Partial<Record<ExactFilter, string>>;
  /** Substring of url_path or actor_name, any case. */
  q?: string;
  /** occurred_at >= from (ISO, microseconds). */
  from?: string;
  /** occurred_at < to. */
  to?: string;
  /** The blind index of the actor_id filter (set when the reader may use the key): an encrypted actor id matches by it. */
  actorIndex?: string;
}

/** Longest filter value accepted: values are compared, never stored. */
const MAX_VALUE_CHARS = 512;
const TRACE_ID = /^[0-9a-f]{32}$/;

/** Parameters that are not filters but may accompany them. */
const OTHER_PARAMS = new Set(['cursor', 'limit', 'bucket', 'format']);

export function parseFilter(params: URLSearchParams): RecordFilter {
  const filter: RecordFilter = { exact: {} };
  for (const key of new Set(params.keys())) {
    if (params.getAll(key).length > 1) throw new HttpError(400, 'bad_filter', `"${key}" is given more than once`);
    const value = params.get(key) as string;
    if (value.length > MAX_VALUE_CHARS) throw new HttpError(400, 'bad_filter', `"${key}" is longer than ${MAX_VALUE_CHARS} characters`);
    if (OTHER_PARAMS.has(key) || value === '') continue;
    if (key === 'from' || key === 'to') {
      try {
        filter[key] = parseTimeBound(value, key).iso;
      } catch (err) {
        throw new HttpError(400, 'bad_filter', (err as Error).message);
      }
    } else if (key === 'q') {
      filter.q = value;
    } else if ((EXACT_FILTERS as readonly string[]).includes(key)) {
      filter.exact[key as ExactFilter] = key === 'trace_id' ? value.toLowerCase() : value;
    } else {
      throw new HttpError(400, 'bad_filter', `unknown parameter "${key}"; filters: ${[...EXACT_FILTERS, 'q', 'from', 'to'].join(', ')}`);
    }
  }
  const outcome = filter.exact.outcome;
  if (outcome !== undefined && !(OUTCOMES as readonly string[]).includes(outcome)) {
    throw new HttpError(400, 'bad_filter', `outcome must be one of ${OUTCOMES.join(', ')}`);
  }
  const trace = filter.exact.trace_id;
  if (trace !== undefined && !TRACE_ID.test(trace)) throw new HttpError(400, 'bad_filter', 'trace_id must be 32 hex digits');
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    throw new HttpError(400, 'bad_filter', `from ${filter.from} is not before to ${filter.to}`);
  }
  return filter;
}

/** The filter as plain JSON, for the audit record of a search. */
export function describeFilter(filter: RecordFilter): Record<string, string> {
  return {
    ...filter.exact,
    ...(filter.q !== undefined ? { q: filter.q } : {}),
    ...(filter.from !== undefined ? { from: filter.from } : {}),
    ...(filter.to !== undefined ? { to: filter.to } : {}),
  };
}

/** `LIKE` pattern matching text anywhere, with `\`, `%` and `_` in it taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** SQL conditions over `audit.records r`, numbered from `params.length + 1`; params is extended. */
export function filterClauses(filter: RecordFilter, params: unknown[]): string[] {
  const clauses: string[] = [];
  const add = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.from !== undefined) clauses.push(`r.occurred_at >= ${add(filter.from)}::timestamptz`);
  if (filter.to !== undefined) clauses.push(`r.occurred_at < ${add(filter.to)}::timestamptz`);
  for (const column of EXACT_FILTERS) {
    const value = filter.exact[column];
    if (value === undefined) continue;
    if (column === 'actor_id' && filter.actorIndex !== undefined) {
      clauses.push(`(r.actor_id = ${add(value)} OR r.attributes ->> '${ACTOR_INDEX_ATTRIBUTE}' = ${add(filter.actorIndex)})`);
    } else {
      clauses.push(`r.${column} = ${add(value)}`);
    }
  }
  if (filter.q !== undefined) {
    const p = add(containsPattern(filter.q));
    clauses.push(`(r.url_path ILIKE ${p} OR r.actor_name ILIKE ${p})`);
  }
  return clauses;
}
