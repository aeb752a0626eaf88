import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { customReasonPhrase } from '../../src/sdk/reason-phrase.js';

const res = (statusCode: number, statusMessage: string | undefined): ServerResponse => ({ statusCode, statusMessage }) as unknown as ServerResponse;

describe('customReasonPhrase', () => {
  it('is the phrase a handler gave its response', () => {
    expect(customReasonPhrase(res(503, 'maintenance window'))).toBe('maintenance window');
    expect(customReasonPhrase(res(500, 'Internal Server Error: db'))).toBe('Internal Server Error: db');
  });

  it('leaves out the standard phrase of the status (in any case), blank phrases and unset ones', () => {
    expect(customReasonPhrase(res(500, 'Internal Server Error'))).toBeUndefined();
    expect(customReasonPhrase(res(503, 'service unavailable'))).toBeUndefined();
    expect(customReasonPhrase(res(500, '  '))).toBeUndefined();
    expect(customReasonPhrase(res(500, undefined))).toBeUndefined();
    expect(customReasonPhrase(res(599, 'unknown'))).toBeUndefined();
    expect(customReasonPhrase(res(599, 'origin timed out'))).toBe('origin timed out');
    expect(customReasonPhrase(undefined)).toBeUndefined();
  });
});
