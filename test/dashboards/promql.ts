/**
 * The metric and label names a PromQL expression reads, for checking
 * dashboards against what the sink exposes. A small lexer, not a parser:
 * strings, numbers and durations, range selectors and Grafana variables are
 * dropped; a name followed by `(` is a function; `by (...)`, `without (...)`,
 * `on (...)`, `ignoring (...)`, `group_left (...)`, `group_right (...)` and
 * `{...}` matchers give label names; every other name is a metric.
 */

export interface PromqlNames {
  metrics: string[];
  labels: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'start', 'end']);
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const MATCHERS = /\{([^}]*)\}/g;
const MATCHER_LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g;
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const RANGE = /\[[^\]]*\]/g;
const TEMPLATE_VARIABLE = /\$\{[^}]*\}|\$\w+|\[\[\w+(?::\w+)?\]\]/g;
const NUMBER = /(?<![\w:])\d[\w.]*(?:[eE][+-]?\d+)?/g;
const IDENTIFIER = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;

function unique(list: string[]): string[] {
  return [...new Set(list)].sort();
}

export function promqlNames(expr: string): PromqlNames {
  const labels: string[] = [];
  let text = expr.replace(TEMPLATE_VARIABLE, ' ').replace(STRING, '""');
  text = text.replace(MATCHERS, (_m: string, body: string) => {
    for (const m of body.matchAll(MATCHER_LABEL)) labels.push(m[1] as string);
    return ' ';
  });
  text = text.replace(GROUPING, (_m: string, list: string) => {
    for (const l of list.split(',')) if (l.trim()) labels.push(l.trim());
    return ' ';
  });
  text = text.replace(RANGE, ' ').replace(NUMBER, ' ');
  const metrics: string[] = [];
  for (const m of text.matchAll(IDENTIFIER)) {
    const name = m[0];
    const after = text.slice((m.index ?? 0) + name.length);
    if (/^\s*\(/.test(after)) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    metrics.push(name);
  }
  // A bare `__name__` matcher names the metric too.
  for (const m of expr.matchAll(/__name__\s*=\s*"([^"]+)"/g)) metrics.push(m[1] as string);
  return { metrics: unique(metrics), labels: unique(labels.filter((l) => l !== '__name__')) };
}

/** Names read by a Grafana Prometheus variable query: `label_values(selector, label)`, `query_result(expr)`, `metrics(re)`. */
export function variableQueryNames(query: string): PromqlNames {
  const q = query.trim();
  const lv = /^label_values\(\s*(?:(.*?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/.exec(q);
  if (lv) {
    const inner = lv[1] ? promqlNames(lv[1]) : { metrics: [], labels: [] };
    return { metrics: inner.metrics, labels: unique([...inner.labels, lv[2] as string]) };
  }
  const qr = /^query_result\((.*)\)$/.exec(q);
  if (qr) return promqlNames(qr[1] as string);
  if (/^(label_names|metrics)\(/.test(q)) return { metrics: [], labels: [] };
  return promqlNames(q);
}

/**
 * Sample names of a Prometheus text exposition (histograms as `_bucket`,
 * `_sum`, `_count`; a labelled metric only once it has a series), with the
 * label names each carries.
 */
export function exposedSeries(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const name = sample[1] as string;
    const set = out.get(name) ?? new Set<string>();
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(m[1] as string);
    out.set(name, set);
  }
  return out;
}
