import { describe, expect, it } from 'vitest';
import { copyBody, declaresRecordedBody, watchBody, type BodySnapshot } from '../../src/sdk/body-snapshot.js';
import { MAX_DEPTH } from '../../src/sdk/json-walk.js';

const fresh = (): BodySnapshot => ({ taken: false, final: false, value: undefined });

describe('copyBody', () => {
  it('copies plain objects and arrays, keys in order, so that changes to the original do not show', () => {
    const body = { b: 1, a: { list: [1, { x: 'y' }] } };
    const copy = copyBody(body, { nodes: 100 }) as typeof body;
    expect(copy).toEqual(body);
    expect(Object.keys(copy)).toEqual(['b', 'a']);
    body.a.list.push(2);
    (body.a.list[1] as { x: string }).x = 'changed';
    expect(copy).toEqual({ b: 1, a: { list: [1, { x: 'y' }] } });
  });

  it('keeps an own __proto__ key as data and a null prototype', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true}}') as object;
    const copy = copyBody(parsed, { nodes: 10 }) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    const bare = Object.assign(Object.create(null) as object, { k: 'v' });
    expect(Object.getPrototypeOf(copyBody(bare, { nodes: 10 }) as object)).toBeNull();
  });

  it('shares what is not a plain object or array, and what lies past the budget or the depth limit', () => {
    const date = new Date(0);
    const buf = Buffer.from('x');
    const copy = copyBody({ date, buf }, { nodes: 10 }) as Record<string, unknown>;
    expect(copy['date']).toBe(date);
    expect(copy['buf']).toBe(buf);
    const inner = { deep: true };
    const wide = { first: { a: 1 }, second: inner };
    const cut = copyBody(wide, { nodes: 3 }) as typeof wide;
    expect(cut.first).not.toBe(wide.first);
    expect(cut.second).toBe(inner);
    let nested: Record<string, unknown> = { leaf: 1 };
    const leaf = nested;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) nested = { n: nested };
    let walked = copyBody(nested, { nodes: 1000 }) as Record<string, unknown>;
    for (let i = 0; i <= MAX_DEPTH + 1; i++) walked = walked['n'] as Record<string, unknown>;
    expect(walked).toBe(leaf);
  });

  it('never throws: an object whose keys cannot be read is shared', () => {
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error('no'); } });
    expect(copyBody(hostile, { nodes: 10 })).toBe(hostile);
  });
});

describe('watchBody', () => {
  it('copies the first body assigned; a later replacement changes the property, not the copy', () => {
    const req: Record<string, unknown> = {};
    const snap = fresh();
    expect(watchBody(req, snap, 100)).toBe(true);
    req['body'] = undefined;
    expect(snap.taken).toBe(false);
    req['body'] = { title: 'new' };
    (req['body'] as Record<string, unknown>)['id'] = 3;
    req['body'] = { replaced: true };
    expect(req['body']).toEqual({ replaced: true });
    expect(Object.keys(req)).toEqual(['body']);
    expect(snap).toEqual({ taken: true, final: true, value: { title: 'new' } });
  });

  it('an empty placeholder body is replaced by the parsed one, or kept by reference while a parser fills it in place', () => {
    const req: Record<string, unknown> = {};
    const snap = fresh();
    watchBody(req, snap, 100);
    req['body'] = {};
    expect(snap).toEqual({ taken: true, final: false, value: {} });
    req['body'] = { parsed: 1 };
    req['body'] = { handler: 2 };
    expect(snap.value).toEqual({ parsed: 1 });
    const filled = fresh();
    const other: Record<string, unknown> = {};
    watchBody(other, filled, 100);
    other['body'] = Object.create(null);
    (other['body'] as Record<string, unknown>)['field'] = 'v';
    expect(filled.value).toBe(other['body']);
    expect(filled.final).toBe(false);
  });

  it('raw bytes and text assigned before the parsed body give way to it (restify: Buffer, string, then the object)', () => {
    const req: Record<string, unknown> = {};
    const snap = fresh();
    watchBody(req, snap, 100);
    req['body'] = Buffer.alloc(0);
    req['body'] = Buffer.from('{"a":1}');
    req['body'] = '{"a":1}';
    expect(snap.value).toBe('{"a":1}');
    req['body'] = { a: 1 };
    (req['body'] as Record<string, unknown>)['added'] = true;
    expect(snap.value).toEqual({ a: 1 });
    expect(snap.final).toBe(true);
  });

  it('takes a body already present, and leaves a property it cannot redefine alone', () => {
    const snap = fresh();
    watchBody({ body: 'text' }, snap, 100);
    expect(snap.value).toBe('text');
    const frozen = Object.freeze({ body: { a: 1 } });
    expect(watchBody(frozen, fresh(), 100)).toBe(false);
    const accessor = Object.defineProperty({}, 'body', { get: () => 1, configurable: true });
    expect(watchBody(accessor, fresh(), 100)).toBe(false);
  });
});

describe('declaresRecordedBody', () => {
  it('is true for a positive Content-Length up to the limit, or a chunked body', () => {
    expect(declaresRecordedBody({ 'content-length': '10' }, 100)).toBe(true);
    expect(declaresRecordedBody({ 'content-length': '0' }, 100)).toBe(false);
    expect(declaresRecordedBody({ 'content-length': '101' }, 100)).toBe(false);
    expect(declaresRecordedBody({ 'content-length': 'x' }, 100)).toBe(false);
    expect(declaresRecordedBody({ 'transfer-encoding': 'chunked' }, 100)).toBe(true);
    expect(declaresRecordedBody({}, 100)).toBe(false);
  });
});
