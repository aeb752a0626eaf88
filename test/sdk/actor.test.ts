import { describe, expect, it } from 'vitest';
import {
  DEFAULT_JWT_CLAIMS,
  MAX_JWT_LENGTH,
  actorFromClaims,
  actorFromUser,
  decodeJwtClaims,
  normalizeActor,
  type JwtClaimNames,
} from '../../src/sdk/actor.js';

const b64url = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jwt = (payload: unknown, header: unknown = { alg: 'RS256', typ: 'JWT' }): string =>
  `${b64url(header)}.${b64url(payload)}.c2lnbmF0dXJl`;

describe('decodeJwtClaims', () => {
  const claims = { sub: 'u-1', preferred_username: 'alice', n: 1, nested: { a: [1] }, uni: 'héllo ✓' };

  it('decodes the payload of a bearer token', () => {
    expect(decodeJwtClaims(`Bearer ${jwt(claims)}`)).toEqual(claims);
  });

  it('accepts any case of the scheme and surrounding whitespace', () => {
    expect(decodeJwtClaims(`bearer ${jwt(claims)}`)).toEqual(claims);
    expect(decodeJwtClaims(`BEARER   ${jwt(claims)}  `)).toEqual(claims);
  });

  it('accepts unsigned tokens (empty signature) and padded segments', () => {
    const [h, p] = jwt(claims).split('.') as [string, string];
    expect(decodeJwtClaims(`Bearer ${h}.${p}.`)).toEqual(claims);
    const padded = Buffer.from(JSON.stringify({ sub: 'x' })).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    expect(padded.endsWith('=')).toBe(true);
    expect(decodeJwtClaims(`Bearer ${h}.${padded}.sig`)).toEqual({ sub: 'x' });
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['another scheme', `Basic ${jwt(claims)}`],
    ['no scheme', jwt(claims)],
    ['no token', 'Bearer '],
    ['two parts', `Bearer ${b64url({ alg: 'none' })}.${b64url(claims)}`],
    ['four parts', `Bearer ${jwt(claims)}.x`],
    ['encrypted (five parts)', `Bearer a.b.c.d.e`],
    ['token with inner space', `Bearer ${jwt(claims)} extra`],
    ['standard base64 chars', `Bearer ${b64url({ alg: 'x' })}.abc+/def.sig`],
    ['bad base64 length', `Bearer ${b64url({ alg: 'x' })}.abcde.sig`],
    ['payload not JSON', `Bearer ${b64url({ alg: 'x' })}.${b64url('not json')}.sig`],
    ['payload a JSON array', `Bearer ${jwt([1, 2])}`],
    ['payload a JSON string', `Bearer ${jwt('"s"')}`],
    ['payload null', `Bearer ${b64url({ alg: 'x' })}.${b64url('null')}.sig`],
    ['payload empty', `Bearer ${b64url({ alg: 'x' })}..sig`],
    ['header not JSON', `Bearer ${b64url('garbage')}.${b64url(claims)}.sig`],
    ['header empty', `Bearer .${b64url(claims)}.sig`],
    ['bad signature chars', `Bearer ${b64url({ alg: 'x' })}.${b64url(claims)}.si$g`],
    ['invalid UTF-8', `Bearer ${b64url({ alg: 'x' })}.${Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64url')}.sig`],
  ])('rejects %s', (_label, header) => {
    expect(decodeJwtClaims(header)).toBeUndefined();
  });

  it('rejects tokens over 16 KiB and accepts them just below', () => {
    const small = jwt({ sub: 'x', pad: '' });
    const overhead = small.length;
    const fits = jwt({ sub: 'x', pad: 'a'.repeat(Math.floor(((MAX_JWT_LENGTH - overhead) * 3) / 4) - 4) });
    expect(fits.length).toBeLessThanOrEqual(MAX_JWT_LENGTH);
    expect(decodeJwtClaims(`Bearer ${fits}`)).toMatchObject({ sub: 'x' });
    const big = jwt({ sub: 'x', pad: 'a'.repeat(MAX_JWT_LENGTH) });
    expect(decodeJwtClaims(`Bearer ${big}`)).toBeUndefined();
    expect(decodeJwtClaims(`Bearer ${'a'.repeat(10_000_000)}`)).toBeUndefined();
  });

  it('never throws on non-string input', () => {
    expect(decodeJwtClaims(42 as unknown as string)).toBeUndefined();
    expect(decodeJwtClaims({} as unknown as string)).toBeUndefined();
    expect(decodeJwtClaims(['Bearer x.y.z'] as unknown as string)).toBeUndefined();
  });

  it('keeps a __proto__ claim as data', () => {
    const token = `${b64url({ alg: 'x' })}.${b64url('{"__proto__":{"admin":true},"sub":"u"}')}.s`;
    const out = decodeJwtClaims(`Bearer ${token}`);
    expect(out?.['sub']).toBe('u');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as Record<string, unknown>)['admin']).toBeUndefined();
  });
});

