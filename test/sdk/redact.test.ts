import { describe, expect, it } from 'vitest';
import { capJson, MIN_CAP_BYTES } from '../../src/sdk/cap-json.js';
import { luhnValid, maskCardNumbers } from '../../src/sdk/card-numbers.js';
import { CARD_REDACTED, CIRCULAR, DEFAULT_REDACT_KEYS, MAX_DEPTH_MARKER, REDACTED, TRUNCATION_MARKER, UNREADABLE } from '../../src/sdk/redact.js';
import { createRedactor } from '../../src/sdk/redactor.js';

const redact = createRedactor();
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Nested arrays `depth` levels deep around `leaf`. */
function nest(depth: number, leaf: unknown = 'leaf'): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('constants', () => {
  it('exports the documented defaults', () => {
    expect(DEFAULT_REDACT_KEYS).toEqual([
      'password',
      'passwd',
      'secret',
      'token',
      'api_key',
      'apikey',
      'authorization',
      'cookie',
      'set-cookie',
    ]);
    expect(REDACTED).toBe('[REDACTED]');
    expect(TRUNCATION_MARKER).toBe('[truncated');
    expect(CARD_REDACTED).toBe('[REDACTED:card]');
  });
});

describe('createRedactor: sensitive keys', () => {
  it.each([
    'password',
    'Password',
    'user.password',
    'accessToken',
    'access_token',
    'refresh-token',
    'client_secret',
    'X-Api-Key',
    'api_key',
    'APIKEY',
    'Authorization',
    'Set-Cookie',
    'cookie',
    'passwd',
    'csrfToken',
  ])('redacts %s', (key) => {
    expect(redact({ [key]: 'hunter2', keep: 'ok' })).toEqual({ [key]: REDACTED, keep: 'ok' });
  });

  it.each(['username', 'email', 'id', 'pass', 'api', 'key', 'auth', 'tok'])('keeps %s', (key) => {
    expect(redact({ [key]: 'visible' })).toEqual({ [key]: 'visible' });
  });

  it('redacts whole values of any type under a sensitive key', () => {
    const out = redact({
      secret: { nested: 1, deep: { x: [1, 2] } },
      token: [1, 2, 3],
      password: 12345,
      apiKey: null,
      cookie: undefined,
    });
    expect(out).toEqual({ secret: REDACTED, token: REDACTED, password: REDACTED, apiKey: REDACTED, cookie: REDACTED });
  });

  it('redacts at any depth, inside arrays too', () => {
    const input = { a: [{ b: { c: [{ password: 'p', ok: 1 }] } }], headers: { authorization: 'Bearer x' } };
    expect(redact(input)).toEqual({
      a: [{ b: { c: [{ password: REDACTED, ok: 1 }] } }],
      headers: { authorization: REDACTED },
    });
  });

  it('accepts extra keys, normalised the same way', () => {
    const r = createRedactor(['SSN', 'credit-card']);
    expect(r({ ssn: '1', user_SSN: '2', creditCard: '3', CREDIT_CARD_NUMBER: '4', other: '5', token: '6' })).toEqual({
      ssn: REDACTED,
      user_SSN: REDACTED,
      creditCard: REDACTED,
      CREDIT_CARD_NUMBER: REDACTED,
      other: '5',
      token: REDACTED,
    });
  });

  it('ignores extra keys that normalise to nothing (they would match every key)', () => {
    const r = createRedactor(['', '--', '  ']);
    expect(r({ name: 'alice', password: 'x' })).toEqual({ name: 'alice', password: REDACTED });
  });

  it('never reads the value under a sensitive key', () => {
    let reads = 0;
    const obj = {};
    Object.defineProperty(obj, 'password', {
      enumerable: true,
      get() {
        reads++;
        return 'x';
      },
    });
    expect(redact(obj)).toEqual({ password: REDACTED });
    expect(reads).toBe(0);
  });

  it('redacts Map entries by key', () => {
    const m = new Map<unknown, unknown>([
      ['token', 'abc'],
      ['name', 'n'],
      [42, 'num'],
    ]);
    expect(redact({ m })).toEqual({ m: { token: REDACTED, name: 'n', '42': 'num' } });
  });
});

