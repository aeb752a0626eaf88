import { diag, metrics } from '@opentelemetry/api';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apmSpanProcessors } from './apm.js';
import { AuditSpanProcessor } from './audit-span-processor.js';
import { loadConfigModule, resolveConfig, type ResolvedAuditConfig } from './config.js';
import { ConsoleTransport } from './delivery/console-transport.js';
import type { DeliveryStats } from './delivery/counters.js';
import { AuditDelivery } from './delivery/delivery.js';
import { OtlpTransport } from './delivery/otlp-transport.js';
import { Spool } from './delivery/spool.js';
import type { AuditTransport } from './delivery/transport.js';
import { INSTRUMENTED_MODULES, registerEsmHooks } from './esm-hooks.js';
import { HonoInstrumentation } from './hono-instrumentation.js';
import { warnFrameworksLoadedEarly } from './loaded-early.js';
import { LazyFastifyInstrumentation } from './lazy-fastify.js';
import { LazyKoaInstrumentation } from './lazy-koa.js';
import { LazyHapiInstrumentation } from './lazy-hapi.js';
import { LazyNestInstrumentation } from './lazy-nest.js';
import { RestifyInstrumentation } from './restify-instrumentation.js';
import { optionalProviders } from './optional-providers.js';
import type { BodyWatchOptions } from './body-snapshot.js';
import { recordedBodyBytes } from './input-limits.js';
import { captureFrameworkRequest, captureRequest, captureResponse, patchResponsePrototype } from './request-capture.js';
import { auditSampler } from './sampler.js';
import type { AuditOptions } from './types.js';

export interface StartAuditOptions extends AuditOptions {
  /** Load `OTEL_AUDIT_CONFIG` (when set) and merge it under these options. Default: true. */
  loadConfigModule?: boolean;
  /** Extra span processors, after the audit and APM ones. */
  spanProcessors?: SpanProcessor[];
  /** Register the ES module loader hook. Default: true. */
  esmHooks?: boolean;
}

/** A running audit SDK. */
export interface AuditHandle {
  readonly processor: AuditSpanProcessor;
  readonly config: ResolvedAuditConfig;
  /** Emitter id of this process. */
  readonly emitterId: string;
  /** Delivery counters: emitted, exported, spooled, replayed, dropped, ... */
  getStats(): DeliveryStats;
  /** Flush open traces and deliver pending records (until the shutdown timeout), then stop the SDK. Idempotent. */
  shutdown(): Promise<void>;
  /** For a process exiting right now: write open traces and undelivered records to the spool, synchronously. */
  flushToSpoolNow(): void;
}

