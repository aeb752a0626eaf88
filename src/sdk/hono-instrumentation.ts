import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { VERSION } from '../contract/version.js';
import type { BodyWatchOptions } from './body-snapshot.js';
import { HonoHooks } from './hono-hooks.js';

/** Hono versions whose `Hono` class, router and request the hooks rely on. */
const HONO_VERSIONS = ['>=4.0.0 <5'];

/**
 * Hono (on `@hono/node-server`, or any server the HTTP instrumentation
 * sees): route templates, the request body as sent and error messages, by
 * the hooks of hono-hooks.ts, applied to `hono`'s `Hono` export when the
 * app loads it (ES module or CommonJS). There is no upstream
 * instrumentation to load; apps without hono pay for nothing but this
 * module definition.
 */
export class HonoInstrumentation extends InstrumentationBase {
  private readonly hooks: HonoHooks;

  constructor(watch: BodyWatchOptions, config: InstrumentationConfig = {}) {
    super('otel-audit-hono', VERSION, config);
    this.hooks = new HonoHooks(watch);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'hono',
        HONO_VERSIONS,
        (exports: unknown) => {
          this.hooks.patchExports(exports);
          return exports;
        },
        (exports: unknown) => this.hooks.unpatchExports(exports),
      ),
    ];
  }
}
