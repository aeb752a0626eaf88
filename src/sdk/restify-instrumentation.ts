import { context } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  isWrapped,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { VERSION } from '../contract/version.js';
import { recordRequestError } from './request-error.js';

const SERVER_FILE = 'restify/lib/server.js';

type Method = (...args: unknown[]) => unknown;
type ServerPrototype = { _runUse?: Method; _emitErrorEvents?: Method };
type RestifyRequest = { getRoute?: () => { path?: unknown } | undefined; route?: { path?: unknown } };

/**
 * restify (7 to 12), through its own server: no spans of its own, only what
 * a record needs. `_runUse` runs once a request is routed, before any `use`
 * handler: the route's path (`/books/:isbn`) becomes the server span's
 * `http.route`. `_emitErrorEvents` sees every error restify answers itself
 * (`next(err)`, a thrown or rejected handler) before the response is sent:
 * the error goes on the server span, so that the record of a failure
 * carries its message. (`@opentelemetry/instrumentation-restify` is not
 * used: it ends each handler span twice, an error logged for every
 * handler of every request.)
 */
export class RestifyInstrumentation extends InstrumentationBase {
  constructor(config: InstrumentationConfig = {}) {
    super('otel-audit-restify', VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const versions = ['>=7.0.0 <13'];
    const file = new InstrumentationNodeModuleFile(
      SERVER_FILE,
      versions,
      (exports: unknown) => this.patchServer(exports),
      (exports: unknown) => this.unpatchServer(exports),
    );
    return [new InstrumentationNodeModuleDefinition('restify', versions, undefined, undefined, [file])];
  }

  private patchServer(exports: unknown): unknown {
    const proto = (exports as { prototype?: ServerPrototype } | null)?.prototype;
    if (typeof proto?._runUse === 'function' && !isWrapped(proto._runUse)) {
      this._wrap(proto, '_runUse', (original) => function _runUse(this: unknown, ...args: unknown[]) {
        // (req, res, next)
        nameRoute(args[0]);
        return (original as Method).apply(this, args);
      });
    }
    if (typeof proto?._emitErrorEvents === 'function' && !isWrapped(proto._emitErrorEvents)) {
      this._wrap(proto, '_emitErrorEvents', (original) => function _emitErrorEvents(this: unknown, ...args: unknown[]) {
        // (req, res, route, err, cb)
        try {
          recordRequestError(args[3]);
        } catch {
          // Never in the way of restify's own error handling.
        }
        return (original as Method).apply(this, args);
      });
    }
    return exports;
  }

  private unpatchServer(exports: unknown): void {
    const proto = (exports as { prototype?: ServerPrototype } | null)?.prototype;
    if (!proto) return;
    if (isWrapped(proto._runUse)) this._unwrap(proto, '_runUse');
    if (isWrapped(proto._emitErrorEvents)) this._unwrap(proto, '_emitErrorEvents');
  }
}

/** The route of a routed restify request, as the HTTP server span's `http.route`. */
function nameRoute(req: unknown): void {
  try {
    const r = req as RestifyRequest | null;
    const path = typeof r?.getRoute === 'function' ? r.getRoute()?.path : r?.route?.path;
    const metadata = getRPCMetadata(context.active());
    if (typeof path === 'string' && metadata?.type === RPCType.HTTP) metadata.route = path;
  } catch {
    // The record then templates the path itself.
  }
}