describe('createRedactor: does not mutate', () => {
  it('returns a new copy and leaves the input untouched', () => {
    const input = { password: 'p', nested: { token: 't', list: [1, { secret: 's' }] } };
    const snapshot = structuredClone(input);
    const out = redact(input) as typeof input;
    expect(input).toEqual(snapshot);
    expect(out).not.toBe(input);
    expect(out.nested).not.toBe(input.nested);
    expect(out.nested.list).not.toBe(input.nested.list);
  });
});

describe('createRedactor: JSON-friendly conversion', () => {
  it('converts primitives', () => {
    expect(redact('s')).toBe('s');
    expect(redact(1.5)).toBe(1.5);
    expect(redact(true)).toBe(true);
    expect(redact(null)).toBe(null);
    expect(redact(undefined)).toBe(undefined);
    expect(redact(10n)).toBe('10');
    expect(redact(-(2n ** 70n))).toBe('-1180591620717411303424');
    expect(redact(NaN)).toBe('NaN');
    expect(redact(Infinity)).toBe('Infinity');
  });

  it('converts dates, binary data, maps and sets', () => {
    const out = redact({
      d: new Date('2024-01-02T03:04:05.678Z'),
      bad: new Date('nope'),
      buf: Buffer.from('hello'),
      u8: new Uint8Array(7),
      f64: new Float64Array(3),
      ab: new ArrayBuffer(9),
      dv: new DataView(new ArrayBuffer(4)),
      map: new Map([['a', new Set([1, 'two'])]]),
      set: new Set([{ x: 1 }, [2]]),
    });
    expect(out).toEqual({
      d: '2024-01-02T03:04:05.678Z',
      bad: 'Invalid Date',
      buf: '[binary 5 bytes]',
      u8: '[binary 7 bytes]',
      f64: '[binary 24 bytes]',
      ab: '[binary 9 bytes]',
      dv: '[binary 4 bytes]',
      map: { a: [1, 'two'] },
      set: [{ x: 1 }, [2]],
    });
  });

  it('drops functions and symbols from objects, nulls them in arrays', () => {
    const out = redact({ f: () => 1, s: Symbol('x'), u: undefined, [Symbol('k')]: 1, keep: 1, arr: [() => 1, Symbol('y'), undefined, 2] });
    expect(out).toEqual({ keep: 1, arr: [null, null, null, 2] });
    expect(Object.keys(out as object)).toEqual(['keep', 'arr']);
    expect(redact(() => 1)).toBe(undefined);
  });

  it('honours toJSON and describes errors without the stack', () => {
    const err = Object.assign(new TypeError('boom'), { code: 'E_X', token: 't' });
    expect(redact({ url: new URL('https://example.com/a?b=1'), err })).toEqual({
      url: 'https://example.com/a?b=1',
      err: { name: 'TypeError', message: 'boom', code: 'E_X', token: REDACTED },
    });
  });

  it('treats a toJSON returning its receiver as a plain object', () => {
    const o = {
      a: 1,
      toJSON(): unknown {
        return o;
      },
    };
    expect(redact(o)).toEqual({ a: 1 });
  });

  it('keeps a __proto__ key as data without changing the prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    const out = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(out['polluted']).toBe(undefined);
    expect(({} as Record<string, unknown>)['polluted']).toBe(undefined);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('takes class instances by own enumerable properties', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      get len(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    expect(redact(new Point(3, 4))).toEqual({ x: 3, y: 4 });
  });

  it('unwraps boxed primitives', () => {
    expect(redact([new String('s'), new Number(2), new Boolean(false)])).toEqual(['s', 2, false]);
  });
});

describe('createRedactor: hostile input', () => {
  it('marks circular references and keeps shared (non-circular) ones', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a['self'] = a;
    const shared = { v: 1 };
    const arr: unknown[] = [shared, shared];
    arr.push(arr);
    expect(redact(a)).toEqual({ name: 'a', self: CIRCULAR });
    expect(redact(arr)).toEqual([{ v: 1 }, { v: 1 }, CIRCULAR]);
  });

  it('marks cycles through maps and sets', () => {
    const m = new Map<string, unknown>();
    m.set('m', m);
    const s = new Set<unknown>();
    s.add(s);
    expect(redact({ m, s })).toEqual({ m: { m: CIRCULAR }, s: [CIRCULAR] });
  });

  it('cuts nesting beyond 32 levels', () => {
    const out = redact(nest(40));
    let cur: unknown = out;
    let depth = 0;
    while (Array.isArray(cur)) {
      cur = cur[0];
      depth++;
    }
    expect(cur).toBe(MAX_DEPTH_MARKER);
    expect(depth).toBe(33);
    // Exactly 33 levels still fit.
    expect(JSON.stringify(redact(nest(33)))).toContain('"leaf"');
    expect(JSON.stringify(redact(nest(34)))).toContain(MAX_DEPTH_MARKER);
  });

  it('survives 100 000 levels of nesting', () => {
    const out = JSON.stringify(redact(nest(100_000)));
    expect(out).toContain(MAX_DEPTH_MARKER);
    expect(out.length).toBeLessThan(200);
  });

  it('replaces throwing getters with [Unreadable]', () => {
    const obj = { ok: 1 };
    Object.defineProperty(obj, 'bad', {
      enumerable: true,
      get() {
        throw new Error('nope');
      },
    });
    expect(redact(obj)).toEqual({ ok: 1, bad: UNREADABLE });
  });

  it('replaces throwing toJSON with [Unreadable]', () => {
    expect(
      redact({
        x: {
          toJSON() {
            throw new Error('no');
          },
        },
      }),
    ).toEqual({ x: UNREADABLE });
  });

  it('handles revoked proxies and proxies with throwing traps', () => {
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('keys');
        },
      },
    );
    expect(redact({ proxy, hostile, ok: true })).toEqual({ proxy: UNREADABLE, hostile: UNREADABLE, ok: true });
  });

  it('handles null-prototype objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['secret'] = 's';
    o['x'] = 1;
    expect(redact(o)).toEqual({ secret: REDACTED, x: 1 });
  });

  it('handles huge strings without losing them', () => {
    const big = 'a'.repeat(5_000_000);
    expect(redact({ big })).toEqual({ big });
  });

  it('does not loop forever on toJSON chains', () => {
    const make = (): unknown => ({ toJSON: make });
    expect(JSON.stringify(redact(make()))).toContain(MAX_DEPTH_MARKER);
  });
});

