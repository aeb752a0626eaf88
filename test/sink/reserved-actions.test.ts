/**
 * Actions beginning `audit.` are otel-audit's own operation records: the
 * sink refuses them in every form they can arrive in over OTLP.
 */
import { describe, expect, it } from 'vitest';
import type { DecodedLogRecord, DecodedSpan } from '../../src/otlp/decoded-types.js';
import { logRecordToRow, spanToRow, type LogOutcome } from '../../src/sink/transform.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const START_NS = '1700000000123456789';

function logRec(attributes: Record<string, unknown>, body: unknown = null): DecodedLogRecord {
  return {
    resource: { 'service.name': 'otel-audit' },
    scope: { name: 'otel-audit', version: '0.1.0', attributes: {} },
    timeUnixNano: START_NS,
    observedTimeUnixNano: START_NS,
    severityNumber: 9,
    severityText: 'INFO',
    body,
    attributes,
    droppedAttributesCount: 0,
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    eventName: 'audit',
    flags: 1,
  };
}

function span(action: string): DecodedSpan {
  return {
    resource: { 'service.name': 'otel-audit' },
    scope: { name: 't', version: '1', attributes: {} },
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    parentSpanId: '',
    traceState: '',
    flags: 1,
    name: 'export',
    kind: 2,
    startTimeUnixNano: START_NS,
    endTimeUnixNano: START_NS,
    attributes: { 'audit.action': action },
    droppedAttributesCount: 0,
    status: { code: 0, message: '' },
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
  };
}

function reasonOf(outcome: LogOutcome): string {
  if (outcome.kind !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.rejection.reason;
}

describe('reserved actions', () => {
  it.each(['audit.export', 'audit.verify', 'audit.retention', 'audit.erase', 'audit.view', 'audit.anything'])(
    '%s is refused as a log record attribute, in a map body and on a span',
    (action) => {
      expect(reasonOf(logRecordToRow(logRec({ 'audit.action': action, 'audit.outcome': 'success' })))).toContain(
        `audit.action "${action}" is reserved: actions beginning "audit." are otel-audit's own operation records`,
      );
      expect(reasonOf(logRecordToRow(logRec({}, { action })))).toContain('is reserved');
      expect(reasonOf(spanToRow(span(action)))).toContain('is reserved');
    },
  );

  it('the refused record is kept for audit.rejected', () => {
    const out = logRecordToRow(logRec({ 'audit.action': 'audit.export', from: '2020-01-01' }));
    expect(out.kind).toBe('rejected');
    expect(out.kind === 'rejected' && out.rejection.record).toBeTruthy();
  });

  it('actions that merely contain "audit" are ordinary', () => {
    for (const action of ['auditlog.read', 'user.audit', 'audits.list', 'Audit.export']) {
      expect(logRecordToRow(logRec({ 'audit.action': action })).kind).toBe('row');
    }
  });
});
