import { diag } from '@opentelemetry/api';
import {
  AlwaysOffSampler, AlwaysOnSampler, createAlwaysRecordSampler, ParentBasedSampler,
  TraceIdRatioBasedSampler, type Sampler,
} from '@opentelemetry/sdk-trace';
import type { Env } from './env.js';

function ratio(env: Env): number {
  const raw = env['OTEL_TRACES_SAMPLER_ARG']?.trim();
  const n = raw === undefined || raw === '' ? NaN : Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    if (raw !== undefined) diag.error(`otel-audit: OTEL_TRACES_SAMPLER_ARG=${raw} is not in [0..1]; using 1`);
    return 1;
  }
  return n;
}

/**
 * The sampler OpenTelemetry would build from `OTEL_TRACES_SAMPLER` /
 * `OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`).
 */
export function samplerFromEnv(env: Env = process.env): Sampler {
  const name = env['OTEL_TRACES_SAMPLER']?.trim().toLowerCase() || 'parentbased_always_on';
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio(env));
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio(env)) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      diag.error(`otel-audit: unknown OTEL_TRACES_SAMPLER "${name}"; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * Wrap the configured sampler so that every span is recorded (the audit
 * processor sees it) while only the configured sampler's choice is marked
 * sampled (the APM exporter sends only those). A trace sampled out for the
 * APM is still audited.
 */
export function auditSampler(base: Sampler = samplerFromEnv()): Sampler {
  return createAlwaysRecordSampler(base);
}