describe('card numbers', () => {
  it('implements the Luhn check', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('12a4')).toBe(false);
  });

  it.each([
    ['4111111111111111', CARD_REDACTED],
    ['card 4111 1111 1111 1111 ok', `card ${CARD_REDACTED} ok`],
    ['4111-1111-1111-1111', CARD_REDACTED],
    ['amex 378282246310005.', `amex ${CARD_REDACTED}.`],
    ['mc 5555555555554444, visa 4012888888881881', `mc ${CARD_REDACTED}, visa ${CARD_REDACTED}`],
    ['13 digits 4222222222222', `13 digits ${CARD_REDACTED}`],
    ['19 digits 6011000000000000001', `19 digits ${CARD_REDACTED}`],
    ['two 4111111111111111 5555555555554444', `two ${CARD_REDACTED} ${CARD_REDACTED}`],
    ['x4111111111111111y', `x${CARD_REDACTED}y`],
  ])('masks %j', (input, expected) => {
    expect(maskCardNumbers(input)).toBe(expected);
    expect(redact({ note: input })).toEqual({ note: expected });
  });

  it.each([
    ['Luhn-invalid', '4111111111111112'],
    ['too short', '411111111111'],
    ['too long (20 digits)', '41111111111111111113'],
    ['digit run inside a longer number', '9934111111111111111199'],
    ['double separators', '4111  1111  1111  1111'],
    ['mixed punctuation', '4111.1111.1111.1111'],
    ['millisecond timestamp', '1700000000005'],
    ['zero-padded id', '0000000000000000'],
    ['no digits', 'hello world'],
  ])('leaves %s alone', (_label, input) => {
    expect(maskCardNumbers(input)).toBe(input);
  });

  it('keeps the rest of the string and masks in arrays and map values', () => {
    expect(redact(['pay with 5555-5555-5555-4444 please', new Map([['n', '4111111111111111']])])).toEqual([
      `pay with ${CARD_REDACTED} please`,
      { n: CARD_REDACTED },
    ]);
  });

  it('only checks whole digit groups, not digits split out of a group', () => {
    // 12 + 16 digits: the 16-digit group alone is a card, 12 + 16 is too long.
    expect(maskCardNumbers('123456789012 4111111111111111')).toBe(`123456789012 ${CARD_REDACTED}`);
  });

  it('reads a long digit-heavy string once: every group is weighed, none is lost', () => {
    // One run of 500,000 single digits with a card at the end. No window of
    // the run starts with 2–6, so none is a card. Linear time is the regex
    // linearity test's and the group loop's (it stops after 19 digits) to show.
    const s = `${'7 8 9 0 1 '.repeat(100_000)}x 4111 1111 1111 1111`;
    const masked = maskCardNumbers(s);
    expect(masked.endsWith(`x ${CARD_REDACTED}`)).toBe(true);
    expect(masked.slice(0, 1_000_000)).toBe(s.slice(0, 1_000_000));
    expect(masked.length).toBe(s.length - '4111 1111 1111 1111'.length + CARD_REDACTED.length);
  });
});

