import { diag } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { parseList } from './config.js';
import { envText, type Env } from './env.js';

function num(env: Env, name: string): number | undefined {
  const v = envText(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function otlpExporter(env: Env): SpanExporter {
  const protocol = (env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'grpc').trim();
  switch (protocol) {
    case 'http/protobuf':
      return new ProtoTraceExporter();
    case 'http/json':
      return new JsonTraceExporter();
    case 'grpc':
      return new GrpcTraceExporter();
    default:
      diag.warn(`otel-audit: unsupported OTLP traces protocol "${protocol}"; using grpc`);
      return new GrpcTraceExporter();
  }
}

/**
 * The span processors plain OpenTelemetry would run for the APM, from
 * `OTEL_TRACES_EXPORTER` (default `otlp`, over gRPC unless
 * `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` says otherwise) and `OTEL_BSP_*`.
 * `none` means no APM export; audit records are not affected.
 */
export function apmSpanProcessors(env: Env = process.env): SpanProcessor[] {
  const names = [...new Set(parseList(env['OTEL_TRACES_EXPORTER']))];
  if (names.length === 0) names.push('otlp');
  if (names.includes('none')) return [];
  const out: SpanProcessor[] = [];
  for (const name of names) {
    if (name === 'console') {
      out.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
    } else if (name === 'otlp') {
      out.push(
        new BatchSpanProcessor({
          exporter: otlpExporter(env),
          maxQueueSize: num(env, 'OTEL_BSP_MAX_QUEUE_SIZE'),
          scheduledDelayMillis: num(env, 'OTEL_BSP_SCHEDULE_DELAY'),
          exportTimeoutMillis: num(env, 'OTEL_BSP_EXPORT_TIMEOUT'),
          maxExportBatchSize: num(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
        }),
      );
    } else {
      diag.warn(`otel-audit: unsupported OTEL_TRACES_EXPORTER value "${name}"`);
    }
  }
  return out;
}
