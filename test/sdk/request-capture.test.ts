import { describe, expect, it } from 'vitest';
import { MAX_RECORDED_BODY_BYTES } from '../../src/sdk/input-limits.js';
import type { IncomingMessage } from 'node:http';
import { bodyForRecord, capturedRequestOf, captureRequest, takeCapturedRequest } from '../../src/sdk/request-capture.js';

const TEXT = { keys: ['pin'], maxLength: 4096 };

describe('bodyForRecord', () => {
  it('keeps parsed bodies for the redactor', () => {
    const body = { a: 1 };
    expect(bodyForRecord(body, false, TEXT, '7')).toBe(body);
    expect(bodyForRecord(undefined, false, TEXT)).toBeUndefined();
  });

  it('records text bodies only when asked, redacted', () => {
    expect(bodyForRecord('password=hunter2', false, TEXT, '16')).toBe('[text body: 16 chars]');
    expect(bodyForRecord('password=hunter2&pin=1&x=2', true, TEXT)).toBe('password=[REDACTED]&pin=[REDACTED]&x=2');
    expect(bodyForRecord('', true, TEXT)).toBe('');
  });

  it('does not look at a body declared larger than the limit', () => {
    const huge = new Proxy({}, { ownKeys: () => { throw new Error('walked'); } });
    expect(bodyForRecord(huge, false, TEXT, String(MAX_RECORDED_BODY_BYTES + 1))).toBe(`[body: ${MAX_RECORDED_BODY_BYTES + 1} bytes, not recorded]`);
    expect(bodyForRecord('x', true, TEXT, [String(MAX_RECORDED_BODY_BYTES + 1)])).toBe(`[body: ${MAX_RECORDED_BODY_BYTES + 1} bytes, not recorded]`);
    // A larger value cap raises the limit with it.
    const body = { a: 1 };
    expect(bodyForRecord(body, false, { maxLength: 1024 * 1024 }, String(MAX_RECORDED_BODY_BYTES + 1))).toBe(body);
  });
});

describe('takeCapturedRequest', () => {
  it('hands the request objects of a span over once and forgets them (the span outlives them in the APM queue)', () => {
    const span = {};
    const req = { headers: {}, body: { big: 'x'.repeat(1_000) } } as unknown as IncomingMessage;
    captureRequest(span, req);
    expect(capturedRequestOf(span)).toBeDefined();
    expect(takeCapturedRequest(span)?.req).toBe(req);
    expect(capturedRequestOf(span)).toBeUndefined();
    expect(takeCapturedRequest(span)).toBeUndefined();
  });
});

describe('captureRequest with a body watch', () => {
  const watch = { maxNodes: 100, maxDeclaredBytes: 1000 };
  const fakeReq = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

  it('copies the body a parser assigns to a request that declares one', () => {
    const span = {};
    const req = fakeReq({ 'content-length': '20' });
    captureRequest(span, req, watch);
    (req as unknown as Record<string, unknown>)['body'] = { title: 'new' };
    ((req as unknown as Record<string, Record<string, unknown>>)['body']!)['id'] = 3;
    expect(takeCapturedRequest(span)?.sent).toEqual({ taken: true, final: true, value: { title: 'new' } });
  });

  it('leaves requests without a body, or with one too large to record, untouched', () => {
    const cases: Record<string, string>[] = [{}, { 'content-length': '1001' }];
    for (const headers of cases) {
      const span = {};
      const req = fakeReq(headers);
      captureRequest(span, req, watch);
      expect(Object.getOwnPropertyDescriptor(req, 'body')).toBeUndefined();
      expect(takeCapturedRequest(span)?.sent).toBeUndefined();
    }
  });
});
