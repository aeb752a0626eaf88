import { context, diag, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import { ATTR_AUDIT_EMITTER_ID } from '../contract/attributes.js';
import type { ResolvedAuditConfig } from './config.js';
import { resolveConfig } from './config.js';
import { applyEnrichment, enrichmentOf } from './enrichment.js';
import { mergeFragments, withDefaults, type AuditFragment } from './fragment.js';
import { clearActiveProcessor, setActiveProcessor, type FragmentReceiver } from './global.js';
import { ManualCallBound } from './manual-bound.js';
import { OperationScopes, type Scope } from './operation-scopes.js';
import type { OutboxContext } from './outbox-types.js';
import type { AuditRecord } from './record.js';
import { sanitizeFragment, spanAttributes } from './record-builder.js';
import { RecordEmitter, type Ready } from './record-emitter.js';
import type { RecordValueLimits } from './record-values.js';
import { sensitiveKeyTest } from './redact.js';
import { capturedRequestOf, takeCapturedRequest } from './request-capture.js';
import { defaultServiceName } from './service-name.js';
import { Tagger } from './tagger.js';
import type { AuditOptions, AuditSetInput } from './types.js';

/** Fragments held per operation at most; past it the operation is flushed early. */
const MAX_FRAGMENTS_PER_OPERATION = 64;
/** How often operations that never end are looked for. */
const SWEEP_INTERVAL_MS = 10_000;
/** Bytes of the random emitter id. */
const EMITTER_ID_BYTES = 8;
/** After the first processor error, one report per this many more. */
const REPORT_ERRORS_EVERY = 1000;

export interface AuditSpanProcessorOptions extends AuditOptions {
  /** Where finished records go (the delivery queue). */
  onRecord: (record: AuditRecord) => void;
  /** Emitter id; default: 16 random hex characters, new per process start. */
  emitterId?: string;
  /** Resolved configuration; default: resolved from these options and the environment. */
  config?: ResolvedAuditConfig;
  /**
   * Tag HTTP server spans with who/what/which resource/outcome for the APM
   * (default true). Without any span export nobody reads them: `startAudit`
   * turns it off then and saves their cost on every request.
   */
  tagSpans?: boolean;
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
 *   (at most `MAX_MANUAL_CALLS_PER_OPERATION` calls and
 *   `MAX_MANUAL_BYTES_PER_OPERATION` bytes; more are ignored, counted,
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
  private readonly limits: RecordValueLimits;
  private readonly scopes: OperationScopes;
  private readonly manual = new ManualCallBound();
  private readonly emitter: RecordEmitter;
  private readonly sweeper: NodeJS.Timeout;
  private readonly tagSpans: boolean;
  private errors = 0;
  private closed = false;

  constructor(options: AuditSpanProcessorOptions) {
    this.tagSpans = options.tagSpans !== false;
    this.config = options.config ?? resolveConfig(options);
    this.tagger = new Tagger(this.config);
    this.limits = { maxValueBytes: this.config.maxValueBytes, isSensitive: sensitiveKeyTest(this.config.redactKeys) };
    this.emitterId = options.emitterId ?? randomBytes(EMITTER_ID_BYTES).toString('hex');
    this.emitter = new RecordEmitter(this.emitterId, this.limits, options.onRecord, (err) => this.report(err));
    // Bounded memory: the oldest open operation goes out now, marked incomplete.
    this.scopes = new OperationScopes(this.config.maxOpenTraces, (oldest) => this.flush(oldest, true, true));
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
      const parentScope = parent && !parent.spanContext().isRemote ? this.scopes.ofSpan(parent) : undefined;
      this.emitter.noteResource(span.resource);
      let scope: Scope;
      if (parentScope) {
        scope = this.scopes.live(parentScope);
      } else {
        const sc = span.spanContext();
        scope = this.scopes.open(sc.traceId, sc.spanId, span);
      }
      scope.openSpans++;
      this.scopes.bind(span, scope);
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
      const known = this.scopes.ofSpan(span);
      if (!known) return;
      const scope = this.scopes.live(known);
      const fragment = this.tagger.tag(span, takeCapturedRequest(span));
      if (!fragment) return;
      if (span === scope.root) scope.tagged = true;
      if (scope.fragments.length >= MAX_FRAGMENTS_PER_OPERATION) this.flush(scope, true);
      this.scopes.live(scope).fragments.push(fragment);
      if (!this.tagSpans) return;
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
      const known = this.scopes.ofSpan(span);
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
      const scope = this.scopes.current(false);
      return scope ? this.manual.admit(scope) : true;
    } catch (err) {
      this.report(err);
      return false;
    }
  }

  /** From `audit.record()`: a fragment of the current operation (or a record of its own without one). */
  addFragment(fragment: AuditFragment): void {
    try {
      const scope = this.closed ? undefined : this.scopes.current(true);
      if (!scope) {
        this.emitter.standalone(fragment);
        return;
      }
      if (!this.manual.takeBytes(scope, fragment)) return;
      if (scope.fragments.length >= MAX_FRAGMENTS_PER_OPERATION) this.flush(scope, true);
      const live = this.scopes.live(scope);
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
      const scope = this.scopes.current(true);
      if (!scope) {
        diag.debug('otel-audit: audit.set() outside of an operation is ignored');
        return;
      }
      const f = enrichmentOf(input, sanitize ? (value) => this.tagger.sanitize(value) : undefined);
      if (!this.manual.takeBytes(scope, f)) return;
      scope.enrich.push(f);
    } catch (err) {
      this.report(err);
    }
  }

  /** Sanitise a value the way request parameters are (redaction + size cap). */
  sanitize(value: unknown): string | undefined {
    return this.tagger.sanitize(value);
  }

  /**
   * For `audit.inTransaction()`: the current operation's trace and server
   * span, and who did it as far as the request says so far (the actor
   * and tenant of the request, then of `audit.set()`), with the process's
   * service name and value limits. Outside any operation only the latter.
   */
  outboxContext(): OutboxContext {
    const ctx: OutboxContext = {
      serviceName: this.emitter.serviceName() ?? defaultServiceName(),
      limits: this.limits,
      sanitize: (value) => this.tagger.sanitize(value),
    };
    try {
      const scope = this.closed ? undefined : this.scopes.current(true);
      if (!scope) return ctx;
      ctx.traceId = scope.traceId;
      ctx.spanId = scope.rootSpanId;
      ctx.traceFlags = scope.root?.spanContext().traceFlags ?? 0;
      const root = scope.root;
      // The request as it stands (still running): its actor, tenant and level.
      const tagged = root && isHttpServer(root) ? this.tagger.tag(root, capturedRequestOf(root), true) : undefined;
      const known = applyEnrichment(tagged ?? { source: 'auto', action: '' }, scope.enrich);
      if (known.actor) ctx.actor = known.actor;
      if (known.tenant !== undefined) ctx.tenant = known.tenant;
      if (known.level !== undefined) ctx.level = known.level;
      if (known.module !== undefined) ctx.module = known.module;
      if (known.http) {
        const { statusCode: _unsent, ...http } = known.http;
        // A framework's route is known mid-request only to the context (the span gets it at its end).
        const route = getRPCMetadata(context.active())?.route;
        if (route !== undefined) http.route = route;
        ctx.http = http;
      }
    } catch (err) {
      this.report(err);
    }
    return ctx;
  }

  forceFlush(): Promise<void> {
    for (const scope of this.scopes.list()) {
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
      for (const scope of this.scopes.list()) this.flush(scope, !scope.rootEnded, true);
      this.emitter.deliverWaiting();
    } catch (err) {
      this.report(err);
    }
  }

  /** Emit every open operation (marked incomplete when it had not ended) and stop. Idempotent. */
  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const scope of this.scopes.list()) this.flush(scope, !scope.rootEnded, true);
    this.closed = true;
    clearInterval(this.sweeper);
    clearActiveProcessor(this);
    return this.emitter.settling ?? Promise.resolve();
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
    for (const scope of this.scopes.list()) {
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
    this.scopes.close(scope);
    // A request still in flight (timeout, shutdown) is recorded as it stands: never as a success.
    if (inFlight && !scope.rootEnded && !scope.tagged && scope.root && isHttpServer(scope.root)) {
      const inFlight = this.tagger.tag(scope.root, capturedRequestOf(scope.root), true);
      if (inFlight) {
        scope.tagged = true;
        scope.fragments.unshift(inFlight);
      }
    }
    const fragments = scope.fragments.splice(0);
    if (fragments.length === 0) return;
    const autos = fragments.filter((f) => f.source === 'auto').map((f) => applyEnrichment(f, scope.enrich));
    const manuals = fragments.filter((f) => f.source === 'manual');
    const context0 = autos[0];
    const nowMs = Date.now();
    const ready: Ready[] = mergeFragments([...autos, ...manuals]).map((m) => {
      let rec = withDefaults(m, context0);
      if (rec.outcome === 'failure' && rec.error === undefined && scope.error !== undefined) rec = { ...rec, error: scope.error };
      if (scope.manualIgnored > 0) rec = { ...rec, manualIgnored: scope.manualIgnored };
      return { fragment: rec, traceId: scope.traceId, incomplete, nowMs };
    });
    this.emitter.deliver(ready);
  }

  private report(err: unknown): void {
    this.errors++;
    if (this.errors === 1 || this.errors % REPORT_ERRORS_EVERY === 0) {
      diag.error(`otel-audit: audit span processor error (${this.errors} so far)`, err);
    }
  }
}
