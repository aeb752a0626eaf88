/**
 * OTLP records as the sink reads them: one log record or span with its
 * resource and scope, ids as lowercase hex, attributes as JS values.
 */

/** Attributes flattened to JS values (see `anyValueToJs` in `flatten.ts`). */
export type DecodedAttributes = Record<string, unknown>;

export interface DecodedScope {
  name: string;
  version: string;
  attributes: DecodedAttributes;
}

/** One OTLP log record with its resource and scope, ids as lowercase hex. */
export interface DecodedLogRecord {
  /** Resource attributes. */
  resource: DecodedAttributes;
  scope: DecodedScope;
  /** Nanoseconds since the Unix epoch, decimal ("0" = unknown). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  /** The body as a JS value; null when absent or empty. */
  body: unknown;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  /** 32 hex digits, or '' when not associated with a trace. */
  traceId: string;
  /** 16 hex digits, or ''. */
  spanId: string;
  /** '' for plain log records. */
  eventName: string;
  /** W3C trace flags in the low byte. */
  flags: number;
  /** Set when a numeric field is out of its range: the record is refused with this reason. */
  invalid?: InvalidNumbers;
}

/** Why a decoded record is refused although it decoded: a value out of its field's range (removed from the record). */
export interface InvalidNumbers {
  /** Names the field and the value, e.g. `timeUnixNano "-1" is not an unsigned 64-bit integer`. */
  reason: string;
  /** The record as it arrived (OTLP/JSON), when the decoder kept it. */
  record?: unknown;
}

export interface DecodedSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
}

export interface DecodedSpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  flags: number;
}

/** One OTLP span with its resource and scope, ids as lowercase hex. */
export interface DecodedSpan {
  resource: DecodedAttributes;
  scope: DecodedScope;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  /** W3C trace flags plus the SpanFlags is-remote bits. */
  flags: number;
  name: string;
  /** `OtlpSpanKind` value (`enums.ts`). */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: DecodedAttributes;
  droppedAttributesCount: number;
  /** `OtlpStatusCode` value (`enums.ts`) and message. */
  status: { code: number; message: string };
  events: DecodedSpanEvent[];
  droppedEventsCount: number;
  links: DecodedSpanLink[];
  droppedLinksCount: number;
  /** Set when a numeric field is out of its range: the span is refused with this reason. */
  invalid?: InvalidNumbers;
}