describe('actorFromClaims', () => {
  it('builds a user actor with default claim names', () => {
    expect(actorFromClaims({ sub: 'u-1', preferred_username: 'alice', tenant_id: 't-9' })).toEqual({
      actor: { id: 'u-1', name: 'alice', type: 'user' },
      tenant: 't-9',
    });
    expect(DEFAULT_JWT_CLAIMS).toEqual({ id: 'sub', name: 'preferred_username', tenant: 'tenant_id' });
  });

  it('falls back to name, email, username for the name', () => {
    expect(actorFromClaims({ sub: 'u', name: 'Alice A', email: 'a@x', username: 'al' })?.actor.name).toBe('Alice A');
    expect(actorFromClaims({ sub: 'u', email: 'a@x', username: 'al' })?.actor.name).toBe('a@x');
    expect(actorFromClaims({ sub: 'u', username: 'al' })?.actor.name).toBe('al');
    expect(actorFromClaims({ sub: 'u', preferred_username: '  ', email: 'a@x' })?.actor.name).toBe('a@x');
    const none = actorFromClaims({ sub: 'u' });
    expect(none).toEqual({ actor: { id: 'u', type: 'user' } });
    expect(none && 'name' in none.actor).toBe(false);
    expect(none && 'tenant' in none).toBe(false);
  });

  it('supports custom and dotted claim names', () => {
    const names: JwtClaimNames = { id: 'realm.user.id', name: 'realm.user.login', tenant: 'org.id', type: 'kind' };
    const claims = { realm: { user: { id: 77, login: 'bob' } }, org: { id: 'o-1' }, kind: 'user' };
    expect(actorFromClaims(claims, names)).toEqual({ actor: { id: '77', name: 'bob', type: 'user' }, tenant: 'o-1' });
  });

  it('prefers a literal namespaced claim over a dot path', () => {
    const names: JwtClaimNames = { id: 'sub', name: 'name', tenant: 'https://example.com/tenant' };
    expect(actorFromClaims({ sub: 'u', 'https://example.com/tenant': 'acme' }, names)?.tenant).toBe('acme');
  });

  it('detects client-credentials tokens as services', () => {
    expect(actorFromClaims({ client_id: 'billing' })).toEqual({ actor: { id: 'billing', type: 'service' } });
    expect(actorFromClaims({ azp: 'ci-bot' })).toEqual({ actor: { id: 'ci-bot', type: 'service' } });
    expect(actorFromClaims({ sub: 'svc', client_id: 'svc' })?.actor).toEqual({ id: 'svc', type: 'service' });
    expect(actorFromClaims({ sub: 'abc@clients', gty: 'client-credentials' })?.actor.type).toBe('service');
    expect(actorFromClaims({ sub: 'abc@clients' })?.actor.type).toBe('service');
    expect(actorFromClaims({ sub: 'oid-1', idtyp: 'app' })?.actor.type).toBe('service');
    expect(actorFromClaims({ sub: 'k-1', preferred_username: 'service-account-ci', azp: 'ci' })?.actor).toEqual({
      id: 'k-1',
      name: 'service-account-ci',
      type: 'service',
    });
  });

  it('keeps user tokens that merely name their client as users', () => {
    expect(actorFromClaims({ sub: 'u-1', azp: 'web-app', preferred_username: 'alice' })?.actor.type).toBe('user');
    expect(actorFromClaims({ sub: 'u-1', client_id: 'web-app' })?.actor.type).toBe('user');
  });

  it('honours a type claim', () => {
    const names: JwtClaimNames = { ...DEFAULT_JWT_CLAIMS, type: 'principal_type' };
    expect(actorFromClaims({ sub: 'x', principal_type: 'SERVICE' }, names)?.actor.type).toBe('service');
    expect(actorFromClaims({ sub: 'x', principal_type: 'user' }, names)?.actor.type).toBe('user');
    expect(actorFromClaims({ sub: 'x', principal_type: 'robot' }, names)?.actor.type).toBe('user');
  });

  it('returns undefined without an id', () => {
    expect(actorFromClaims({ preferred_username: 'alice' })).toBeUndefined();
    expect(actorFromClaims({ sub: '' })).toBeUndefined();
    expect(actorFromClaims({ sub: { nested: 1 } })).toBeUndefined();
    expect(actorFromClaims({})).toBeUndefined();
    expect(actorFromClaims(undefined)).toBeUndefined();
    expect(actorFromClaims(null as unknown as Record<string, unknown>)).toBeUndefined();
    expect(actorFromClaims([] as unknown as Record<string, unknown>)).toBeUndefined();
  });

  it('ignores non-finite numbers and inherited claims', () => {
    expect(actorFromClaims({ sub: NaN })).toBeUndefined();
    const inherited = Object.create({ sub: 'proto' }) as Record<string, unknown>;
    expect(actorFromClaims(inherited)).toBeUndefined();
    expect(actorFromClaims({ sub: 'u' }, { id: 'sub', name: 'constructor', tenant: 'toString' })).toEqual({
      actor: { id: 'u', type: 'user' },
    });
  });

  it('works on decoded tokens end to end', () => {
    const claims = decodeJwtClaims(`Bearer ${jwt({ sub: 'u-5', email: 'e@x', tenant_id: 42 })}`);
    expect(actorFromClaims(claims)).toEqual({ actor: { id: 'u-5', name: 'e@x', type: 'user' }, tenant: '42' });
  });
});

