import { context, diag, propagation, trace, type ContextManager, type TracerProvider } from '@opentelemetry/api';
import { CompositePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { ClickContextManager } from './click-context-manager.js';
import { ClickTracker } from './click-tracker.js';
import { UiBaggagePropagator } from './ui-baggage-propagator.js';

/** Options of {@link startClickAudit}. */
export interface ClickAuditOptions {
  /** Provider of the click spans. Default: the global tracer provider. */
  tracerProvider?: TracerProvider;
  /** Context manager to wrap, e.g. `new ZoneContextManager()`. Default: a plain stack. */
  contextManager?: ContextManager;
  /** Where clicks are followed. Default: `document`. */
  target?: EventTarget;
  /** Event types followed. Default: `['click']`. */
  events?: readonly string[];
  /** Replaces the label of an element (aria-label, else its text); return undefined to carry none. */
  label?: (element: Element) => string | undefined;
}

/** What {@link startClickAudit} set up. */
export interface ClickAuditHandle {
  /** Stop following clicks (the global context manager and propagator stay registered). */
  stop(): void;
}

/**
 * Links each click to the API calls it causes: every click starts a trace
 * (a `click` span), calls made while it is handled join that trace, and the
 * W3C baggage of those calls carries `audit.ui.label`, `audit.ui.element`
 * and `audit.ui.event`, which the otel-audit SDK of the API records. Call it
 * once, after the tracer provider and before the fetch / XHR
 * instrumentation is registered; it registers the global context manager
 * and propagator (W3C trace context and baggage). Never throws.
 */
export function startClickAudit(options: ClickAuditOptions = {}): ClickAuditHandle {
  try {
    const provider = options.tracerProvider ?? trace.getTracerProvider();
    const clicks = new ClickTracker(provider.getTracer('otel-audit/browser'), options.target ?? document, {
      ...(options.events ? { events: options.events } : {}),
      ...(options.label ? { label: options.label } : {}),
    });
    const manager = new ClickContextManager(clicks, options.contextManager).enable();
    if (!context.setGlobalContextManager(manager)) {
      diag.error('otel-audit/browser: a context manager was already registered; clicks will not start the traces of their calls');
    }
    const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new UiBaggagePropagator(clicks)] });
    if (!propagation.setGlobalPropagator(propagator)) {
      diag.error('otel-audit/browser: a propagator was already registered; calls will not carry the audit.ui.* baggage');
    }
    return { stop: () => clicks.stop() };
  } catch (err) {
    diag.error('otel-audit/browser: could not start; clicks are not linked to their calls', err);
    return { stop: () => undefined };
  }
}
