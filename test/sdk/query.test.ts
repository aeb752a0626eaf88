import { describe, expect, it } from 'vitest';
import { MAX_QUERY_LENGTH } from '../../src/sdk/input-limits.js';
import { parseQuery } from '../../src/sdk/query.js';

describe('parseQuery', () => {
  it('keeps names that are also Object.prototype members as ordinary parameters', () => {
    const q = parseQuery('/s?toString=z&constructor=c&hasOwnProperty=h&__proto__=p&valueOf=1&valueOf=2');
    expect(Object.getPrototypeOf(q)).toBeNull();
    expect({ ...q }).toEqual({ toString: 'z', constructor: 'c', hasOwnProperty: 'h', ['__proto__']: 'p', valueOf: ['1', '2'] });
    expect(JSON.stringify(q)).toBe('{"toString":"z","constructor":"c","hasOwnProperty":"h","__proto__":"p","valueOf":["1","2"]}');
  });

  it('keeps every parameter as sent: repeated names as arrays of strings, in order', () => {
    expect({ ...parseQuery('/s?a=1&b=x%20y&a=2&a=&c') }).toEqual({ a: ['1', '2', ''], b: 'x y', c: '' });
    expect({ ...parseQuery('/s') }).toEqual({});
    expect({ ...parseQuery(undefined) }).toEqual({});
    expect({ ...parseQuery('/s?a=1#frag') }).toEqual({ a: '1' });
  });

  it('reads the query only up to MAX_QUERY_LENGTH, ending at a whole parameter', () => {
    const params = Array.from({ length: 5_000 }, (_, i) => `p${i}=${'v'.repeat(10)}`);
    const q = parseQuery('/s?' + params.join('&'));
    const keys = Object.keys(q);
    expect(keys.length).toBeGreaterThan(100);
    expect(keys.join('&').length).toBeLessThanOrEqual(MAX_QUERY_LENGTH);
    for (const k of keys) expect(q[k]).toBe('v'.repeat(10));
  });
});
