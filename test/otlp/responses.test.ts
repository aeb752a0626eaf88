import { describe, expect, it } from 'vitest';
import { toPlainObject } from '../../src/otlp/message-codec.js';
import { encodeLogsResponse, encodeTraceResponse } from '../../src/otlp/responses.js';
import { loadOtlpSchema } from '../../src/otlp/schema-loader.js';

describe('export responses', () => {
  const schema = loadOtlpSchema();
  const decode = (type: typeof schema.exportLogsServiceResponse, bytes: Uint8Array): Record<string, unknown> =>
    toPlainObject(type, type.decode(bytes));

  it('is empty for full success', () => {
    expect(encodeLogsResponse()).toHaveLength(0);
    expect(encodeTraceResponse()).toHaveLength(0);
  });

  it('counts rejected log records, or rejected spans, with the reason', () => {
    const logs = decode(schema.exportLogsServiceResponse, encodeLogsResponse({ rejected: 3, errorMessage: 'bad trace id' }));
    expect(logs['partialSuccess']).toEqual({ rejectedLogRecords: '3', errorMessage: 'bad trace id' });
    const traces = decode(schema.exportTraceServiceResponse, encodeTraceResponse({ rejected: 2, errorMessage: 'too large' }));
    expect(traces['partialSuccess']).toEqual({ rejectedSpans: '2', errorMessage: 'too large' });
  });
});
