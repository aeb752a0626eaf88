import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { LazyInstrumentation, type LazyTarget, type UpstreamInstrumentation } from './lazy-instrumentation.js';
import { recordRequestError } from './request-error.js';

/** What the hapi instrumentation is given. */
export interface LazyHapiOptions {
  /** Called with each hapi request as it is created (in the server span's context, before the payload is read). */
  onRequest: (request: object) => void;
}

const REQUEST_FILE = '@hapi/hapi/lib/request.js';

type Method = (...args: unknown[]) => unknown;
type HapiRequestClass = { generate: Method; prototype: { _setResponse?: Method } };

/**
 * hapi (17 to 21): `@opentelemetry/instrumentation-hapi`, loaded when the
 * app loads hapi, names the route (`/books/{isbn}`) and records handler
 * errors; this stand-in also hands every request hapi creates to
 * `onRequest` (hapi parses the payload into `request.payload`, not onto the
 * Node request), by wrapping `Request.generate`, the one place hapi creates
 * requests. `request._setResponse`, where each response is set before it
 * is sent, is wrapped too: the route is named there as well (the upstream
 * names it when the handler runs, and a request refused before, by
 * authentication say, has none), and every server error hapi answers (a
 * Boom error or any thrown error, from a handler, an extension or a plugin)
 * is recorded on the request's server span.
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
      const request = (original as Method).apply(this, args);
      onRequest(request);
      return request;
    });
    if (typeof Request.prototype?._setResponse === 'function' && !isWrapped(Request.prototype._setResponse)) {
      this._wrap(Request.prototype, '_setResponse', (original) => function _setResponse(this: unknown, ...args: unknown[]) {
        nameRoute(this);
        recordServerError(args[0]);
        return (original as Method).apply(this, args);
      });
    }
    return exports;
  }
}

/** A Boom response of status 500 or more (hapi turns every thrown error into one): on the server span. */
function recordServerError(response: unknown): void {
  try {
    const boom = response as { isBoom?: unknown; output?: { statusCode?: unknown } } | null;
    const status = boom?.output?.statusCode;
    if (boom?.isBoom === true && typeof status === 'number' && status >= 500) recordRequestError(response);
  } catch {
    // Never in the way of hapi's own response.
  }
}

/** The route of a routed hapi request (`/books/{isbn}`), when no route is named yet. */
function nameRoute(request: unknown): void {
  try {
    const route = (request as { route?: { path?: unknown; method?: unknown } } | null)?.route;
    const metadata = getRPCMetadata(context.active());
    // hapi's not-found and bad-request routes are `_special` (`/{p*}`): a request that matched nothing keeps its own path.
    if (typeof route?.path === 'string' && route.method !== '_special' && metadata?.type === RPCType.HTTP && metadata.route === undefined) metadata.route = route.path;
  } catch {
    // The record then templates the path itself.
  }
}
