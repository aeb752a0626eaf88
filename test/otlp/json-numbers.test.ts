import { describe, expect, it } from 'vitest';
import { decodeLogsJson, decodeTraceJson } from '../../src/otlp/json.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const logs = (records: Record<string, unknown>[]): string => JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: records }] }] });

describe('OTLP/JSON numbers at decode', () => {
  it('accepts every form OTLP/JSON allows, with the value it means', () => {
    const [a, b] = decodeLogsJson(logs([
      { timeUnixNano: '18446744073709551615', observedTimeUnixNano: 1700000000, severityNumber: '17', flags: '1', droppedAttributesCount: 3, traceId: TRACE, spanId: SPAN,
        attributes: [{ key: 'i', value: { intValue: '-9223372036854775808' } }, { key: 'd', value: { doubleValue: '-Infinity' } }, { key: 'j', value: { intValue: 42 } }] },
      { severityNumber: 'SEVERITY_NUMBER_WARN' },
    ]));
    expect(a).toMatchObject({ timeUnixNano: '18446744073709551615', observedTimeUnixNano: '1700000000', severityNumber: 17, flags: 1, droppedAttributesCount: 3 });
    expect(a!.attributes).toEqual({ i: '-9223372036854775808', d: -Infinity, j: 42 });
    expect(a!.invalid).toBeUndefined();
    expect(b).toMatchObject({ severityNumber: 13 });
  });

  it('marks the record whose value is out of range, leaves the value out, and keeps the record as it arrived', () => {
    const [ok, bad] = decodeLogsJson(logs([
      { timeUnixNano: '1', traceId: TRACE },
      { timeUnixNano: '-1', traceId: TRACE, attributes: [{ key: 'n', value: { intValue: '1e3' } }] },
    ]));
    expect(ok!.invalid).toBeUndefined();
    expect(bad!.invalid?.reason).toBe('timeUnixNano "-1" is not an unsigned 64-bit integer');
    expect(bad!.timeUnixNano).toBe('0');
    expect(bad!.attributes).toEqual({ n: null });
    expect(bad!.invalid?.record).toMatchObject({ timeUnixNano: '-1', traceId: TRACE });
  });

  it('spans: events and links are checked too', () => {
    const spans = decodeTraceJson(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [
      { traceId: TRACE, spanId: SPAN, startTimeUnixNano: '5', events: [{ timeUnixNano: '5.5' }] },
      { traceId: TRACE, spanId: SPAN, startTimeUnixNano: '5', links: [{ traceId: TRACE, spanId: SPAN, droppedAttributesCount: 4294967296 }] },
      { traceId: TRACE, spanId: SPAN, startTimeUnixNano: '5', status: { code: 3 } },
    ] }] }] }));
    expect(spans.map((s) => s.invalid?.reason)).toEqual([
      'events[0].timeUnixNano "5.5" is not an unsigned 64-bit integer',
      'links[0].droppedAttributesCount 4294967296 is not an unsigned 32-bit integer',
      'status.code 3 is not an integer from 0 to 2',
    ]);
  });
});
