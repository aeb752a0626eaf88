import type { NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import { envText, type Env } from './env.js';

/** The Node SDK options that decide whether it starts metrics and logs. */
export type OptionalProviders = Pick<Partial<NodeSDKConfiguration>, 'metricReaders' | 'logRecordProcessors'>;

/**
 * Metrics and logs start only when their exporters are configured
 * (`OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER` set and not blank): audit
 * and traces need neither. Left to itself the Node SDK would start an OTLP
 * metrics exporter and an OTLP logs exporter by default, and with no
 * collector listening the metrics one prints a connection error at every
 * export and at exit. An empty list turns a provider off; an omitted option
 * leaves it to the SDK, which reads the variable as usual.
 */
export function optionalProviders(env: Env = process.env): OptionalProviders {
  const out: OptionalProviders = {};
  if (envText(env, 'OTEL_METRICS_EXPORTER') === undefined) out.metricReaders = [];
  if (envText(env, 'OTEL_LOGS_EXPORTER') === undefined) out.logRecordProcessors = [];
  return out;
}
