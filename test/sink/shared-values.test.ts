import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/contract/canonical.js';
import { contentHash } from '../../src/sink/content-hash.js';
import type { AuditRow } from '../../src/sink/row.js';
import { share, sharedForm } from '../../src/sink/shared-values.js';

describe('values shared between rows', () => {
  it('are frozen deeply when shared', () => {
    const v = share({ a: { b: [1, { c: 'x' }] } });
    expect(Object.isFrozen(v)).toBe(true);
    expect(Object.isFrozen(v.a)).toBe(true);
    expect(Object.isFrozen(v.a.b)).toBe(true);
    expect(Object.isFrozen(v.a.b[1])).toBe(true);
    expect(() => {
      (v.a.b[1] as { c: string }).c = 'y';
    }).toThrow(TypeError);
  });

  it('have their form computed once; values never shared have none', () => {
    const v = share({ z: 1, a: 'é' });
    let calls = 0;
    const compute = (x: object): string => {
      calls++;
      return canonicalJson(x);
    };
    expect(sharedForm(v, compute)).toBe('{"a":"é","z":1}');
    expect(sharedForm(v, compute)).toBe('{"a":"é","z":1}');
    expect(calls).toBe(1);
    expect(sharedForm({ z: 1 }, compute)).toBeUndefined();
  });

  it('hash to the same content hash as an unshared copy', () => {
    const resource = { 'service.version': '1.2', 'host.name': 'h', nested: { list: [1, 'two', null] } };
    const row = (res: object): AuditRow => ({ traceId: 'a'.repeat(32), action: 'x.y', attributes: { 'b.key': 1, resource: res, scope: { name: 's' } } }) as unknown as AuditRow;
    const shared = share(structuredClone(resource));
    const first = contentHash(row(shared));
    expect(contentHash(row(shared))).toEqual(first);
    expect(contentHash(row(structuredClone(resource)))).toEqual(first);
  });
});

describe('canonical JSON with known forms', () => {
  it('uses a form the cache knows instead of serialising the object', () => {
    const inner = { b: 2, a: 1 };
    const known = (o: object): string | undefined => (o === inner ? '"cached"' : undefined);
    expect(canonicalJson({ x: [inner], y: inner }, known)).toBe('{"x":["cached"],"y":"cached"}');
    expect(canonicalJson({ x: [inner] })).toBe('{"x":[{"a":1,"b":2}]}');
  });
});
