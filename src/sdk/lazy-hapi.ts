import { isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { LazyInstrumentation, type LazyTarget, type UpstreamInstrumentation } from './lazy-instrumentation.js';

/** What the hapi instrumentation is given. */
export interface LazyHapiOptions {
  /** Called with each hapi request as it is created (in the server span's context, before the payload is read). */
  onRequest: (request: object) => void;
}

const REQUEST_FILE = '@hapi/hapi/lib/request.js';

type HapiRequestClass = { generate: (...args: unknown[]) => unknown };

/**
 * hapi (17 to 21): `@opentelemetry/instrumentation-hapi`, loaded when the
 * app loads hapi, names the route (`/books/{isbn}`) and records handler
 * errors; this stand-in also hands every request hapi creates to
 * `onRequest` (hapi parses the payload into `request.payload`, not onto the
 * Node request), by wrapping `Request.generate`, the one place hapi creates
 * requests.
 */
export class LazyHapiInstrumentation extends LazyInstrumentation {
  private readonly options: LazyHapiOptions;

  constructor(options: LazyHapiOptions, config: InstrumentationConfig = {}) {
    super('hapi', config);
    this.options = options;
  }

  protected target(): LazyTarget {
    return { module: '@hapi/hapi', versions: ['>=17.0.0 <22'], files: [REQUEST_FILE] };
  }

  protected loadUpstream(): UpstreamInstrumentation {
    const { HapiInstrumentation } = createRequire(import.meta.url)('@opentelemetry/instrumentation-hapi') as {
      HapiInstrumentation: new (config: InstrumentationConfig) => UpstreamInstrumentation;
    };
    return new HapiInstrumentation({ enabled: false });
  }

  protected override patchOwn(name: string, exports: unknown): unknown {
    if (name !== REQUEST_FILE || typeof (exports as Partial<HapiRequestClass> | null)?.generate !== 'function') return exports;
    const Request = exports as HapiRequestClass;
    if (isWrapped(Request.generate)) return exports;
    const onRequest = (request: unknown): void => {
      try {
        if (request !== null && typeof request === 'object') this.options.onRequest(request);
      } catch {
        // Capturing never breaks a request: the record then lacks the body.
      }
    };
    this._wrap(Request, 'generate', (original) => function generate(this: unknown, ...args: unknown[]) {
      const request = (original as (...a: unknown[]) => unknown).apply(this, args);
      onRequest(request);
      return request;
    });
    return exports;
  }
}
