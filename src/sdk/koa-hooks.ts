import type { BodyWatchOptions } from './body-snapshot.js';
import { noteFrameworkError } from './framework-error.js';
import { captureFrameworkRequest, type CapturedRequest } from './request-capture.js';

/** A Koa middleware, as `app.use()` takes it. */
type Middleware = (this: unknown, ctx: object, next: unknown) => unknown;

/** The part of Koa's `Application.prototype` patched here. */
interface KoaPrototype {
  createContext: (this: unknown, req: unknown, res: unknown) => unknown;
  use: (this: unknown, fn: unknown) => unknown;
}

const ORIGINALS = Symbol.for('otel-audit.koa-originals');
type Patched = KoaPrototype & { [ORIGINALS]?: Pick<KoaPrototype, 'createContext' | 'use'> };

/** Koa context → the captured request of its server span. */
const requests = new WeakMap<object, CapturedRequest>();

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The middleware as it was, but an error it throws (or rejects with) is
 * noted for the record before it goes on to Koa's error handling: an error
 * middleware further out, or `ctx.onerror` and `app.on('error')`. Errors
 * from route handlers pass through the router's middleware on their way out.
 */
function noteErrors(fn: Middleware): Middleware {
  return function auditedMiddleware(this: unknown, ctx: object, next: unknown): unknown {
    try {
      const result = fn.call(this, ctx, next);
      if (!isThenable(result)) return result;
      return result.then(undefined, (err: unknown) => {
        noteFrameworkError(requests.get(ctx), err);
        throw err;
      });
    } catch (err) {
      noteFrameworkError(requests.get(ctx), err);
      throw err;
    }
  };
}

const NOTES_ERRORS = Symbol.for('otel-audit.koa-notes-errors');

/** The layers of a router (`@koa/router`, `koa-router`): each route's middleware stack. */
interface RouterLike {
  stack?: unknown;
}

/**
 * Wraps the middleware of each route of `router` (see {@link noteErrors}),
 * so that an error a router-level error middleware answers still has its
 * message noted: it never leaves the router. Routes are read when the
 * router is mounted, as `@opentelemetry/instrumentation-koa` reads them.
 */
function noteRouterErrors(router: RouterLike): void {
  if (!Array.isArray(router.stack)) return;
  for (const layer of router.stack as { stack?: unknown }[]) {
    const stack = layer?.stack;
    if (!Array.isArray(stack)) continue;
    for (let i = 0; i < stack.length; i++) {
      const fn: unknown = stack[i];
      if (typeof fn !== 'function' || (fn as { [NOTES_ERRORS]?: boolean })[NOTES_ERRORS] === true) continue;
      const wrapped = noteErrors(fn as Middleware);
      Object.defineProperty(wrapped, NOTES_ERRORS, { value: true });
      stack[i] = wrapped;
    }
  }
}

/** Koa's `Application` of a module's exports (CommonJS, or the ES module namespace). */
export function koaApplication(exports: unknown): { prototype: KoaPrototype } | undefined {
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return undefined;
  const ns = exports as { [Symbol.toStringTag]?: unknown; default?: unknown };
  const app = ns[Symbol.toStringTag] === 'Module' ? ns.default : exports;
  if (typeof app !== 'function') return undefined;
  const proto = (app as { prototype?: Partial<KoaPrototype> }).prototype;
  if (typeof proto?.createContext !== 'function' || typeof proto.use !== 'function') return undefined;
  return app as { prototype: KoaPrototype };
}

/**
 * Patches Koa's `Application.prototype` (once):
 * - `createContext`: the request of each context (`ctx.request`: the body
 *   a body parser such as `@koa/bodyparser` or `koa-body` assigns, copied
 *   as the client sent it) is attached to the HTTP server span, which is
 *   active then;
 * - `use`: every middleware notes the error it throws (see {@link noteErrors}),
 *   and so does every route's middleware of a router mounted with it.
 * Koa's own behaviour is unchanged: the same values are returned and thrown.
 */
export function patchKoa(app: { prototype: KoaPrototype }, watch: BodyWatchOptions): void {
  const proto = app.prototype as Patched;
  if (proto[ORIGINALS]) return;
  const { createContext, use } = proto;
  Object.defineProperty(proto, ORIGINALS, { value: { createContext, use }, configurable: true });
  proto.createContext = function (this: unknown, req: unknown, res: unknown): unknown {
    const ctx = createContext.call(this, req, res);
    if (ctx !== null && typeof ctx === 'object') {
      const entry = captureFrameworkRequest((ctx as { request?: unknown }).request, watch);
      if (entry) requests.set(ctx, entry);
    }
    return ctx;
  };
  proto.use = function (this: unknown, fn: unknown): unknown {
    // Koa 2 converts generator middleware itself: it must see them as they are.
    const wrap = typeof fn === 'function' && fn.constructor?.name !== 'GeneratorFunction';
    const router = wrap ? (fn as { router?: unknown }).router : undefined;
    if (router !== null && typeof router === 'object') noteRouterErrors(router);
    return use.call(this, wrap ? noteErrors(fn as Middleware) : fn);
  };
}

/** Restores what {@link patchKoa} replaced. */
export function unpatchKoa(app: { prototype: KoaPrototype }): void {
  const proto = app.prototype as Patched;
  const originals = proto[ORIGINALS];
  if (!originals) return;
  proto.createContext = originals.createContext;
  proto.use = originals.use;
  delete proto[ORIGINALS];
}
