/**
 * A dashboard's SQL as Grafana sends it to Postgres: template variables
 * (front end), then the global substitutions and macros (back end).
 */
import type { Dashboard } from './dashboard-model.js';
import { expandMacros, interpolateGlobals, intervalSeconds, type TimeRange } from './postgres-macros.js';
import { interpolateVariables, type VariableValue } from './template-variables.js';

export interface QueryOptions {
  range: TimeRange;
  /** `$__interval` of the request, e.g. `1h`. Default `1m`. */
  interval?: string;
  /** Variable values; unnamed variables keep the dashboard's `current` (All for the filters). */
  selection?: Record<string, VariableValue>;
  /** Values of a repeated row, e.g. `{ module: 'jenkins' }`. */
  scopedVars?: Record<string, string>;
  /** Values of query variables, for All without a custom all value. */
  options?: Record<string, string[]>;
}

export function expandSql(d: Dashboard, sql: string, o: QueryOptions): string {
  const interval = o.interval ?? '1m';
  const rangeMs = o.range.to.getTime() - o.range.from.getTime();
  const builtins = {
    __interval: interval,
    __interval_ms: String(Math.round(intervalSeconds(interval) * 1000)),
    __range: `${Math.round(rangeMs / 1000)}s`,
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(rangeMs),
  };
  const front = interpolateVariables(sql, {
    variables: d.templating.list,
    builtins,
    ...(o.selection ? { selection: o.selection } : {}),
    ...(o.scopedVars ? { scopedVars: o.scopedVars } : {}),
    ...(o.options ? { options: o.options } : {}),
  });
  return expandMacros(interpolateGlobals(front, o.range, interval), o.range);
}