class NoopTransport implements AuditTransport {
  send(): Promise<{ kind: 'success' }> {
    return Promise.resolve({ kind: 'success' });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function transportFor(config: ResolvedAuditConfig): AuditTransport {
  if (config.exporter === 'console') return new ConsoleTransport();
  if (config.exporter === 'none') return new NoopTransport();
  return new OtlpTransport({ url: config.endpoint, timeoutMs: config.exportTimeoutMs });
}

/**
 * Start OpenTelemetry with audit: the Node SDK with HTTP, express, fastify,
 * Start OpenTelemetry with audit: the Node SDK with HTTP, express, fastify,
 * Koa, Hono, hapi, restify and NestJS instrumentation, the audit span
 * processor, the APM span processors from the standard `OTEL_*` variables,
 * and reliable delivery of audit records.
 */
export function startAudit(options: StartAuditOptions = {}): AuditHandle {
  const fromModule = options.loadConfigModule !== false && process.env['OTEL_AUDIT_CONFIG']
    ? loadConfigModule(process.env['OTEL_AUDIT_CONFIG'])
    : {};
  const config = resolveConfig({ ...fromModule, ...stripUndefined(options) });

  if (options.esmHooks !== false) registerEsmHooks();
  // A framework loaded before this call is never patched: say so, once.
  warnFrameworksLoadedEarly(INSTRUMENTED_MODULES);

  const transport = transportFor(config);
  // Records reach delivery only after start-up, when `delivery` exists.
  const apm = apmSpanProcessors();
  const processor = new AuditSpanProcessor({
    config,
    onRecord: (r) => delivery.enqueue(r),
    // No span leaves the process (OTEL_TRACES_EXPORTER=none, no processors given): spans are not tagged for an APM.
    tagSpans: apm.length > 0 || (options.spanProcessors?.length ?? 0) > 0,
  });

  let spool: Spool | undefined;
  if (config.exporter === 'otlp') {
    try {
      spool = new Spool({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes, ownerId: processor.emitterId });
      spool.open();
    } catch (err) {
      diag.error(`otel-audit: spool directory ${config.spoolDir} is unusable; records beyond the memory queue will be dropped`, err);
      spool = undefined;
    }
  }
  const delivery = new AuditDelivery(transport, spool, config);

  const tagger = processor.requestTagger;
  patchResponsePrototype();
  // The redactor reads at most `maxValueBytes` values of a body; twice that are copied (see body-snapshot.ts).
  const watch: BodyWatchOptions = { maxNodes: 2 * config.maxValueBytes, maxDeclaredBytes: recordedBodyBytes(config.maxValueBytes) };
  const instrumentations = [
    new HttpInstrumentation({
      requestHook: (span, request) => {
        if ('headers' in request && !('setHeader' in request)) captureRequest(span, request as IncomingMessage, watch);
      },
      responseHook: (span, response) => {
        if ('setHeader' in response && 'req' in response) {
          const res = response as ServerResponse;
          const req = res.req;
          captureResponse(span, res, tagger.wantsResponseBody(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/'));
        }
      },
    }),
    new ExpressInstrumentation(),
    // @fastify/otel, loaded when the app loads fastify.
    new LazyFastifyInstrumentation({ requestHook: (_span, request) => captureFrameworkRequest(request, watch) }),
    // @opentelemetry/instrumentation-koa and the audit hooks, loaded when the app loads koa.
    new LazyKoaInstrumentation(watch),
    new HonoInstrumentation(watch),
    // Upstream hapi and NestJS instrumentations, loaded when the app loads the framework.
    new LazyHapiInstrumentation({ onRequest: (request) => captureFrameworkRequest(request, watch, 'payload') }),
    new LazyNestInstrumentation(),
    // restify's own hooks: route and errors.
    new RestifyInstrumentation(),
  ];

  const sdk = new NodeSDK({
    sampler: auditSampler(),
    spanProcessors: [processor, ...apm, ...(options.spanProcessors ?? [])],
    instrumentations,
    ...optionalProviders(),
  });
  sdk.start();

  const meter = metrics.getMeter('otel-audit');
  const stat = (name: keyof DeliveryStats, description: string): void => {
    meter.createObservableCounter(`otel_audit.records.${name}`, { description }).addCallback((r) => r.observe(delivery.getStats()[name]));
  };
  stat('emitted', 'Audit records produced');
  stat('exported', 'Audit records acknowledged by the receiver');
  stat('spooled', 'Audit records written to the disk spool');
  stat('replayed', 'Spooled audit records delivered later');
  stat('dropped', 'Audit records lost because the spool was full');
  stat('unencodable', 'Audit records set aside because their values cannot be encoded');

  let stopping: Promise<void> | undefined;
  return {
    processor,
    config,
    emitterId: processor.emitterId,
    getStats: () => delivery.getStats(),
    flushToSpoolNow(): void {
      processor.flushNow();
      delivery.spoolNow();
    },
    shutdown(): Promise<void> {
      stopping ??= (async () => {
        await processor.shutdown();
        await delivery.shutdown(config.shutdownTimeoutMs);
        try {
          await sdk.shutdown();
        } catch (err) {
          diag.debug('otel-audit: SDK shutdown error', err);
        }
      })();
      return stopping;
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
