import { context, trace } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { declaresRecordedBody, type BodyWatchOptions } from './body-snapshot.js';
import { noteFrameworkError } from './framework-error.js';
import { watchHonoBody } from './hono-body.js';
import { capturedRequestOf, type CapturedRequest } from './request-capture.js';

/**
 * Hono 4 under the register hook. Hono has no instrumentation of its own
 * and no hooks per request, so the `Hono` class the app imports is replaced
 * by a subclass whose instances wrap their router's `add`: every handler
 * and middleware is registered wrapped (sub-apps mounted with `route()`
 * and clones made by `basePath()` share that router). The wrapper, around
 * each call:
 * - sets the route template (the path the handler was registered with) on
 *   the HTTP server span's RPC metadata, from which the HTTP
 *   instrumentation sets `http.route`, as express's instrumentation does;
 * - on the first call of a request, attaches the request to the server
 *   span (active then) and watches its body reads (hono-body.ts);
 * - notes an error the handler throws before Hono gives it to
 *   `app.onError` (or its default handler), or one answered inside it
 *   (`c.error`: a sub-app's own `onError`).
 * What the app sees (return values, errors, `app.routes`) is unchanged.
 */

/** A route as Hono's router holds it: `[handler, { method, path, ... }]`. */
type Handler = (this: unknown, c: unknown, next: unknown) => unknown;
interface RouterRoute {
  method?: unknown;
  path?: unknown;
}

/** Per request (Hono context): the captured request of its server span. */
interface RequestState {
  entry: CapturedRequest | undefined;
}

const ROUTER_PATCHED = Symbol.for('otel-audit.hono-router');
const AUDITED_CLASS = Symbol.for('otel-audit.hono-class');

/** Hono's method for middleware and `all()`: routes of every method. */
const ALL = 'ALL';

function setRoute(route: string): void {
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

/**
 * The route template of a request that stopped in a middleware (an auth
 * check answering 401) before its handler ran: the first matched route of
 * a method (a handler), else the last `all()` route that is not a prefix.
 */
function handlerRoute(routes: unknown): string | undefined {
  if (!Array.isArray(routes)) return undefined;
  for (const r of routes as RouterRoute[]) if (r?.method !== ALL && typeof r?.path === 'string') return r.path;
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i] as RouterRoute | undefined;
    if (typeof r?.path === 'string' && !r.path.endsWith('*')) return r.path;
  }
  return undefined;
}

/**
 * An error answered inside the handler: Hono's `compose` puts the error it
 * gives to an error handler in `c.error` (a sub-app's own `onError` runs
 * inside the handler Hono registers for each of its routes, which never
 * throws).
 */
function noteHandledError(state: RequestState | undefined, c: unknown): void {
  if (state?.entry === undefined || state.entry.error !== undefined) return;
  try {
    const error = (c as { error?: unknown }).error;
    if (error !== undefined) noteFrameworkError(state.entry, error);
  } catch {
    // A context whose `error` cannot be read: the record goes without a message.
  }
}

/** The hooks of one start of the SDK. */
export class HonoHooks {
  private readonly states = new WeakMap<object, RequestState>();

  constructor(private readonly watch: BodyWatchOptions) {}

  /** The `Hono` class of a module's exports, replaced by its audited subclass (once). */
  patchExports(exports: unknown): void {
    if (exports === null || typeof exports !== 'object') return;
    const ns = exports as { Hono?: unknown };
    const Base = ns.Hono;
    if (typeof Base !== 'function' || (Base as { [AUDITED_CLASS]?: unknown })[AUDITED_CLASS] !== undefined) return;
    ns.Hono = this.auditedClass(Base as new (...args: unknown[]) => { router?: unknown });
  }

  /** Puts the app's own `Hono` class back. */
  unpatchExports(exports: unknown): void {
    if (exports === null || typeof exports !== 'object') return;
    const ns = exports as { Hono?: unknown };
    const original = (ns.Hono as { [AUDITED_CLASS]?: unknown } | undefined)?.[AUDITED_CLASS];
    if (typeof original === 'function') ns.Hono = original;
  }

  private auditedClass(Base: new (...args: unknown[]) => { router?: unknown }): unknown {
    const patchRouter = (router: unknown): void => this.patchRouter(router);
    const Hono = class Hono extends Base {
      constructor(...args: unknown[]) {
        super(...args);
        patchRouter(this.router);
      }
    };
    Object.defineProperty(Hono, AUDITED_CLASS, { value: Base });
    return Hono;
  }

  private patchRouter(router: unknown): void {
    if (router === null || typeof router !== 'object' || ROUTER_PATCHED in router) return;
    const add = (router as { add?: unknown }).add;
    if (typeof add !== 'function') return;
    Object.defineProperty(router, ROUTER_PATCHED, { value: true });
    const wrapEntry = (entry: unknown): unknown => this.wrapEntry(entry);
    (router as { add: unknown }).add = function (this: unknown, method: unknown, path: unknown, handler: unknown): unknown {
      return (add as (...a: unknown[]) => unknown).call(this, method, path, wrapEntry(handler));
    };
  }

  private wrapEntry(entry: unknown): unknown {
    if (!Array.isArray(entry) || typeof entry[0] !== 'function') return entry;
    const route = (entry[1] ?? {}) as RouterRoute;
    const path = route.method !== ALL && typeof route.path === 'string' ? route.path : undefined;
    return [this.wrapHandler(entry[0] as Handler, path), ...entry.slice(1)];
  }

  /** `path`: the template of a handler (a route of a method); undefined for middleware. */
  private wrapHandler(handler: Handler, path: string | undefined): Handler {
    const enter = (c: unknown): RequestState | undefined => this.enter(c, path);
    return function auditedHandler(this: unknown, c: unknown, next: unknown): unknown {
      const state = enter(c);
      try {
        const result = handler.call(this, c, next);
        // Hono itself tells promises by `instanceof Promise`: the same test keeps its paths.
        if (!(result instanceof Promise)) {
          noteHandledError(state, c);
          return result;
        }
        return result.then(
          (value: unknown) => {
            noteHandledError(state, c);
            return value;
          },
          (err: unknown) => {
            noteFrameworkError(state?.entry, err);
            throw err;
          },
        );
      } catch (err) {
        noteFrameworkError(state?.entry, err);
        throw err;
      }
    };
  }

  private enter(c: unknown, path: string | undefined): RequestState | undefined {
    if (c === null || typeof c !== 'object') return undefined;
    let state = this.states.get(c);
    try {
      if (!state) {
        state = this.begin(c);
        this.states.set(c, state);
      }
      if (path !== undefined) setRoute(path);
    } catch {
      // A context that cannot be read: the request is served as it would be, recorded with less.
    }
    return state;
  }

  /** The first call of a request: attach it to the server span, watch its body, name a provisional route. */
  private begin(c: object): RequestState {
    const span = trace.getActiveSpan();
    const entry = span ? capturedRequestOf(span) : undefined;
    const req = (c as { req?: { matchedRoutes?: unknown } }).req;
    if (entry && declaresRecordedBody(entry.req.headers, this.watch.maxDeclaredBytes)) {
      entry.sent ??= { taken: false, final: false, value: undefined };
      watchHonoBody(req, entry.sent, this.watch);
    }
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP && rpc.route === undefined) {
      const route = handlerRoute(req?.matchedRoutes);
      if (route !== undefined) rpc.route = route;
    }
    return { entry };
  }
}
