// Plain OpenTelemetry, as a service without otel-audit would run it: the Node
// SDK with HTTP and express instrumentation, spans batched (BatchSpanProcessor,
// OTEL_BSP_* settings) and exported over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT.
// With OTEL_TRACES_EXPORTER=none, no span exporter: the SDK then reads that
// setting itself, as it does for a service configured so.
//   node --import ./bench/plain-otel.mjs app.mjs
// The baseline of bench/sdk-overhead: otel-audit's register hook sets up the
// same instrumentation, span pipeline and ES module loader hook, plus audit.
// BENCH_PLAIN_FASTIFY=1 adds fastify's own instrumentation (@fastify/otel),
// as the APM set-up of a fastify service would have it: bench/sdk-startup
// sets it for its fastify app, whose otel-audit run loads @fastify/otel too.
import { supportsSyncHooks, register as registerSyncHooks } from 'import-in-the-middle/register-hooks.mjs';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import * as nodeModule from 'node:module';
import { diag } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';

// ES module apps are patched only through a loader hook, which must be in
// place before the instrumentations are created and the app is imported.
const withFastify = process.env.BENCH_PLAIN_FASTIFY === '1';
const include = ['http', 'https', 'express', ...(withFastify ? ['fastify'] : [])];
if (supportsSyncHooks()) {
  registerSyncHooks({ include });
} else {
  const { registerOptions } = createAddHookMessageChannel();
  nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
}

async function fastifyInstrumentation() {
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');
  return new FastifyOtelInstrumentation({ registerOnInitialization: true });
}

// `traceExporter` makes the SDK wrap it in a BatchSpanProcessor configured from
// OTEL_BSP_*, as otel-audit does for its APM exporter. Without it the SDK
// follows OTEL_TRACES_EXPORTER.
const tracesExported = !(process.env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).includes('none');
const sdk = new NodeSDK({
  ...(tracesExported ? { traceExporter: new OTLPTraceExporter() } : {}),
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation(), ...(withFastify ? [await fastifyInstrumentation()] : [])],
});
sdk.start();

process.once('SIGTERM', () => {
  sdk.shutdown().catch((err) => diag.error('plain-otel: shutdown failed', err));
});
