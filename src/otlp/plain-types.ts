/**
 * OTLP export requests as plain objects: the shapes `toObject` produces with
 * {@link OTLP_TO_OBJECT_OPTIONS} (every field present, 64-bit integers as
 * decimal strings, ids and bytes as Buffers).
 *
 * @see OTLP_TO_OBJECT_OPTIONS in `message-codec.ts`
 */

/** `AnyValue` as a plain object; `value` names the set member, if any. */
export interface PlainAnyValue {
  value?: 'stringValue' | 'boolValue' | 'intValue' | 'doubleValue' | 'arrayValue' | 'kvlistValue' | 'bytesValue';
  stringValue?: string;
  boolValue?: boolean;
  /** Decimal string (int64). */
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: PlainAnyValue[] };
  kvlistValue?: { values: PlainKeyValue[] };
  bytesValue?: Buffer;
}

export interface PlainKeyValue {
  key: string;
  value: PlainAnyValue | null;
}

export interface PlainResource {
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainInstrumentationScope {
  name: string;
  version: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: PlainAnyValue | null;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  flags: number;
  traceId: Buffer;
  spanId: Buffer;
  eventName: string;
}

export interface PlainExportLogsServiceRequest {
  resourceLogs: {
    resource: PlainResource | null;
    scopeLogs: { scope: PlainInstrumentationScope | null; logRecords: PlainLogRecord[]; schemaUrl: string }[];
    schemaUrl: string;
  }[];
}

export interface PlainSpanEvent {
  timeUnixNano: string;
  name: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
}

export interface PlainSpanLink {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  flags: number;
}

export interface PlainSpan {
  traceId: Buffer;
  spanId: Buffer;
  traceState: string;
  parentSpanId: Buffer;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: PlainKeyValue[];
  droppedAttributesCount: number;
  events: PlainSpanEvent[];
  droppedEventsCount: number;
  links: PlainSpanLink[];
  droppedLinksCount: number;
  status: { message: string; code: number } | null;
}

export interface PlainExportTraceServiceRequest {
  resourceSpans: {
    resource: PlainResource | null;
    scopeSpans: { scope: PlainInstrumentationScope | null; spans: PlainSpan[]; schemaUrl: string }[];
    schemaUrl: string;
  }[];
}
