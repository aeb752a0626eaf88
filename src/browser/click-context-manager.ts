import { ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import type { ClickTracker } from './click-tracker.js';

/**
 * A context manager under which the current click (see {@link ClickTracker})
 * is the active span wherever no other span is: a `fetch` made by a click
 * listener, synchronously or after an `await` that resumes in the same
 * task, becomes part of the click's trace. It wraps `inner` (e.g. the
 * `ZoneContextManager` of `@opentelemetry/context-zone`, which also carries
 * the click's context into timers and later tasks); without one it keeps a
 * plain stack, as the web SDK's default manager does.
 */
export class ClickContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  constructor(
    private readonly clicks: ClickTracker,
    private readonly inner?: ContextManager,
  ) {}

  active(): Context {
    const ctx = this.inner ? this.inner.active() : this.current;
    if (trace.getSpan(ctx) !== undefined) return ctx;
    const click = this.clicks.current();
    return click ? trace.setSpan(ctx, click.span) : ctx;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    if (this.inner) return this.inner.with(context, fn, thisArg, ...args);
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (this.inner) return this.inner.bind(context, target);
    if (typeof target !== 'function') return target;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the bound function keeps its own `this`
    const manager = this;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    this.inner?.enable();
    return this;
  }

  disable(): this {
    this.inner?.disable();
    this.current = ROOT_CONTEXT;
    return this;
  }
}
