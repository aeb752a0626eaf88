/**
 * Field numbers of the OTLP trace messages, from the OTLP specification
 * (opentelemetry/proto/collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto). The messages traces share with logs (Resource,
 * InstrumentationScope, KeyValue, AnyValue) are in logs-fields.ts.
 */

/** ExportTraceServiceRequest. */
export const EXPORT_TRACE_REQUEST = { resourceSpans: 1 } as const;

/** ResourceSpans. */
export const RESOURCE_SPANS = { resource: 1, scopeSpans: 2, schemaUrl: 3 } as const;

/** ScopeSpans. */
export const SCOPE_SPANS = { scope: 1, spans: 2, schemaUrl: 3 } as const;

/** Span. */
export const SPAN = {
  traceId: 1,
  spanId: 2,
  traceState: 3,
  parentSpanId: 4,
  name: 5,
  kind: 6,
  startTimeUnixNano: 7,
  endTimeUnixNano: 8,
  attributes: 9,
  droppedAttributesCount: 10,
  events: 11,
  droppedEventsCount: 12,
  links: 13,
  droppedLinksCount: 14,
  status: 15,
  flags: 16,
} as const;

/** Span.Event. */
export const SPAN_EVENT = { timeUnixNano: 1, name: 2, attributes: 3, droppedAttributesCount: 4 } as const;

/** Span.Link. */
export const SPAN_LINK = { traceId: 1, spanId: 2, traceState: 3, attributes: 4, droppedAttributesCount: 5, flags: 6 } as const;

/** Status (field 1 is reserved). */
export const STATUS = { message: 2, code: 3 } as const;

/** ExportTraceServiceResponse and its ExportTracePartialSuccess. */
export const EXPORT_TRACE_RESPONSE = { partialSuccess: 1 } as const;
export const TRACE_PARTIAL_SUCCESS = { rejectedSpans: 1, errorMessage: 2 } as const;