describe('actorFromUser', () => {
  it.each([
    [{ id: 1 }, { actor: { id: '1', type: 'user' } }],
    [{ _id: 'mongo' }, { actor: { id: 'mongo', type: 'user' } }],
    [{ sub: 's' }, { actor: { id: 's', type: 'user' } }],
    [{ userId: 'uid-1' }, { actor: { id: 'uid-1', type: 'user' } }],
    [{ uid: 9 }, { actor: { id: '9', type: 'user' } }],
    [{ id: 'a', _id: 'b', sub: 'c' }, { actor: { id: 'a', type: 'user' } }],
    [{ id: 'a', name: 'N', username: 'u' }, { actor: { id: 'a', name: 'N', type: 'user' } }],
    [{ id: 'a', username: 'u', email: 'e' }, { actor: { id: 'a', name: 'u', type: 'user' } }],
    [{ id: 'a', displayName: 'D', email: 'e' }, { actor: { id: 'a', name: 'D', type: 'user' } }],
    [{ email: 'only@x' }, { actor: { name: 'only@x', type: 'user' } }],
    [{ id: 'a', type: 'service' }, { actor: { id: 'a', type: 'service' } }],
    [{ id: 'a', type: 'SERVICE' }, { actor: { id: 'a', type: 'service' } }],
    [{ id: 'a', type: 'admin' }, { actor: { id: 'a', type: 'user' } }],
    [{ id: 'a', type: 'anonymous' }, { actor: { id: 'a', type: 'user' } }],
    [{ id: 'a', tenantId: 't' }, { actor: { id: 'a', type: 'user' }, tenant: 't' }],
    [{ id: 'a', tenant_id: 5 }, { actor: { id: 'a', type: 'user' }, tenant: '5' }],
    [{ id: 'a', tenant: { id: 'tt', name: 'T' } }, { actor: { id: 'a', type: 'user' }, tenant: 'tt' }],
    [{ id: 'a', orgId: 'o' }, { actor: { id: 'a', type: 'user' }, tenant: 'o' }],
    [{ id: 'a', organizationId: 'org' }, { actor: { id: 'a', type: 'user' }, tenant: 'org' }],
    [{ id: 'a', name: { givenName: 'x' }, email: 'e@x' }, { actor: { id: 'a', name: 'e@x', type: 'user' } }],
    ['plain-id', { actor: { id: 'plain-id', type: 'user' } }],
  ] as const)('%j', (user, expected) => {
    expect(actorFromUser(user)).toEqual(expected);
  });

  it.each([undefined, null, {}, [], { id: '' }, { id: '   ' }, { id: {} }, { name: 42 }, true, '', { id: NaN }])(
    'returns undefined for %j',
    (user) => {
      expect(actorFromUser(user)).toBeUndefined();
    },
  );

  it('reads ids with their own toString (ObjectId-like) and prototype getters', () => {
    class ObjectId {
      constructor(private readonly hex: string) {}
      toString(): string {
        return this.hex;
      }
    }
    class Doc {
      constructor(private readonly raw: { _id: ObjectId; email: string }) {}
      get _id(): ObjectId {
        return this.raw._id;
      }
      get email(): string {
        return this.raw.email;
      }
    }
    expect(actorFromUser(new Doc({ _id: new ObjectId('65f0c0ffee'), email: 'm@x' }))).toEqual({
      actor: { id: '65f0c0ffee', name: 'm@x', type: 'user' },
    });
  });

  it('never throws on hostile objects', () => {
    const hostile = {};
    for (const key of ['id', '_id', 'name', 'type', 'tenantId']) {
      Object.defineProperty(hostile, key, {
        get() {
          throw new Error('no');
        },
      });
    }
    Object.defineProperty(hostile, 'username', { value: 'still-here' });
    expect(actorFromUser(hostile)).toEqual({ actor: { name: 'still-here', type: 'user' } });
    const { proxy, revoke } = Proxy.revocable({ id: 'x' }, {});
    revoke();
    expect(actorFromUser(proxy)).toBeUndefined();
    const badToString = {
      id: {
        toString(): string {
          throw new Error('no');
        },
      },
      name: 'n',
    };
    expect(actorFromUser(badToString)).toEqual({ actor: { name: 'n', type: 'user' } });
  });
});

