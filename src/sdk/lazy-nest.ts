import { isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { LazyInstrumentation, type LazyTarget, type UpstreamInstrumentation } from './lazy-instrumentation.js';
import { recordRequestError } from './request-error.js';

const FACTORY_FILE = '@nestjs/core/nest-factory.js';
const EXECUTION_FILE = '@nestjs/core/router/router-execution-context.js';
const HANDLER_FILE = '@nestjs/core/exceptions/exceptions-handler.js';

type HandlerClass = { prototype: { next?: (...args: unknown[]) => unknown } };

/**
 * NestJS (4 to 11), on either HTTP adapter: the adapter's own
 * instrumentation (express or fastify) names the route;
 * `@opentelemetry/instrumentation-nestjs-core`, loaded when the app loads
 * `@nestjs/core`, adds the controller and handler spans (the handler span
 * records errors of guards, pipes, interceptors and the handler). Nest
 * answers every exception of a request itself (its exception filters,
 * behind `ExceptionsHandler.next`), those of its middleware too, which no
 * span sees: there this stand-in records each on the request's server
 * span, so that the record of a failure carries its message.
 */
export class LazyNestInstrumentation extends LazyInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('nestjs', config);
  }

  protected target(): LazyTarget {
    return { module: '@nestjs/core', versions: ['>=4.0.0 <12'], files: [FACTORY_FILE, EXECUTION_FILE, HANDLER_FILE] };
  }

  protected loadUpstream(): UpstreamInstrumentation {
    const { NestInstrumentation } = createRequire(import.meta.url)('@opentelemetry/instrumentation-nestjs-core') as {
      NestInstrumentation: new (config: InstrumentationConfig) => UpstreamInstrumentation;
    };
    return new NestInstrumentation({ enabled: false });
  }

  protected override patchOwn(name: string, exports: unknown): unknown {
    const proto = (exports as { ExceptionsHandler?: Partial<HandlerClass> } | null)?.ExceptionsHandler?.prototype;
    if (name !== HANDLER_FILE || typeof proto?.next !== 'function' || isWrapped(proto.next)) return exports;
    this._wrap(proto, 'next', (original) => function next(this: unknown, ...args: unknown[]) {
      // (exception, host)
      try {
        recordRequestError(args[0]);
      } catch {
        // Never in the way of Nest's own exception handling.
      }
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    });
    return exports;
  }
}
