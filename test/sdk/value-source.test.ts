import { describe, expect, it } from 'vitest';
import { getPath, parseSource } from '../../src/sdk/value-source.js';

describe('parseSource', () => {
  it.each([
    ['param:id', { from: 'param', path: 'id' }],
    ['body:user.email', { from: 'body', path: 'user.email' }],
    ['response:data.0.id', { from: 'response', path: 'data.0.id' }],
    ['query:q', { from: 'query', path: 'q' }],
    ['header:X-User-Id', { from: 'header', path: 'x-user-id' }],
    ['  BODY : a.b ', { from: 'body', path: 'a.b' }],
    ['body:a:b', { from: 'body', path: 'a:b' }],
  ] as const)('%j', (spec, expected) => {
    expect(parseSource(spec)).toEqual(expected);
  });

  it.each(['', 'body', 'body:', 'cookie:x', 'params:id', ':id', 'id'])('rejects %j', (spec) => {
    expect(parseSource(spec)).toBeUndefined();
  });

  it('rejects non-strings', () => {
    expect(parseSource(undefined as unknown as string)).toBeUndefined();
  });
});

describe('getPath', () => {
  const body = { user: { email: 'a@b.c', roles: ['admin', { name: 'x' }] }, n: 0, 'dotted.key': 1, nil: null };

  it('follows dot paths through objects and arrays', () => {
    expect(getPath(body, 'user.email')).toBe('a@b.c');
    expect(getPath(body, 'user.roles.0')).toBe('admin');
    expect(getPath(body, 'user.roles.1.name')).toBe('x');
    expect(getPath(body, 'n')).toBe(0);
    expect(getPath(body, 'nil')).toBe(null);
    expect(getPath(body, '')).toBe(body);
  });

  it('returns undefined for missing steps and non-objects', () => {
    expect(getPath(body, 'user.missing')).toBeUndefined();
    expect(getPath(body, 'user.email.length')).toBeUndefined();
    expect(getPath(body, 'nil.x')).toBeUndefined();
    expect(getPath(body, 'user.roles.5')).toBeUndefined();
    expect(getPath(undefined, 'a')).toBeUndefined();
    expect(getPath('str', 'length')).toBeUndefined();
    expect(getPath(body, 'dotted.key')).toBeUndefined();
  });

  it('only follows own properties', () => {
    expect(getPath({}, 'constructor')).toBeUndefined();
    expect(getPath({}, '__proto__')).toBeUndefined();
    expect(getPath({ a: {} }, 'a.toString')).toBeUndefined();
    expect(getPath(Object.create({ inherited: 1 }) as object, 'inherited')).toBeUndefined();
    const parsed = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
    expect(getPath(parsed, '__proto__.x')).toBe(1);
  });

  it('reads Map entries', () => {
    expect(getPath({ m: new Map([['k', { v: 2 }]]) }, 'm.k.v')).toBe(2);
  });

  it('never throws', () => {
    const hostile = {};
    Object.defineProperty(hostile, 'x', {
      get() {
        throw new Error('no');
      },
    });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(getPath(hostile, 'x')).toBeUndefined();
    expect(getPath(proxy, 'a')).toBeUndefined();
  });
});
