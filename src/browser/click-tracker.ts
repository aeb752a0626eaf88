import { ROOT_CONTEXT, SpanKind, diag, type Span, type Tracer } from '@opentelemetry/api';
import { uiDetails, type UiDetails } from './element-details.js';

/** Clicks remembered by trace id, for requests made later in a click's trace (with a zone context manager). */
const MAX_REMEMBERED = 32;

/** A click being handled: its span and what it was on. */
export interface ActiveClick {
  readonly span: Span;
  readonly details: UiDetails;
}

/** Options of {@link ClickTracker}. */
export interface ClickTrackerOptions {
  /** Event types followed. Default: `['click']`. */
  events?: readonly string[];
  /** Replaces the label of an element (aria-label, else its text); return undefined to carry none. */
  label?: (element: Element) => string | undefined;
}

/**
 * Follows user interactions on a document: each one starts a root span
 * (`click`, the trace of everything the click causes) that is the current
 * click until the task that dispatched it is over, and is remembered by its
 * trace id afterwards. Listens in the capture phase, so the span exists
 * before the page's own listeners run.
 */
export class ClickTracker {
  private active: ActiveClick | undefined;
  private readonly byTrace = new Map<string, UiDetails>();
  private readonly events: readonly string[];
  private errors = 0;
  private readonly listener = (event: Event): void => this.onEvent(event);

  constructor(
    private readonly tracer: Tracer,
    private readonly target: EventTarget,
    private readonly options: ClickTrackerOptions = {},
  ) {
    this.events = options.events ?? ['click'];
    for (const type of this.events) target.addEventListener(type, this.listener, { capture: true });
  }

  /** The click whose task is running, if any. */
  current(): ActiveClick | undefined {
    return this.active;
  }

  /** The details of the click that started trace `traceId`, if it is one of the last few. */
  detailsOf(traceId: string): UiDetails | undefined {
    return this.byTrace.get(traceId);
  }

  /** Stop listening. */
  stop(): void {
    for (const type of this.events) this.target.removeEventListener(type, this.listener, { capture: true });
    this.active = undefined;
  }

  private onEvent(event: Event): void {
    // Never throws into the page: a failure is reported once and the click goes on untraced.
    try {
      const details = uiDetails(event.target, event.type, this.options.label);
      if (details === undefined) return;
      const attributes: Record<string, string> = { 'audit.ui.element': details.element, 'audit.ui.event': details.event };
      if (details.label !== undefined) attributes['audit.ui.label'] = details.label;
      const span = this.tracer.startSpan(event.type, { kind: SpanKind.INTERNAL, root: true, attributes }, ROOT_CONTEXT);
      const click: ActiveClick = { span, details };
      this.active = click;
      this.remember(span.spanContext().traceId, details);
      // Listeners of this event, and the microtasks they queue, run before the next task.
      setTimeout(() => {
        if (this.active === click) this.active = undefined;
        span.end();
      }, 0);
    } catch (err) {
      if (++this.errors === 1) diag.error('otel-audit/browser: could not follow a user interaction (reported once)', err);
    }
  }

  private remember(traceId: string, details: UiDetails): void {
    this.byTrace.set(traceId, details);
    if (this.byTrace.size > MAX_REMEMBERED) {
      const oldest = this.byTrace.keys().next().value;
      if (oldest !== undefined) this.byTrace.delete(oldest);
    }
  }
}
