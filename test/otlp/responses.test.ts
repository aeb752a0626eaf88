import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { encodeMessage, toPlainObject } from '../../src/otlp/message-codec.js';
import { encodeLogsResponse, encodeRpcStatus, encodeTraceResponse } from '../../src/otlp/responses.js';
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

  it('writes the bytes the protobuf schema writes, long messages and large counts included', () => {
    for (const [rejected, errorMessage] of [[0, ''], [1, 'x'], [300, 'ünïcödé '.repeat(40)], [2 ** 40, 'many']] as const) {
      expect(Buffer.from(encodeLogsResponse({ rejected, errorMessage }))).toEqual(Buffer.from(encodeMessage(schema.exportLogsServiceResponse, { partialSuccess: { rejectedLogRecords: rejected, errorMessage } })));
      expect(Buffer.from(encodeTraceResponse({ rejected, errorMessage }))).toEqual(Buffer.from(encodeMessage(schema.exportTraceServiceResponse, { partialSuccess: { rejectedSpans: rejected, errorMessage } })));
    }
  });

  it('google.rpc.Status for OTLP/HTTP errors', () => {
    const expected = protobuf.Writer.create().uint32(8).int32(3).uint32(18).string('bad request ✓').finish();
    expect(Buffer.from(encodeRpcStatus(3, 'bad request ✓'))).toEqual(Buffer.from(expected));
  });
});
