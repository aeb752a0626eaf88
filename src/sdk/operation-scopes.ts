/**
 * The open operations of a process. An operation is one local root span of
 * this process (the server span of one request) and every span started
 * under it. Fragments merge only within an operation, never across requests
 * that share a (client-supplied) trace id.
 */

import { context, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/sdk-trace';
import type { AuditFragment } from './fragment.js';

/** One open operation. */
export interface Scope {
  /** `<trace id>/<root span id>`. */
  key: string;
  traceId: string;
  /** The operation's span: the records' span id. */
  rootSpanId: string;
  /** The local root span, while it is known (an operation may also start from a foreign span). */
  root?: Span;
  rootEnded: boolean;
  /** The root's automatic fragment was made. */
  tagged: boolean;
  openSpans: number;
  fragments: AuditFragment[];
  /** `audit.set()` enrichments, applied to the automatic fragments. */
  enrich: AuditFragment[];
  /** First error message seen on any span of the operation. */
  error?: string;
  createdMs: number;
  timer?: NodeJS.Timeout;
  manualCalls: number;
  manualBytes: number;
  manualIgnored: number;
  /** Flushed: late spans and fragments reopen the operation under the same key. */
  closed: boolean;
}

/**
 * Where a span keeps its operation: a property of the span object itself
 * (set once, in `onStart`, right after the span was constructed), which is
 * several times cheaper per span than a WeakMap entry and is collected with
 * the span. A symbol key: invisible to `Object.keys`, `for…in` and JSON, so
 * nothing that walks a span's fields sees it.
 */
const SCOPE = Symbol('otel-audit.scope');
type ScopeHolder = { [SCOPE]?: Scope };

/** Open operations by key (in creation order) and by span, bounded in number. */
export class OperationScopes {
  /** Open operations by key, in creation order. */
  private readonly byKey = new Map<string, Scope>();

  /**
   * @param maxOpen open operations held at most
   * @param evict called with the oldest open operation when a new one would pass `maxOpen`; it must close it
   */
  constructor(
    private readonly maxOpen: number,
    private readonly evict: (oldest: Scope) => void,
  ) {}

  /** The open operations, oldest first (a copy: closing them while iterating is safe). */
  list(): Scope[] {
    return [...this.byKey.values()];
  }

  /** The open operation of this key. */
  get(key: string): Scope | undefined {
    return this.byKey.get(key);
  }

  /** The operation a span was bound to when it started. */
  ofSpan(span: object): Scope | undefined {
    return (span as ScopeHolder)[SCOPE];
  }

  bind(span: object, scope: Scope): void {
    (span as ScopeHolder)[SCOPE] = scope;
  }

  /** Closes an operation: it is no longer open under its key. */
  close(scope: Scope): void {
    if (this.byKey.get(scope.key) === scope) this.byKey.delete(scope.key);
    scope.closed = true;
  }

  /** A new operation rooted at `rootSpanId` (or the open one of that key). */
  open(traceId: string, rootSpanId: string, root: Span | undefined): Scope {
    const key = `${traceId}/${rootSpanId}`;
    const existing = this.byKey.get(key);
    if (existing) return existing;
    if (this.byKey.size >= this.maxOpen) {
      // Bounded memory: the oldest open operation goes out now.
      const oldest = this.byKey.values().next().value;
      if (oldest) this.evict(oldest);
    }
    const scope: Scope = {
      key,
      traceId,
      rootSpanId,
      rootEnded: root === undefined,
      tagged: false,
      openSpans: 0,
      fragments: [],
      enrich: [],
      createdMs: Date.now(),
      manualCalls: 0,
      manualBytes: 0,
      manualIgnored: 0,
      closed: false,
    };
    if (root) scope.root = root;
    this.byKey.set(key, scope);
    return scope;
  }

  /** The open operation of a scope: itself, or a reopened one (same key and root) after it was flushed. */
  live(scope: Scope): Scope {
    if (!scope.closed) return scope;
    const open = this.byKey.get(scope.key);
    if (open) return open;
    const reopened = this.open(scope.traceId, scope.rootSpanId, scope.root);
    reopened.rootEnded = scope.rootEnded;
    reopened.tagged = scope.tagged;
    return reopened;
  }

  /**
   * The operation of the active span. A span whose start was not seen (a
   * foreign or wrapped span context) is an operation of its own when
   * `create` is set.
   */
  current(create: boolean): Scope | undefined {
    const span = trace.getSpan(context.active());
    if (!span) return undefined;
    const known = (span as ScopeHolder)[SCOPE];
    if (known) return this.live(known);
    const sc = span.spanContext();
    if (!trace.isSpanContextValid(sc)) return undefined;
    const key = `${sc.traceId}/${sc.spanId}`;
    return this.byKey.get(key) ?? (create ? this.open(sc.traceId, sc.spanId, undefined) : undefined);
  }
}
