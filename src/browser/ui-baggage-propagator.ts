import { propagation, trace, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { W3CBaggagePropagator } from '@opentelemetry/core';
import type { ClickTracker } from './click-tracker.js';
import type { UiDetails } from './element-details.js';

/**
 * The W3C baggage propagator, adding the `audit.ui.*` entries of the click
 * whose trace a request belongs to (`audit.ui.label`, `audit.ui.element`,
 * `audit.ui.event`). The application's own baggage is sent as it is; a
 * request outside any click's trace carries no `audit.ui.*` entry.
 */
export class UiBaggagePropagator implements TextMapPropagator {
  private readonly baggage = new W3CBaggagePropagator();

  constructor(private readonly clicks: ClickTracker) {}

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const details = this.detailsFor(context);
    if (details === undefined) {
      this.baggage.inject(context, carrier, setter);
      return;
    }
    let bag = propagation.getBaggage(context) ?? propagation.createBaggage();
    bag = bag.setEntry('audit.ui.element', { value: details.element }).setEntry('audit.ui.event', { value: details.event });
    bag = details.label !== undefined ? bag.setEntry('audit.ui.label', { value: details.label }) : bag.removeEntry('audit.ui.label');
    this.baggage.inject(propagation.setBaggage(context, bag), carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.baggage.extract(context, carrier, getter);
  }

  fields(): string[] {
    return this.baggage.fields();
  }

  private detailsFor(context: Context): UiDetails | undefined {
    const sc = trace.getSpanContext(context);
    const click = this.clicks.current();
    if (click && (sc === undefined || sc.traceId === click.span.spanContext().traceId)) return click.details;
    return sc ? this.clicks.detailsOf(sc.traceId) : undefined;
  }
}
