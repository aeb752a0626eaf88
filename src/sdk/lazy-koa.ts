import { diag, type TracerProvider } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { VERSION } from '../contract/version.js';
import type { BodyWatchOptions } from './body-snapshot.js';
import { koaApplication, patchKoa, unpatchKoa } from './koa-hooks.js';

/** Koa versions `@opentelemetry/instrumentation-koa` supports (its own module definition says the same). */
const KOA_VERSIONS = ['>=2.0.0 <4'];

/** A module definition of the loaded instrumentation (it brings its own copy of the instrumentation base). */
interface LoadedDefinition {
  name: string;
  patch?: (exports: unknown, version?: string) => unknown;
  unpatch?: (exports: unknown, version?: string) => void;
}

/** The part of `@opentelemetry/instrumentation-koa`'s instrumentation used here. */
interface LoadedInstrumentation {
  setTracerProvider(provider: TracerProvider): void;
  getModuleDefinitions(): LoadedDefinition[];
}

type KoaOtelModule = { KoaInstrumentation: new (config: Record<string, unknown>) => LoadedInstrumentation };

/**
 * Koa under the register hook: stands in for
 * `@opentelemetry/instrumentation-koa` until the app loads koa, so that
 * apps without koa load nothing of it (nor the CommonJS copies of the
 * instrumentation base and core it pulls in). When koa loads, it patches
 * koa with the audit hooks (request body as sent, error messages: see
 * koa-hooks.ts), then creates the real instrumentation, disabled so that
 * it registers no module hooks of its own, and applies its patch to the
 * module being loaded: its middleware spans, and the route template of
 * `@koa/router` (`http.route` on the server span).
 */
export class LazyKoaInstrumentation extends InstrumentationBase {
  private readonly watch: BodyWatchOptions;
  private loaded: LoadedInstrumentation | undefined;
  private provider: TracerProvider | undefined;

  constructor(watch: BodyWatchOptions, config: InstrumentationConfig = {}) {
    super('otel-audit-koa-loader', VERSION, config);
    this.watch = watch;
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'koa',
        KOA_VERSIONS,
        (exports: unknown, version?: string) => this.patchKoa(exports, version),
        (exports: unknown, version?: string) => this.unpatchKoa(exports, version),
      ),
    ];
  }

  override setTracerProvider(provider: TracerProvider): void {
    super.setTracerProvider(provider);
    this.provider = provider;
    this.loaded?.setTracerProvider(provider);
  }

  private patchKoa(exports: unknown, version: string | undefined): unknown {
    const app = koaApplication(exports);
    if (!app) return exports;
    // Ours first: the instrumentation's `use` then wraps ours, and names its spans after the app's middleware.
    patchKoa(app, this.watch);
    for (const definition of this.definitions()) definition.patch?.(exports, version);
    return exports;
  }

  private unpatchKoa(exports: unknown, version: string | undefined): void {
    const app = koaApplication(exports);
    if (!app) return;
    for (const definition of this.definitions()) definition.unpatch?.(exports, version);
    unpatchKoa(app);
  }

  /** The koa definitions of the real instrumentation, created on first use. */
  private definitions(): LoadedDefinition[] {
    try {
      if (!this.loaded) {
        const { KoaInstrumentation } = createRequire(import.meta.url)('@opentelemetry/instrumentation-koa') as KoaOtelModule;
        this.loaded = new KoaInstrumentation({ enabled: false });
        if (this.provider) this.loaded.setTracerProvider(this.provider);
      }
      return this.loaded.getModuleDefinitions().filter((d) => d.name === 'koa');
    } catch (err) {
      diag.error('otel-audit: @opentelemetry/instrumentation-koa could not be loaded; Koa routes are not templated', err);
      return [];
    }
  }
}
