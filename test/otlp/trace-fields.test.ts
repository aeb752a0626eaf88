import { describe, expect, it } from 'vitest';
import * as F from '../../src/otlp/trace-fields.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';

/** Field numbers of a message as the OTLP .proto files (src/proto) define them, by field name. */
function protoFields(type: string): Record<string, number> {
  const message = loadOtlpSchema().root.lookupType(type);
  return Object.fromEntries(message.fieldsArray.map((f) => [f.name, f.id]));
}

const TRACE = 'opentelemetry.proto.trace.v1';

describe('the trace field table agrees with the OTLP .proto files', () => {
  it.each([
    ['ExportTraceServiceRequest', 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest', F.EXPORT_TRACE_REQUEST],
    ['ScopeSpans', `${TRACE}.ScopeSpans`, F.SCOPE_SPANS],
    ['Span', `${TRACE}.Span`, F.SPAN],
    ['Span.Event', `${TRACE}.Span.Event`, F.SPAN_EVENT],
    ['Span.Link', `${TRACE}.Span.Link`, F.SPAN_LINK],
    ['Status', `${TRACE}.Status`, F.STATUS],
    ['ExportTraceServiceResponse', 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse', F.EXPORT_TRACE_RESPONSE],
    ['ExportTracePartialSuccess', 'opentelemetry.proto.collector.trace.v1.ExportTracePartialSuccess', F.TRACE_PARTIAL_SUCCESS],
  ])('%s', (_name, type, table) => {
    expect({ ...table }).toEqual(protoFields(type));
  });

  it('ResourceSpans (which later OTLP versions may extend): every field in the table is right', () => {
    expect(protoFields(`${TRACE}.ResourceSpans`)).toMatchObject({ ...F.RESOURCE_SPANS });
  });
});
