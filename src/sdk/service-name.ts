import { envText } from './env.js';

/**
 * `service.name` when no resource says it: `OTEL_SERVICE_NAME`, else the
 * OpenTelemetry default `unknown_service:<process.argv0>`.
 */
export function defaultServiceName(env: Record<string, string | undefined> = process.env): string {
  return envText(env, 'OTEL_SERVICE_NAME') ?? `unknown_service:${process.argv0}`;
}
