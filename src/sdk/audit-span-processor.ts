import { context, diag, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import type { ResolvedAuditConfig } from './config.js';
import { resolveConfig } from './config.js';
import { mergeFragments, withDefaults, type AuditFragment } from './fragment.js';
import { setActiveProcessor, clearActiveProcessor, type FragmentReceiver } from './global.js';
import type { AuditAttributeValue, AuditRecord } from './record.js';
import { ATTR_AUDIT_EMITTER_ID } from '../contract/attributes.js';
import { buildRecord, sanitizeFragment, spanAttributes } from './record-builder.js';
import { toText, type RecordValueLimits } from './record-values.js';
import { sensitiveKeyTest } from './redact.js';
import { capturedRequests, takeCapturedRequest } from './request-capture.js';
import { Tagger } from './tagger.js';
import type { Actor } from './actor.js';
import type { AuditMetaValue, AuditOptions, AuditSetInput } from './types.js';

/** Fragments held per operation at most; past it the operation is flushed early. */
const MAX_FRAGMENTS_PER_OPERATION = 64;
/** Manual API calls (`audit.record` / `audit.set`) taken per operation; later ones are ignored and counted. */
export const MAX_MANUAL_CALLS_PER_OPERATION = 256;
/** Bytes of sanitised manual API values (before/after/meta) taken per operation; past it calls are ignored and counted. */
export const MAX_MANUAL_BYTES_PER_OPERATION = 1024 * 1024;
/** How often operations that never end are looked for. */
const SWEEP_INTERVAL_MS = 10_000;

export interface AuditSpanProcessorOptions extends AuditOptions {
  /** Where finished records go (the delivery queue). */
  onRecord: (record: AuditRecord) => void;
  /** Emitter id; default: 16 random hex characters, new per process start. */
  emitterId?: string;
  /** Resolved configuration; default: resolved from these options and the environment. */
  config?: ResolvedAuditConfig;
}

/**
 * One operation: a local root span of this process (the server span of one
 * request) and every span started under it. Fragments merge only within an
 * operation, never across requests that share a (client-supplied) trace id.
 */
interface Scope {
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

/** Scalar resource attributes; the first value of a key wins, as in `Resource.attributes`. */
function plainAttributes(res: Resource): Record<string, AuditAttributeValue> {
  const out: Record<string, AuditAttributeValue> = {};
  const entries: [string, unknown][] = res.asyncAttributesPending ? res.getRawAttributes() : Object.entries(res.attributes);
  for (const [k, v] of entries) {
    if (Object.hasOwn(out, k)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

/** A finished merge, waiting for its emitter sequence number and resource. */
interface Ready {
  fragment: AuditFragment;
  traceId: string;
  incomplete: boolean;
  nowMs: number;
}

/** Rough size of manual API values, for the per-operation byte bound. */
function manualBytes(f: AuditFragment): number {
  let n = (f.before?.length ?? 0) + (f.after?.length ?? 0);
  if (f.meta) for (const k in f.meta) n += k.length + String(f.meta[k]).length;
  return n;
}

function isHttpServer(span: ReadableSpan): boolean {
  return span.kind === SpanKind.SERVER && (span.attributes['http.request.method'] !== undefined || span.attributes['http.method'] !== undefined);
}

/**
 * Turns every API call into exactly one audit record.
 *
 * - an operation is one local root span of this process (the server span
 *   of one request) with every span started under it;
 * - `onEnding` of an HTTP server span (still writable) derives the automatic
 *   fragment and tags the span with its `audit.*` attributes;
 * - `audit.record()` / `audit.set()` add fragments to the current operation
 *   (at most {@link MAX_MANUAL_CALLS_PER_OPERATION} calls and
 *   {@link MAX_MANUAL_BYTES_PER_OPERATION} bytes; more are ignored, counted,
 *   and the record says how many in `audit.manual.ignored`);
 * - when the operation's root span has ended (plus a grace period for
 *   children still open), its fragments are merged into one record per
 *   (action, resource) and handed to `onRecord` with the emitter id and the
 *   next emitter sequence number. Two requests that share a trace id are
 *   two operations, so never one record.
 *
 * `onStart`/`onEnd` are synchronous, cheap and never throw. Open operations
 * are bounded in number and size. An operation still running after the
 * trace timeout, or at shutdown, is recorded with `audit.incomplete` and
 * outcome `failure` (no status code: no response was sent); a request whose
 * connection closed before its response was complete is recorded with
 * `audit.aborted`, `audit.incomplete` and outcome `failure`.
 */
export class AuditSpanProcessor implements SpanProcessor, FragmentReceiver {
  readonly emitterId: string;
  private readonly config: ResolvedAuditConfig;
  private readonly tagger: Tagger;
  private readonly onRecord: (record: AuditRecord) => void;
  private readonly limits: RecordValueLimits;
  /** Open operations by key, in creation order. */
  private readonly scopes = new Map<string, Scope>();
  /** Span → its operation (weak: spans are never held here). */
  private readonly spanScopes = new WeakMap<object, Scope>();
  private manualIgnoredTotal = 0;
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;
  private errors = 0;
  /** The process's resource (from the first span), and its attributes once settled. */
  private resource: Resource | undefined;
  private resourceAttrs: Record<string, AuditAttributeValue> | undefined;
  private readonly waiting: Ready[] = [];
  private settling: Promise<void> | undefined;
  private closed = false;

  constructor(options: AuditSpanProcessorOptions) {
    this.config = options.config ?? resolveConfig(options);
    this.tagger = new Tagger(this.config);
    this.limits = { maxValueBytes: this.config.maxValueBytes, isSensitive: sensitiveKeyTest(this.config.redactKeys) };
    this.onRecord = options.onRecord;
    this.emitterId = options.emitterId ?? randomBytes(8).toString('hex');
    this.sweeper = setInterval(() => this.sweep(), Math.min(SWEEP_INTERVAL_MS, this.config.traceTimeoutMs));
    this.sweeper.unref();
    setActiveProcessor(this);
  }

  /** The tagger, for the request hooks (response body capture decisions). */
  get requestTagger(): Tagger {
    return this.tagger;
  }

  onStart(span: Span, parentContext: Context): void {
    try {
      if (this.closed) return;
      const parent = parentContext ? trace.getSpan(parentContext) : undefined;
      const parentScope = parent && !parent.spanContext().isRemote ? this.spanScopes.get(parent) : undefined;
      this.resource ??= span.resource;
      let scope: Scope;
      if (parentScope) {
        scope = this.live(parentScope);
      } else {
        const sc = span.spanContext();
        scope = this.open(sc.traceId, sc.spanId, span);
      }
      scope.openSpans++;
      this.spanScopes.set(span, scope);
      if (scope.timer) {
        clearTimeout(scope.timer);
        scope.timer = undefined;
      }
    } catch (err) {
      this.report(err);
    }
  }

  onEnding(span: Span): void {
    try {
      if (this.closed || !isHttpServer(span)) return;
      const known = this.spanScopes.get(span);
      if (!known) return;
      const scope = this.live(known);
      const fragment = this.tagger.tag(span, takeCapturedRequest(span));
      if (!fragment) return;
      if (span === scope.root) scope.tagged = true;
      if (scope.fragments.length >= MAX_FRAGMENTS_PER_OPERATION) this.flush(scope, true);
      this.live(scope).fragments.push(fragment);
      // The APM sees the audit attributes on the server span too. The emitter
      // id tells a receiver that this span's record also travels as a log
      // record, so that the span is never stored as a second record.
      const attrs = spanAttributes(sanitizeFragment(fragment, this.limits));
      attrs[ATTR_AUDIT_EMITTER_ID] = this.emitterId;
      span.setAttributes(attrs);
    } catch (err) {
      this.report(err);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const known = this.spanScopes.get(span);
      if (!known) return;
      const scope = this.scopes.get(known.key);
      if (!scope) return;
      scope.openSpans = Math.max(0, scope.openSpans - 1);
      if (scope.error === undefined && span.status.code === SpanStatusCode.ERROR) {
        const ex = span.events.find((e) => e.name === 'exception');
        const msg = ex?.attributes?.['exception.message'] ?? span.status.message;
        if (typeof msg === 'string' && msg.length > 0) scope.error = msg;
      }
      if (span === scope.root) scope.rootEnded = true;
      if (scope.rootEnded) {
        if (scope.openSpans === 0) this.flush(scope, false);
        else this.armGrace(scope);
      }
    } catch (err) {
      this.report(err);
    }
  }

  /**
   * Whether the current operation takes one more manual API call. Past the
   * per-operation bound the call is ignored (before any of its values are
   * sanitised), counted, and the record says so.
   */
  admit(): boolean {
    try {
      const scope = this.currentScope(false);
      if (!scope) return true;
      if (scope.manualCalls < MAX_MANUAL_CALLS_PER_OPERATION && scope.manualBytes <= MAX_MANUAL_BYTES_PER_OPERATION) {
        scope.manualCalls++;
        return true;
      }
      this.ignoreManual(scope);
      return false;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  /** From `audit.record()`: a fragment of the current operation (or a record of its own without one). */
  addFragment(fragment: AuditFragment): void {
    try {
      const scope = this.closed ? undefined : this.currentScope(true);
      if (!scope) {
        this.emitStandalone(fragment);
        return;
      }
      if (!this.takeBytes(scope, fragment)) return;
      if (scope.fragments.length >= MAX_FRAGMENTS_PER_OPERATION) this.flush(scope, true);
      const live = this.live(scope);
      // The record belongs to the operation: its span is the operation's (server) span.
      live.fragments.push({ ...fragment, spanId: live.rootSpanId, traceFlags: fragment.traceFlags ?? live.root?.spanContext().traceFlags ?? 0 });
      // Called after the operation's spans ended (async work after the response): emit after the grace period.
      if (live.openSpans === 0) this.armGrace(live);
    } catch (err) {
      this.report(err);
    }
  }

  /** From `audit.set()`: enrich the current operation's record. */
  enrich(input: AuditSetInput, sanitize: boolean): void {
    try {
      const scope = this.currentScope(true);
      if (!scope) {
        diag.debug('otel-audit: audit.set() outside of an operation is ignored');
        return;
      }
      const f: AuditFragment = { source: 'manual', action: '' };
      // Values arrive converted by the API; converted again here for direct callers.
      if (input.actor) {
        const actor: Actor = { type: input.actor.type ?? 'user' };
        const id = toText(input.actor.id);
        if (id !== undefined) actor.id = id;
        const name = toText(input.actor.name);
        if (name !== undefined) actor.name = name;
        f.actor = actor;
      }
      const tenant = toText(input.tenant);
      if (tenant !== undefined) f.tenant = tenant;
      const resourceType = toText(input.resource?.type);
      if (resourceType !== undefined) f.resourceType = resourceType;
      const resourceId = toText(input.resource?.id);
      if (resourceId !== undefined) f.resourceId = resourceId;
      if (input.outcome) f.outcome = input.outcome;
      if (sanitize && input.before !== undefined) f.before = this.tagger.sanitize(input.before);
      if (sanitize && input.after !== undefined) f.after = this.tagger.sanitize(input.after);
      if (input.meta) {
        const meta: Record<string, AuditMetaValue> = {};
        for (const [k, v] of Object.entries(input.meta)) {
          const value = typeof v === 'boolean' || typeof v === 'number' ? v : toText(v);
          if (value !== undefined) Object.defineProperty(meta, k, { value, enumerable: true, writable: true, configurable: true });
        }
        f.meta = meta;
      }
      if (!this.takeBytes(scope, f)) return;
      scope.enrich.push(f);
    } catch (err) {
      this.report(err);
    }
  }

  /** Sanitise a value the way request parameters are (redaction + size cap). */
  sanitize(value: unknown): string | undefined {
    return this.tagger.sanitize(value);
  }

  forceFlush(): Promise<void> {
    for (const scope of [...this.scopes.values()]) {
      if (scope.rootEnded) this.flush(scope, false);
    }
    return Promise.resolve();
  }

  /**
   * Synchronously emit every open trace (marked incomplete when it had not
   * ended), for a process that exits now. Records waiting for resource
   * detectors go out with the attributes settled so far.
   */
  flushNow(): void {
    try {
      for (const scope of [...this.scopes.values()]) this.flush(scope, !scope.rootEnded, true);
      if (this.waiting.length > 0) {
        this.resourceAttrs ??= this.resource ? plainAttributes(this.resource) : {};
        this.deliver(this.waiting.splice(0));
      }
    } catch (err) {
      this.report(err);
    }
  }

  /** Emit every open operation (marked incomplete when it had not ended) and stop. Idempotent. */
  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const scope of [...this.scopes.values()]) this.flush(scope, !scope.rootEnded, true);
    this.closed = true;
    clearInterval(this.sweeper);
    clearActiveProcessor(this);
    return this.settling ?? Promise.resolve();
  }

  /**
   * Hand records over in order. Resource detectors may still be running at
   * start-up (service.name from the environment among them): records wait
   * for them, so that every record carries the process's full resource.
   */
  private deliver(items: Ready[]): void {
    if (items.length === 0) return;
    if (this.resourceAttrs === undefined && this.resource?.asyncAttributesPending && this.resource.waitForAsyncAttributes) {
      this.waiting.push(...items);
      if (!this.settling) {
        const res = this.resource;
        this.settling = res
          .waitForAsyncAttributes?.()
          .catch((err: unknown) => this.report(err))
          .then(() => {
            this.resourceAttrs = plainAttributes(res);
            const queued = this.waiting.splice(0);
            this.deliver(queued);
          });
      }
      return;
    }
    if (this.waiting.length > 0) {
      this.waiting.push(...items);
      return;
    }
    if (this.resourceAttrs === undefined && this.resource) this.resourceAttrs = plainAttributes(this.resource);
    for (const it of items) {
      try {
        const spanId = it.fragment.spanId ?? randomBytes(8).toString('hex');
        this.onRecord(
          buildRecord({ ...it.fragment, spanId }, {
            traceId: it.traceId,
            emitterId: this.emitterId,
            emitterSeq: ++this.seq,
            resource: this.resourceAttrs ?? {},
            incomplete: it.incomplete,
            nowMs: it.nowMs,
            limits: this.limits,
          }),
        );
      } catch (err) {
        this.report(err);
      }
    }
  }

  /** A new operation rooted at `rootSpanId` (or the open one of that key). */
  private open(traceId: string, rootSpanId: string, root: Span | undefined): Scope {
    const key = `${traceId}/${rootSpanId}`;
    const existing = this.scopes.get(key);
    if (existing) return existing;
    if (this.scopes.size >= this.config.maxOpenTraces) {
      // Bounded memory: the oldest open operation goes out now, marked incomplete.
      const oldest = this.scopes.values().next().value;
      if (oldest) this.flush(oldest, true, true);
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
    this.scopes.set(key, scope);
    return scope;
  }

  /** The open operation of a scope: itself, or a reopened one (same key and root) after it was flushed. */
  private live(scope: Scope): Scope {
    if (!scope.closed) return scope;
    const open = this.scopes.get(scope.key);
    if (open) return open;
    const reopened = this.open(scope.traceId, scope.rootSpanId, scope.root);
    reopened.rootEnded = scope.rootEnded;
    reopened.tagged = scope.tagged;
    return reopened;
  }

  /**
   * The operation of the active span. A span this processor did not see
   * start (a foreign or wrapped span context) is an operation of its own
   * when `create` is set.
   */
  private currentScope(create: boolean): Scope | undefined {
    const span = trace.getSpan(context.active());
    if (!span) return undefined;
    const known = this.spanScopes.get(span);
    if (known) return this.live(known);
    const sc = span.spanContext();
    if (!trace.isSpanContextValid(sc)) return undefined;
    const key = `${sc.traceId}/${sc.spanId}`;
    return this.scopes.get(key) ?? (create ? this.open(sc.traceId, sc.spanId, undefined) : undefined);
  }

  private takeBytes(scope: Scope, f: AuditFragment): boolean {
    const n = manualBytes(f);
    if (scope.manualBytes + n > MAX_MANUAL_BYTES_PER_OPERATION) {
      scope.manualBytes = MAX_MANUAL_BYTES_PER_OPERATION + 1;
      this.ignoreManual(scope);
      return false;
    }
    scope.manualBytes += n;
    return true;
  }

  private ignoreManual(scope: Scope): void {
    scope.manualIgnored++;
    this.manualIgnoredTotal++;
    if (this.manualIgnoredTotal === 1 || this.manualIgnoredTotal % 10_000 === 0) {
      diag.warn(
        `otel-audit: manual audit calls past the bound of ${MAX_MANUAL_CALLS_PER_OPERATION} calls / ` +
          `${MAX_MANUAL_BYTES_PER_OPERATION} bytes per operation are ignored (${this.manualIgnoredTotal} so far)`,
      );
    }
  }

  private armGrace(scope: Scope): void {
    if (scope.timer) return;
    scope.timer = setTimeout(() => {
      scope.timer = undefined;
      this.flush(scope, scope.openSpans > 0 && !scope.rootEnded);
    }, this.config.graceMs);
    scope.timer.unref();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.config.traceTimeoutMs;
    for (const scope of [...this.scopes.values()]) {
      if (scope.createdMs > cutoff) break; // insertion order: the rest are younger
      this.flush(scope, true, true);
    }
  }

  /**
   * Merge and emit the operation's fragments. With `inFlight` (timeout,
   * shutdown, memory bound), a request still running is recorded as it
   * stands.
   */
  private flush(scope: Scope, incomplete: boolean, inFlight = false): void {
    if (scope.timer) {
      clearTimeout(scope.timer);
      scope.timer = undefined;
    }
    if (this.scopes.get(scope.key) === scope) this.scopes.delete(scope.key);
    scope.closed = true;
    // A request still in flight (timeout, shutdown) is recorded as it stands: never as a success.
    if (inFlight && !scope.rootEnded && !scope.tagged && scope.root && isHttpServer(scope.root)) {
      const inFlight = this.tagger.tag(scope.root, capturedRequests().get(scope.root), true);
      if (inFlight) {
        scope.tagged = true;
        scope.fragments.unshift(inFlight);
      }
    }
    const fragments = scope.fragments.splice(0);
    if (fragments.length === 0) return;
    const autos = fragments.filter((f) => f.source === 'auto').map((f) => this.applyEnrichment(f, scope.enrich));
    const manuals = fragments.filter((f) => f.source === 'manual');
    const context0 = autos[0];
    const nowMs = Date.now();
    const ready: Ready[] = mergeFragments([...autos, ...manuals]).map((m) => {
      let rec = withDefaults(m, context0);
      if (rec.outcome === 'failure' && rec.error === undefined && scope.error !== undefined) rec = { ...rec, error: scope.error };
      if (scope.manualIgnored > 0) rec = { ...rec, manualIgnored: scope.manualIgnored };
      return { fragment: rec, traceId: scope.traceId, incomplete, nowMs };
    });
    this.deliver(ready);
  }

  private applyEnrichment(f: AuditFragment, enrich: readonly AuditFragment[]): AuditFragment {
    let out = f;
    for (const e of enrich) {
      out = {
        ...out,
        ...(e.actor ? { actor: e.actor, attemptedPrincipal: false } : {}),
        ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
        ...(e.resourceType !== undefined ? { resourceType: e.resourceType } : {}),
        ...(e.resourceId !== undefined ? { resourceId: e.resourceId } : {}),
        ...(e.outcome ? { outcome: e.outcome } : {}),
        ...(e.before !== undefined ? { before: e.before } : {}),
        ...(e.after !== undefined ? { after: e.after } : {}),
        ...(e.meta ? { meta: { ...out.meta, ...e.meta } } : {}),
      };
    }
    return out;
  }

  private emitStandalone(fragment: AuditFragment): void {
    const nowMs = Date.now();
    this.deliver([{ fragment: { ...fragment, startMs: fragment.startMs ?? nowMs }, traceId: randomBytes(16).toString('hex'), incomplete: false, nowMs }]);
  }

  private report(err: unknown): void {
    this.errors++;
    if (this.errors === 1 || this.errors % 1000 === 0) {
      diag.error(`otel-audit: audit span processor error (${this.errors} so far)`, err);
    }
  }
}
