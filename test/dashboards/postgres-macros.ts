/**
 * The back-end half of a Grafana PostgreSQL query: the global substitutions
 * of every SQL data source (`$__interval`, `$__interval_ms`,
 * `$__unixEpochFrom()`, `$__unixEpochTo()`) and then the PostgreSQL macro
 * engine (grafana-postgresql-datasource, TimescaleDB off), which expands:
 *
 * | macro | becomes |
 * |---|---|
 * | `$__time(col)` | `col AS "time"` |
 * | `$__timeEpoch(col)` | `extract(epoch from col) as "time"` |
 * | `$__timeFilter(col)` | `col BETWEEN '<from>' AND '<to>'` (RFC 3339, UTC) |
 * | `$__timeFrom()`, `$__timeTo()` | `'<from>'`, `'<to>'` |
 * | `$__timeGroup(col, '5m'[, fill])` | `floor(extract(epoch from col)/300)*300` |
 * | `$__timeGroupAlias(col, '5m'[, fill])` | the same `AS "time"` |
 * | `$__unixEpochFilter(col)` | `col >= <from s> AND col <= <to s>` |
 * | `$__unixEpochNanoFilter(col)`, `$__unixEpochNanoFrom()`, `$__unixEpochNanoTo()` | nanoseconds |
 * | `$__unixEpochGroup(col, '5m')`, `$__unixEpochGroupAlias(...)` | `floor((col)/300)*300` |
 *
 * A macro's arguments end at the first `)`, as in Grafana (`[^)]*`). The fill
 * argument of `$__timeGroup` changes nothing in the SQL: Grafana fills the
 * missing intervals of the result afterwards.
 */

export interface TimeRange {
  from: Date;
  to: Date;
}

const MACRO = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

/** Go's time.RFC3339Nano of a UTC instant: fraction without trailing zeros, none when zero. */
export function rfc3339Nano(d: Date): string {
  const iso = d.toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_m: string, digits: string) => (digits ? `.${digits}Z` : 'Z'));
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, M: 2_592_000, y: 31_536_000 };

/** Grafana's gtime.ParseInterval for the forms dashboards use: `10s`, `1m`, `1h`, `1d`, ... (in seconds). */
export function intervalSeconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$/.exec(text.trim().replace(/^'|'$/g, ''));
  if (!m) throw new Error(`error parsing interval ${text}`);
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

function unix(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function unixNano(d: Date): string {
  return (BigInt(d.getTime()) * 1_000_000n).toString();
}

/** Go's %v of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6 on. */
export function goFloat(n: number): string {
  if (n === 0) return '0';
  const [mantissa, exp] = n.toExponential().split('e') as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 6) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(n);
}

function evaluate(name: string, args: string[], range: TimeRange): string {
  // As in Grafana, the column is not checked: `$__timeFilter()` gives ` BETWEEN ...`, which Postgres refuses.
  const col = args[0] ?? '';
  switch (name) {
    case '__time':
      return `${col} AS "time"`;
    case '__timeEpoch':
      return `extract(epoch from ${col}) as "time"`;
    case '__timeFilter':
      return `${col} BETWEEN '${rfc3339Nano(range.from)}' AND '${rfc3339Nano(range.to)}'`;
    case '__timeFrom':
      return `'${rfc3339Nano(range.from)}'`;
    case '__timeTo':
      return `'${rfc3339Nano(range.to)}'`;
    case '__timeGroup': {
      if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`);
      const s = goFloat(intervalSeconds(args[1] as string));
      return `floor(extract(epoch from ${col})/${s})*${s}`;
    }
    case '__timeGroupAlias':
      return `${evaluate('__timeGroup', args, range)} AS "time"`;
    case '__unixEpochFilter':
      return `${col} >= ${unix(range.from)} AND ${col} <= ${unix(range.to)}`;
    case '__unixEpochNanoFilter':
      return `${col} >= ${unixNano(range.from)} AND ${col} <= ${unixNano(range.to)}`;
    case '__unixEpochNanoFrom':
      return unixNano(range.from);
    case '__unixEpochNanoTo':
      return unixNano(range.to);
    case '__unixEpochGroup': {
      if (args.length < 2) throw new Error(`macro ${name} needs time column and interval and optional fill value`);
      const s = goFloat(intervalSeconds(args[1] as string));
      return `floor((${col})/${s})*${s}`;
    }
    case '__unixEpochGroupAlias':
      return `${evaluate('__unixEpochGroup', args, range)} AS "time"`;
    default:
      throw new Error(`unknown macro "${name}"`);
  }
}

/** The global substitutions of Grafana's SQL data sources (sqleng `Interpolate`). */
export function interpolateGlobals(sql: string, range: TimeRange, interval: string): string {
  return sql
    .replaceAll('$__interval_ms', String(Math.round(intervalSeconds(interval) * 1000)))
    .replaceAll('$__interval', interval)
    .replaceAll('$__unixEpochFrom()', String(unix(range.from)))
    .replaceAll('$__unixEpochTo()', String(unix(range.to)));
}

/** The PostgreSQL macro engine (TimescaleDB off). */
export function expandMacros(sql: string, range: TimeRange): string {
  return sql.replace(MACRO, (whole: string, rawName: string, rawArgs: string) => {
    let name = rawName;
    // Grafana < 5.3 compatibility: `$__timeGroup(...)` followed by a comma means the aliased form.
    // Like Grafana, look at the first occurrence of the same text.
    const at = sql.indexOf(whole);
    if (name === '__timeGroup' && at >= 0 && sql[at + whole.length] === ',') name = '__timeGroupAlias';
    const args = rawArgs.split(',').map((a) => a.trim());
    return evaluate(name, args, range);
  });
}
