/**
 * The link from a record to its trace in the APM, from a URL template:
 * Jaeger `http://jaeger:16686/trace/{trace_id}`, Tempo in Grafana
 * `https://grafana/explore?left={"queries":[{"query":"{trace_id}"}]}`, or any
 * APM's trace URL. Placeholders: `{trace_id}`, `{span_id}`, `{service_name}`,
 * and `{start_ms}` / `{end_ms}` (epoch milliseconds, a window around the
 * record for APMs that search by time). Values are URL-encoded.
 */

/** Half the time window given to `{start_ms}`/`{end_ms}`. */
export const TRACE_WINDOW_MS = 60 * 60 * 1000;

const PLACEHOLDER = /\{(trace_id|span_id|service_name|start_ms|end_ms)\}/g;

export interface TraceFields {
  trace_id: string;
  span_id: string;
  service_name: string;
  occurred_at: string;
}

/** Throws when the template is not an http(s) URL or names an unknown placeholder. */
export function checkTraceTemplate(template: string): void {
  let url: URL;
  try {
    url = new URL(template.replace(PLACEHOLDER, 'x'));
  } catch {
    throw new Error(`trace URL template "${template}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`trace URL template "${template}" must be http or https`);
  const unknown = /\{([a-z_]+)\}/.exec(template.replace(PLACEHOLDER, ''));
  if (unknown) throw new Error(`trace URL template: unknown placeholder {${unknown[1]}}; known: {trace_id}, {span_id}, {service_name}, {start_ms}, {end_ms}`);
}

export function traceLink(template: string | undefined, record: TraceFields): string | null {
  if (template === undefined) return null;
  const at = Date.parse(record.occurred_at);
  const values: Record<string, string> = {
    trace_id: record.trace_id,
    span_id: record.span_id,
    service_name: record.service_name,
    start_ms: String(at - TRACE_WINDOW_MS),
    end_ms: String(at + TRACE_WINDOW_MS),
  };
  return template.replace(PLACEHOLDER, (_, name: string) => encodeURIComponent(values[name] ?? ''));
}
