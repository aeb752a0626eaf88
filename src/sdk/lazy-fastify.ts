import type { TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { VERSION } from '../contract/version.js';

/** What the fastify instrumentation is given: its request hook. */
export interface LazyFastifyOptions {
  requestHook: (span: unknown, request: unknown) => void;
}

/** The part of `@fastify/otel`'s instrumentation used here (it brings its own copy of the instrumentation base). */
interface LoadedInstrumentation {
  setTracerProvider(provider: TracerProvider): void;
  disable(): void;
}

type FastifyOtelModule = { FastifyOtelInstrumentation: new (config: Record<string, unknown>) => LoadedInstrumentation };

/**
 * Stands in for `@fastify/otel`'s instrumentation until the app loads
 * fastify: that package and the CommonJS copies of the OpenTelemetry API,
 * core, instrumentation base and semantic conventions it pulls in (over a
 * hundred modules) are loaded only by apps that use fastify. The real
 * instrumentation patches nothing; it listens on the `fastify.initialization`
 * diagnostics channel, which every fastify instance announces itself on when
 * it is created, after the module is loaded: so it is created when the
 * module loads, in time for the first instance.
 */
export class LazyFastifyInstrumentation extends InstrumentationBase {
  private options: LazyFastifyOptions | undefined;
  private loaded: LoadedInstrumentation | undefined;
  private provider: TracerProvider | undefined;

  constructor(options: LazyFastifyOptions, config: InstrumentationConfig = {}) {
    super('otel-audit-fastify-loader', VERSION, config);
    this.options = options;
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    // Every version: the real instrumentation decides what it supports.
    return [new InstrumentationNodeModuleDefinition('fastify', ['*'], (exports: unknown) => {
      this.load();
      return exports;
    })];
  }

  override setTracerProvider(provider: TracerProvider): void {
    super.setTracerProvider(provider);
    this.provider = provider;
    this.loaded?.setTracerProvider(provider);
  }

  override disable(): void {
    super.disable();
    this.loaded?.disable();
  }

  private load(): void {
    if (this.loaded || !this.options) return;
    const { FastifyOtelInstrumentation } = createRequire(import.meta.url)('@fastify/otel') as FastifyOtelModule;
    this.loaded = new FastifyOtelInstrumentation({ registerOnInitialization: true, requestHook: this.options.requestHook });
    if (this.provider) this.loaded.setTracerProvider(this.provider);
  }
}