describe('normalizeActor', () => {
  it.each([
    ['u-1', { id: 'u-1', type: 'user' }],
    ['  u-1  ', { id: 'u-1', type: 'user' }],
    [42, { id: '42', type: 'user' }],
    [{ id: 'x' }, { id: 'x', type: 'user' }],
    [{ id: 'x', name: 'X', type: 'service' }, { id: 'x', name: 'X', type: 'service' }],
    [{ id: 'x', type: 'Service' }, { id: 'x', type: 'service' }],
    [{ id: 7, type: 'bogus' }, { id: '7', type: 'user' }],
    [{ name: 'only-name' }, { name: 'only-name', type: 'user' }],
    [{ type: 'anonymous' }, { type: 'anonymous' }],
    [{ id: 'x', type: 'anonymous' }, { id: 'x', type: 'anonymous' }],
  ] as const)('%j', (input, expected) => {
    expect(normalizeActor(input)).toEqual(expected);
  });

  it.each([undefined, null, '', '   ', {}, [], { type: 'user' }, { id: '' }, { id: {} }, NaN, () => 'x', Symbol('s')])(
    'returns undefined for %s',
    (input) => {
      expect(normalizeActor(input)).toBeUndefined();
    },
  );

  it('does not copy unexpected keys', () => {
    const out = normalizeActor({ id: 'x', tenant: 't', extra: 1 });
    expect(out).toEqual({ id: 'x', type: 'user' });
    expect(Object.keys(out ?? {}).sort()).toEqual(['id', 'type']);
  });

  it('never throws', () => {
    const hostile = {};
    Object.defineProperty(hostile, 'id', {
      get() {
        throw new Error('no');
      },
    });
    expect(normalizeActor(hostile)).toBeUndefined();
  });
});
