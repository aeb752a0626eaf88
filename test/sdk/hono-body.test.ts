import { HonoRequest } from 'hono/request';
import { describe, expect, it } from 'vitest';
import type { BodySnapshot, BodyWatchOptions } from '../../src/sdk/body-snapshot.js';
import { watchHonoBody } from '../../src/sdk/hono-body.js';

const WATCH: BodyWatchOptions = { maxNodes: 100, maxDeclaredBytes: 1024 };

/** A Hono request over a real Web Request, its body reads watched. */
function watched(body: string | Uint8Array<ArrayBuffer>, contentType: string | undefined, watch = WATCH): { req: HonoRequest; snapshot: BodySnapshot } {
  const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
  const req = new HonoRequest(new Request('http://localhost/x', { method: 'POST', headers, body }));
  const snapshot: BodySnapshot = { taken: false, final: false, value: undefined };
  expect(watchHonoBody(req, snapshot, watch)).toBe(true);
  return { req, snapshot };
}

describe('watchHonoBody', () => {
  it('records JSON as parsed from the text read, whatever the handler does with its own copy', async () => {
    const { req, snapshot } = watched('{"a":{"b":1}}', 'application/json; charset=utf-8');
    const mine = (await req.json()) as { a: { b: number; c?: number } };
    mine.a.c = 2;
    expect(snapshot).toEqual({ taken: true, final: true, value: { a: { b: 1 } } });
    // Read again: Hono answers from its cache, the app sees what it saw before.
    expect(await req.json()).toEqual({ a: { b: 1 } });
  });

  it('keeps malformed JSON as text, and JSON suffixed media types as JSON', async () => {
    const bad = watched('{"a":', 'application/json');
    await bad.req.text();
    expect(bad.snapshot.value).toBe('{"a":');
    const problem = watched('{"title":"x"}', 'application/problem+json');
    await problem.req.json();
    expect(problem.snapshot.value).toEqual({ title: 'x' });
  });

  it('records forms (parseBody, or bytes read by a validator) as objects, repeated keys as arrays', async () => {
    const parsed = watched('tag=a&tag=b&n=1', 'application/x-www-form-urlencoded');
    expect(await parsed.req.parseBody()).toEqual({ tag: 'b', n: '1' });
    expect(parsed.snapshot.value).toEqual({ tag: ['a', 'b'], n: '1' });
    const bytes = watched('x=1', 'application/x-www-form-urlencoded');
    await bytes.req.arrayBuffer();
    expect(bytes.snapshot.value).toEqual({ x: '1' });
  });

  it('records the string fields of a multipart form, not its files', async () => {
    const form = new FormData();
    form.append('name', 'n');
    form.append('file', new Blob(['content']), 'a.txt');
    const req = new HonoRequest(new Request('http://localhost/x', { method: 'POST', body: form }));
    const snapshot: BodySnapshot = { taken: false, final: false, value: undefined };
    watchHonoBody(req, snapshot, WATCH);
    await req.parseBody();
    expect(snapshot.value).toEqual({ name: 'n' });
  });

  it('records nothing for bodies past the limit, or bytes that are not text', async () => {
    const big = watched(JSON.stringify({ blob: 'x'.repeat(2000) }), 'application/json');
    await big.req.json();
    expect(big.snapshot.taken).toBe(false);
    const binary = watched(new Uint8Array([1, 2, 3]), 'application/octet-stream');
    await binary.req.arrayBuffer();
    expect(binary.snapshot.taken).toBe(false);
  });

  it('leaves a request alone when its body was read before', async () => {
    const req = new HonoRequest(new Request('http://localhost/x', { method: 'POST', body: 'a' }));
    await req.text();
    expect(watchHonoBody(req, { taken: false, final: false, value: undefined }, WATCH)).toBe(false);
    expect(watchHonoBody({}, { taken: false, final: false, value: undefined }, WATCH)).toBe(false);
  });
});