describe('capJson', () => {
  it('returns plain JSON when it fits', () => {
    const v = { a: 1, b: [1, 2, 3], c: 'héllo', d: null, e: true };
    expect(capJson(v, 4096)).toBe(JSON.stringify(v));
    expect(capJson('x', 13)).toBe('"x"');
    expect(capJson([], 13)).toBe('[]');
  });

  it('returns exactly-fitting JSON unchanged', () => {
    const v = { s: 'x'.repeat(100) };
    const json = JSON.stringify(v);
    expect(capJson(v, bytes(json))).toBe(json);
    expect(capJson(v, bytes(json) - 1)).toContain(TRUNCATION_MARKER);
  });

  it('serialises non-JSON values the way the redactor does (without redaction)', () => {
    const a: Record<string, unknown> = { n: 1n, password: 'p', m: new Map([['k', 1]]) };
    a['self'] = a;
    expect(JSON.parse(capJson(a, 4096))).toEqual({ n: '1', password: 'p', m: { k: 1 }, self: CIRCULAR });
    expect(capJson(undefined, 100)).toBe('null');
    expect(capJson(() => 1, 100)).toBe('null');
  });

  it('cuts a long string with a suffix marker', () => {
    const out = capJson({ body: 'x'.repeat(10_000), user: 'alice' }, 200);
    expect(bytes(out)).toBeLessThanOrEqual(200);
    const parsed = JSON.parse(out) as { body: string; user: string };
    expect(parsed.user).toBe('alice');
    expect(parsed.body).toMatch(/^x+…\[truncated \d+ chars\]$/);
    const kept = parsed.body.indexOf('…');
    expect(parsed.body).toBe(`${'x'.repeat(kept)}…[truncated ${10_000 - kept} chars]`);
    expect(kept).toBeGreaterThan(100);
  });

  it('cuts a long array with a marker element', () => {
    const out = capJson(
      Array.from({ length: 1000 }, (_, i) => i),
      300,
    );
    expect(bytes(out)).toBeLessThanOrEqual(300);
    const parsed = JSON.parse(out) as unknown[];
    const marker = parsed[parsed.length - 1] as string;
    const kept = parsed.length - 1;
    expect(parsed.slice(0, kept)).toEqual(Array.from({ length: kept }, (_, i) => i));
    expect(marker).toBe(`[truncated: ${1000 - kept} more items]`);
    expect(kept).toBeGreaterThan(30);
  });

  it('cuts a wide object with a "…" key', () => {
    const obj = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, i]));
    const out = capJson(obj, 256);
    expect(bytes(out)).toBeLessThanOrEqual(256);
    const parsed = JSON.parse(out) as Record<string, unknown>;
    const keys = Object.keys(parsed);
    expect(keys[keys.length - 1]).toBe('…');
    expect(parsed['…']).toBe(`[truncated: ${500 - (keys.length - 1)} more keys]`);
    expect(parsed['key0']).toBe(0);
  });

  it('is deterministic', () => {
    const v = { a: 'y'.repeat(3000), b: Array.from({ length: 300 }, (_, i) => ({ i, s: 'z'.repeat(i) })) };
    expect(capJson(v, 1024)).toBe(capJson(v, 1024));
  });

  it('never exceeds the budget and always marks cuts (sweep)', () => {
    const values: unknown[] = [
      'x'.repeat(5000),
      '€'.repeat(5000),
      '😀'.repeat(3000),
      Array.from({ length: 2000 }, (_, i) => i * 1.5),
      Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, 'v'.repeat(i)])),
      { deep: nest(30, 'z'.repeat(300)) },
      [{ a: [{ b: [{ c: 'd'.repeat(1000) }] }] }],
      Array.from({ length: 100 }, () => ({ nested: Array.from({ length: 100 }, () => 'abc') })),
    ];
    for (const v of values) {
      const plain = capJson(v, Infinity);
      for (const max of [13, 14, 20, 32, 50, 64, 100, 128, 200, 333, 512, 1000, 4096, 20_000]) {
        const out = capJson(v, max);
        expect(bytes(out), `${max}`).toBeLessThanOrEqual(max);
        expect(() => JSON.parse(out) as unknown).not.toThrow();
        if (bytes(plain) <= max) expect(out).toBe(plain);
        else expect(out, `${max}`).toContain(TRUNCATION_MARKER);
      }
    }
  });

  it('keeps the depth marker for over-deep values (a normalisation, not a size cut)', () => {
    const out = capJson({ deep: nest(200) }, 4096);
    expect(out).toContain(MAX_DEPTH_MARKER);
    expect(out).not.toContain(TRUNCATION_MARKER);
    const small = capJson({ deep: nest(200, 'z'.repeat(300)) }, 50);
    expect(bytes(small)).toBeLessThanOrEqual(50);
    expect(small).toContain(TRUNCATION_MARKER);
  });

  it('does not split surrogate pairs', () => {
    const values: unknown[] = [
      '😀'.repeat(100),
      'a' + '😀'.repeat(100),
      ['😀'.repeat(100), 'x'.repeat(1000)],
      { a: '😀'.repeat(100), b: 'y'.repeat(500) },
    ];
    for (const v of values) {
      for (let max = 30; max <= 200; max++) {
        const out = capJson(v, max);
        expect(bytes(out)).toBeLessThanOrEqual(max);
        // A split pair would leave a lone high surrogate, which JSON escapes as \ud83d.
        expect(out, `${max}`).not.toMatch(/\\ud[89ab]/i);
      }
    }
    expect(JSON.parse(capJson({ a: '😀'.repeat(100), b: 'y'.repeat(500) }, 83))).toEqual({
      a: '😀😀😀…[truncated 194 chars]',
      '…': '[truncated: 1 more keys]',
    });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const v = 'é'.repeat(100); // 200 bytes + quotes
    const out = capJson(v, 150);
    expect(bytes(out)).toBeLessThanOrEqual(150);
    expect(out).toContain(TRUNCATION_MARKER);
    expect(capJson(v, 202)).toBe(JSON.stringify(v));
  });

  it('falls back to a marker string when nothing else fits', () => {
    expect(capJson('x'.repeat(100_000), 13)).toBe('"[truncated]"');
    const out = capJson('x'.repeat(100_000), 30);
    expect(bytes(out)).toBeLessThanOrEqual(30);
    expect(out).toContain(TRUNCATION_MARKER);
    expect(capJson(Array.from({ length: 10 ** 6 }, () => 'x'), 40)).toContain(TRUNCATION_MARKER);
  });

  it('rejects budgets too small for any marker', () => {
    expect(MIN_CAP_BYTES).toBe(13);
    expect(() => capJson('x', 12)).toThrow(RangeError);
    expect(() => capJson('x', NaN)).toThrow(RangeError);
    expect(capJson({ a: 'x'.repeat(1000) }, Infinity)).toBe(JSON.stringify({ a: 'x'.repeat(1000) }));
  });

  it('reads only what fits the cap of a huge input', () => {
    let reads = 0;
    const items = Array.from({ length: 200_000 }, (_, i) => ({ id: i, name: `n${i}`, tags: ['a', 'b'] }));
    const counted = new Proxy(items, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const huge = { list: counted, strings: Array.from({ length: 200 }, (_, i) => String(i).repeat(100_000)) };
    const out = capJson(huge, 4096);
    // The walk stops when the 4 KB budget is spent (a few passes at smaller
    // scales included): a few thousand items read, not 200,000.
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(10_000);
    expect(bytes(out)).toBeLessThanOrEqual(4096);
    expect(bytes(out)).toBeGreaterThan(2048);
    expect(out).toContain(TRUNCATION_MARKER);
  });

  it('composes with the redactor', () => {
    const out = capJson(redact({ password: 'x', list: Array.from({ length: 1000 }, (_, i) => i) }), 128);
    const parsed = JSON.parse(out) as { password: string; list: unknown[] };
    expect(parsed.password).toBe(REDACTED);
    expect(parsed.list[parsed.list.length - 1]).toMatch(/^\[truncated: \d+ more items\]$/);
  });
});
