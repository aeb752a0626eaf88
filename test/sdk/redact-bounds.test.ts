import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capJson } from '../../src/sdk/cap-json.js';
import { MAX_KEY_CACHE_BYTES, REDACTED, TRUNCATION_MARKER } from '../../src/sdk/redact.js';
import { redactText } from '../../src/sdk/redact-text.js';
import { createRedactor } from '../../src/sdk/redactor.js';
import { retainedBy } from './heap.js';

const CAP = 4096;

/** An object of `n` keys whose property reads are counted. */
function countingObject(n: number): { value: object; reads: () => number } {
  const target: Record<string, number> = {};
  for (let i = 0; i < n; i++) target[`k${i}`] = i;
  let reads = 0;
  const value = new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string' && key.startsWith('k')) reads++;
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
  return { value, reads: () => reads };
}

/** An array of `n` items whose index reads are counted. */
function countingArray(n: number): { value: unknown[]; reads: () => number } {
  const target = Array.from({ length: n }, (_, i) => ({ i }));
  let reads = 0;
  const value = new Proxy(target, {
    get(t, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(t, key, receiver) as unknown;
    },
  });
  return { value, reads: () => reads };
}

describe('bounded redaction', () => {
  it('reads at most a budget of keys of a 100k-key body, not the whole body', () => {
    const redact = createRedactor([], { maxBytes: CAP });
    const body = countingObject(100_000);
    const json = capJson(redact({ body: body.value }), CAP);
    expect(body.reads()).toBeLessThanOrEqual(CAP / 4);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(CAP);
    expect(json).toContain(TRUNCATION_MARKER);
  });

  it('reads at most a budget of items of a wide array', () => {
    const redact = createRedactor([], { maxBytes: CAP });
    const items = countingArray(200_000);
    capJson(redact(items.value), CAP);
    expect(items.reads()).toBeLessThanOrEqual(CAP / 2);
  });

  it('the redacted copy of a big body is no bigger than the budget allows', () => {
    const redact = createRedactor([], { maxBytes: CAP });
    const body = JSON.parse(JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`key${i}`, `value ${i}`])))) as object;
    const copy = redact(body);
    // The copy is what capJson then renders (up to 11 times): it must be small.
    expect(JSON.stringify(copy).length).toBeLessThanOrEqual(CAP * 10);
    const hugeString = redact({ s: '4111 1111 1111 1111 ' + 'x'.repeat(10_000_000) }) as { s: string };
    expect(hugeString.s.length).toBeLessThanOrEqual(CAP + 64);
    expect(hugeString.s.startsWith('[REDACTED:card] xxx')).toBe(true);
  });

  it('keys longer than the budget are cut in the output, their values still redacted by the whole key', () => {
    const redact = createRedactor([], { maxBytes: CAP });
    const key = 'x'.repeat(40_000) + 'password';
    const out = redact({ [key]: 'hunter2' }) as Record<string, unknown>;
    const keys = Object.keys(out);
    expect(keys).toHaveLength(1);
    expect((keys[0] as string).length).toBeLessThanOrEqual(CAP + 32);
    expect(out[keys[0] as string]).toBe(REDACTED);
  });

  it('distinct 40 KB keys are never cached: heap after GC stays flat', () => {
    const redact = createRedactor([], { maxBytes: CAP });
    const retained = retainedBy(() => {
      for (let i = 0; i < 1_000; i++) {
        // As a JSON body parser delivers it: one flat 40 KB key.
        const body = JSON.parse(`{"${randomBytes(20 * 1024).toString('hex')}": 1}`) as object;
        capJson(redact(body), CAP);
      }
    });
    expect(retained).toBeLessThan(8 * 1024 * 1024);
    expect(redact.cacheBytes).toBeLessThanOrEqual(MAX_KEY_CACHE_BYTES);
  });

  it('the key cache stays within its byte budget under many distinct short keys', () => {
    const redact = createRedactor();
    for (let i = 0; i < 20_000; i++) redact({ [`field_${i}_${'y'.repeat(100)}`]: 1 });
    expect(redact.cacheBytes).toBeGreaterThan(0);
    expect(redact.cacheBytes).toBeLessThanOrEqual(MAX_KEY_CACHE_BYTES);
  });
});

describe('redactText', () => {
  it.each([
    ['user=bob&password=hunter2&x=1', 'user=bob&password=[REDACTED]&x=1'],
    ['pass%77ord=hunter2', 'pass%77ord=[REDACTED]'],
    ['login failed: password="hunter 2" for bob', 'login failed: password="[REDACTED]" for bob'],
    ['{"user":"bob","api_key":"k-123"}', '{"user":"bob","api_key":"[REDACTED]"}'],
    ['Authorization: Bearer-abc', 'Authorization: [REDACTED]'],
    ['authorization: Bearer abc.def.ghi, next', 'authorization: [REDACTED], next'],
    ['token=abc==&b=2', 'token=[REDACTED]&b=2'],
    ['<login><user>bob</user><password>hunter2</password></login>', '<login><user>bob</user><password>[REDACTED]</password></login>'],
    ['<cred type="x" secret="s3">v</cred>', '<cred type="x" secret="[REDACTED]">v</cred>'],
    ['card 4111 1111 1111 1111 declined', 'card [REDACTED:card] declined'],
    ['nothing to see = here', 'nothing to see = here'],
  ])('%s', (input, expected) => {
    expect(redactText(input)).toBe(expected);
  });

  it('redacts configured keys too', () => {
    expect(redactText('pin=1234&ssn=078-05-1120', { keys: ['ssn'] })).toBe('pin=1234&ssn=[REDACTED]');
  });

  it('cuts to maxLength before looking, and redacts a value cut in half', () => {
    const text = 'a'.repeat(90) + 'password=hunter2' + 'b'.repeat(1_000_000);
    const out = redactText(text, { maxLength: 100 });
    expect(out).toBe('a'.repeat(90) + `password=${REDACTED}…${TRUNCATION_MARKER} ${text.length - 100} chars]`);
  });
});
