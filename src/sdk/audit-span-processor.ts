import { context, diag, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import type { ResolvedAuditConfig } from './config.js';
import { resolveConfig } from './config.js';
import { mergeFragments, withDefaults, type AuditFragment } from './fragment.js';
import { setActiveProcessor, clearActiveProcessor, type FragmentSink } from './global.js';
import type { AuditAttributeValue, AuditRecord } from './record.js';
import { ATTR_AUDIT_EMITTER_ID } from './attributes.js';
import { buildRecord, spanAttributes } from './record-builder.js';
import { takeCapturedRequest } from './request-capture.js';
import { Tagger } from './tagger.js';
import type { AuditOptions, AuditSetInput } from './types.js';

/** Fragments held per trace at most; past it the trace is flushed early. */
const MAX_FRAGMENTS_PER_TRACE = 64;
/** How often traces that never end are looked for. */
const SWEEP_INTERVAL_MS = 10_000;

export interface AuditSpanProcessorOptions extends AuditOptions {
  /** Where finished records go (the delivery queue). */
  onRecord: (record: AuditRecord) => void;
  /** Emitter id; default: 16 random hex characters, new per process start. */
  emitterId?: string;
  /** Resolved configuration; default: resolved from these options and the environment. */
  config?: ResolvedAuditConfig;
}

interface TraceState {
  traceId: string;
  openSpans: number;
  localRootsOpen: number;
  localRootsEnded: number;
  fragments: AuditFragment[];
  /** `audit.set()` enrichments, applied to the automatic fragments. */
  enrich: AuditFragment[];
  /** First error message seen on any span of the trace. */
  error?: string;
  createdMs: number;
  timer?: NodeJS.Timeout;
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

function isHttpServer(span: ReadableSpan): boolean {
  return span.kind === SpanKind.SERVER && (span.attributes['http.request.method'] !== undefined || span.attributes['http.method'] !== undefined);
}

/**
 * Turns every API call into exactly one audit record.
 *
 * - `onEnding` of an HTTP server span (still writable) derives the automatic
 *   fragment and tags the span with its `audit.*` attributes;
 * - `audit.record()` / `audit.set()` add fragments to the current trace;
 * - when the process's local root spans of a trace have ended (plus a grace
 *   period for children still open), the trace's fragments are merged into
 *   one record per (action, resource) and handed to `onRecord` with the
 *   emitter id and the next emitter sequence number.
 *
 * `onStart`/`onEnd` are synchronous, cheap and never throw. Open traces are
 * bounded in number and size; traces that never end are flushed with
 * `audit.incomplete` after the trace timeout.
 */
export class AuditSpanProcessor implements SpanProcessor, FragmentSink {
  readonly emitterId: string;
  private readonly config: ResolvedAuditConfig;
  private readonly tagger: Tagger;
  private readonly onRecord: (record: AuditRecord) => void;
  private readonly traces = new Map<string, TraceState>();
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

  onStart(span: Span, _parentContext: Context): void {
    try {
      const st = this.state(span.spanContext().traceId);
      st.openSpans++;
      const parent = span.parentSpanContext;
      if (!parent || parent.isRemote) st.localRootsOpen++;
      this.resource ??= span.resource;
      if (st.timer) {
        clearTimeout(st.timer);
        st.timer = undefined;
      }
    } catch (err) {
      this.report(err);
    }
  }

  onEnding(span: Span): void {
    try {
      if (!isHttpServer(span)) return;
      const captured = takeCapturedRequest(span);
      const fragment = this.tagger.tag(span, captured);
      if (!fragment) return;
      const st = this.state(span.spanContext().traceId);
      if (st.fragments.length >= MAX_FRAGMENTS_PER_TRACE) this.flush(st, true);
      st.fragments.push(fragment);
      // The APM sees the audit attributes on the server span too. The emitter
      // id tells a receiver that this span's record also travels as a log
      // record, so that the span is never stored as a second record.
      const attrs = spanAttributes(fragment);
      attrs[ATTR_AUDIT_EMITTER_ID] = this.emitterId;
      span.setAttributes(attrs);
    } catch (err) {
      this.report(err);
    }
  }

  onEnd(span: ReadableSpan): void {
    try {
      const traceId = span.spanContext().traceId;
      const st = this.traces.get(traceId);
      if (!st) return;
      st.openSpans = Math.max(0, st.openSpans - 1);
      if (st.error === undefined && span.status.code === SpanStatusCode.ERROR) {
        const ex = span.events.find((e) => e.name === 'exception');
        const msg = ex?.attributes?.['exception.message'] ?? span.status.message;
        if (typeof msg === 'string' && msg.length > 0) st.error = msg;
      }
      const parent = span.parentSpanContext;
      if (!parent || parent.isRemote) {
        st.localRootsOpen = Math.max(0, st.localRootsOpen - 1);
        st.localRootsEnded++;
      }
      if (st.localRootsEnded > 0 && st.localRootsOpen === 0) {
        if (st.openSpans === 0) this.flush(st, false);
        else this.armGrace(st);
      }
    } catch (err) {
      this.report(err);
    }
  }

  /** From `audit.record()`: a fragment of the current trace (or a record of its own without one). */
  addFragment(fragment: AuditFragment): void {
    try {
      const span = trace.getSpan(context.active());
      const sc = span?.spanContext();
      if (!sc || !trace.isSpanContextValid(sc) || this.closed) {
        this.emitStandalone(fragment);
        return;
      }
      const st = this.state(sc.traceId);
      if (st.fragments.length >= MAX_FRAGMENTS_PER_TRACE) this.flush(st, true);
      st.fragments.push({ ...fragment, spanId: fragment.spanId ?? sc.spanId, traceFlags: fragment.traceFlags ?? sc.traceFlags });
      // Called after the trace's spans ended (async work after the response): emit after the grace period.
      if (st.openSpans === 0) this.armGrace(st);
    } catch (err) {
      this.report(err);
    }
  }

  /** From `audit.set()`: enrich the current operation's record. */
  enrich(input: AuditSetInput, sanitize: boolean): void {
    try {
      const sc = trace.getSpan(context.active())?.spanContext();
      if (!sc || !trace.isSpanContextValid(sc)) {
        diag.debug('otel-audit: audit.set() outside of an operation is ignored');
        return;
      }
      const st = this.state(sc.traceId);
      const f: AuditFragment = { source: 'manual', action: '' };
      if (input.actor) f.actor = { type: input.actor.type ?? 'user', ...input.actor } as AuditFragment['actor'];
      if (input.tenant !== undefined) f.tenant = input.tenant;
      if (input.resource?.type !== undefined) f.resourceType = String(input.resource.type);
      if (input.resource?.id !== undefined) f.resourceId = String(input.resource.id);
      if (input.outcome) f.outcome = input.outcome;
      if (sanitize && input.before !== undefined) f.before = this.tagger.sanitize(input.before);
      if (sanitize && input.after !== undefined) f.after = this.tagger.sanitize(input.after);
      if (input.meta) f.meta = { ...input.meta };
      st.enrich.push(f);
    } catch (err) {
      this.report(err);
    }
  }

  /** Sanitise a value the way request parameters are (redaction + size cap). */
  sanitize(value: unknown): string | undefined {
    return this.tagger.sanitize(value);
  }

  forceFlush(): Promise<void> {
    for (const st of [...this.traces.values()]) {
      if (st.localRootsEnded > 0 && st.localRootsOpen === 0) this.flush(st, false);
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
      for (const st of [...this.traces.values()]) this.flush(st, !(st.localRootsEnded > 0 && st.localRootsOpen === 0));
      if (this.waiting.length > 0) {
        this.resourceAttrs ??= this.resource ? plainAttributes(this.resource) : {};
        this.deliver(this.waiting.splice(0));
      }
    } catch (err) {
      this.report(err);
    }
  }

  /** Emit every open trace (marked incomplete when it had not ended) and stop. Idempotent. */
  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    for (const st of [...this.traces.values()]) {
      const ended = st.localRootsEnded > 0 && st.localRootsOpen === 0;
      this.flush(st, !ended);
    }
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
          }),
        );
      } catch (err) {
        this.report(err);
      }
    }
  }

  private state(traceId: string): TraceState {
    let st = this.traces.get(traceId);
    if (st) return st;
    if (this.traces.size >= this.config.maxOpenTraces) {
      // Bounded memory: the oldest open trace goes out now, marked incomplete.
      const oldest = this.traces.values().next().value;
      if (oldest) this.flush(oldest, true);
    }
    st = { traceId, openSpans: 0, localRootsOpen: 0, localRootsEnded: 0, fragments: [], enrich: [], createdMs: Date.now() };
    this.traces.set(traceId, st);
    return st;
  }

  private armGrace(st: TraceState): void {
    if (st.timer) return;
    st.timer = setTimeout(() => {
      st.timer = undefined;
      this.flush(st, st.openSpans > 0 && st.localRootsOpen > 0);
    }, this.config.graceMs);
    st.timer.unref();
  }

  private sweep(): void {
    const cutoff = Date.now() - this.config.traceTimeoutMs;
    for (const st of [...this.traces.values()]) {
      if (st.createdMs > cutoff) break; // insertion order: the rest are younger
      this.flush(st, true);
    }
  }

  private flush(st: TraceState, incomplete: boolean): void {
    if (st.timer) {
      clearTimeout(st.timer);
      st.timer = undefined;
    }
    if (this.traces.get(st.traceId) === st) this.traces.delete(st.traceId);
    const fragments = st.fragments.splice(0);
    if (fragments.length === 0) return;
    const autos = fragments.filter((f) => f.source === 'auto').map((f) => this.applyEnrichment(f, st.enrich));
    const manuals = fragments.filter((f) => f.source === 'manual');
    const context0 = autos[0];
    const nowMs = Date.now();
    const ready: Ready[] = mergeFragments([...autos, ...manuals]).map((m) => {
      let rec = withDefaults(m, context0);
      if (rec.outcome === 'failure' && rec.error === undefined && st.error !== undefined) rec = { ...rec, error: st.error };
      return { fragment: rec, traceId: st.traceId, incomplete, nowMs };
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
