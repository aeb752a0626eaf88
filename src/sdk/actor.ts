/**
 * Who performed a request: from a JWT bearer token, a `req.user`-like object
 * set by authentication middleware, or a value returned by a user hook.
 * Nothing here verifies signatures; authentication is the application's job,
 * this only reads what it decided.
 */

import type { ActorType } from '../contract/values.js';

/** The principal an audit record is attributed to. */
export interface Actor {
  id?: string;
  name?: string;
  type: ActorType;
}

/** An actor with the tenant it acts in, when known. */
export interface ActorWithTenant {
  actor: Actor;
  tenant?: string;
}

/** Claim names (dot paths allowed) to read actor fields from. */
export interface JwtClaimNames {
  id: string;
  name: string;
  /** Claim whose value `service` marks a service principal. */
  type?: string;
  tenant: string;
}

/** Default claim names: `sub`, `preferred_username`, `tenant_id`. */
export const DEFAULT_JWT_CLAIMS: Readonly<JwtClaimNames> = Object.freeze({
  id: 'sub',
  name: 'preferred_username',
  tenant: 'tenant_id',
});

/** Tokens longer than this are not decoded. */
export const MAX_JWT_LENGTH = 16 * 1024;

/** Name claims tried, in order, after the configured one. */
const NAME_FALLBACK_CLAIMS = ['name', 'email', 'username'] as const;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(padded: string): Record<string, unknown> | undefined {
  const segment = padded.replace(/={1,2}$/, '');
  if (segment.length === 0 || segment.length % 4 === 1 || !BASE64URL.test(segment)) return undefined;
  try {
    const bytes = Buffer.from(segment, 'base64url');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    return parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Reads the claims of a `Bearer <jwt>` authorization header value (scheme
 * case-insensitive). Only the structure is checked (three base64url parts,
 * JSON object header and payload); the signature is not verified. Returns
 * `undefined` for anything malformed, encrypted (five-part) tokens, and
 * tokens longer than {@link MAX_JWT_LENGTH}. Never throws.
 */
export function decodeJwtClaims(authorization: string | undefined): Record<string, unknown> | undefined {
  if (typeof authorization !== 'string' || authorization.length > MAX_JWT_LENGTH + 64) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!m) return undefined;
  const token = m[1] as string;
  if (token.length > MAX_JWT_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  if (!BASE64URL.test(signature) || decodeSegment(header) === undefined) return undefined;
  return decodeSegment(payload);
}

/** Own property lookup that never throws. */
function own(obj: object, key: string): unknown {
  try {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** A claim by literal name (namespaced claims contain dots) or else by dot path. */
function claim(claims: Record<string, unknown>, name: string): unknown {
  const direct = own(claims, name);
  if (direct !== undefined || !name.includes('.')) return direct;
  let current: unknown = claims;
  for (const key of name.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = own(current, key);
  }
  return current;
}

/** Non-empty trimmed string, or finite number as string. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const t = value.trim();
    return t.length > 0 ? t : undefined;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** Non-empty trimmed string only (names are never numbers). */
function nameText(value: unknown): string | undefined {
  return typeof value === 'string' ? text(value) : undefined;
}

/**
 * Like {@link text}, also accepting objects with their own `toString`
 * (database ids such as MongoDB's ObjectId).
 */
function idText(value: unknown): string | undefined {
  const t = text(value);
  if (t !== undefined || value === null || typeof value !== 'object') return t;
  try {
    const toString = (value as { toString?: unknown }).toString;
    if (typeof toString !== 'function' || toString === Object.prototype.toString) return undefined;
    return text(String(value));
  } catch {
    return undefined;
  }
}

function withTenant(actor: Actor, tenant: string | undefined): ActorWithTenant {
  return tenant === undefined ? { actor } : { actor, tenant };
}

function makeActor(id: string | undefined, name: string | undefined, type: Actor['type']): Actor {
  const actor: Actor = { type };
  if (id !== undefined) actor.id = id;
  if (name !== undefined) actor.name = name;
  return actor;
}

/**
 * Builds the actor from decoded JWT claims. The actor is a `service` when the
 * `names.type` claim says `service`, or the token looks like a
 * client-credentials token: no id claim but a `client_id`/`azp`/`cid`, an id
 * equal to the client id, `gty: client-credentials` (Auth0),
 * `idtyp: app` (Microsoft Entra) or a `service-account-` username
 * (Keycloak); otherwise a `user`. The id falls back to the client id for
 * service tokens; the name falls back to `name`, `email`, `username`.
 * Returns `undefined` when no id is found. Never throws.
 */
export function actorFromClaims(
  claims: Record<string, unknown> | undefined,
  names: JwtClaimNames = DEFAULT_JWT_CLAIMS,
): ActorWithTenant | undefined {
  try {
    return claimsActor(claims, names);
  } catch {
    return undefined;
  }
}

function claimsActor(claims: Record<string, unknown> | undefined, names: JwtClaimNames): ActorWithTenant | undefined {
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
  const subject = text(claim(claims, names.id));
  const clientId = text(own(claims, 'client_id')) ?? text(own(claims, 'azp')) ?? text(own(claims, 'cid'));

  let name = nameText(claim(claims, names.name));
  for (const fallback of NAME_FALLBACK_CLAIMS) {
    if (name !== undefined) break;
    name = nameText(own(claims, fallback));
  }

  const declared = names.type !== undefined ? text(claim(claims, names.type))?.toLowerCase() : undefined;
  const isService =
    declared === 'service' ||
    (subject === undefined && clientId !== undefined) ||
    (subject !== undefined && subject === clientId) ||
    own(claims, 'gty') === 'client-credentials' ||
    own(claims, 'idtyp') === 'app' ||
    (subject !== undefined && subject.endsWith('@clients')) ||
    (name?.startsWith('service-account-') ?? false);

  const id = subject ?? (isService ? clientId : undefined);
  if (id === undefined) return undefined;
  return withTenant(makeActor(id, name, isService ? 'service' : 'user'), text(claim(claims, names.tenant)));
}

const USER_ID_KEYS = ['id', '_id', 'sub', 'userId', 'uid'] as const;
const USER_NAME_KEYS = ['name', 'username', 'displayName', 'email'] as const;
const USER_TENANT_KEYS = ['tenantId', 'tenant_id', 'tenant', 'orgId', 'organizationId'] as const;

/** Property read that follows the prototype (ORM getters) but never throws. */
function prop(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function first<T>(keys: readonly string[], read: (key: string) => T | undefined): T | undefined {
  for (const key of keys) {
    const v = read(key);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The type an object declares (`type`, lowercased): `service`, else `user`. */
function declaredType(declared: string | undefined): 'service' | 'user' {
  return declared === 'service' ? 'service' : 'user';
}

/**
 * Reads an actor-like value: a plain id (non-empty string or number) goes to
 * `fromId`; an object (not an array) to `fromObject` with its declared
 * `type`, lowercased; anything else, or a reader that throws, is
 * `undefined`. Never throws.
 */
function readActorValue<T>(
  value: unknown,
  fromId: (id: string) => T,
  fromObject: (obj: object, declared: string | undefined) => T | undefined,
): T | undefined {
  try {
    const plain = text(value);
    if (plain !== undefined) return fromId(plain);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return fromObject(value, text(prop(value, 'type'))?.toLowerCase());
  } catch {
    return undefined;
  }
}

/** A tenant given as a string/number, or as an object with an `id`. */
function tenantText(value: unknown): string | undefined {
  const t = idText(value);
  if (t !== undefined || value === null || typeof value !== 'object') return t;
  return idText(prop(value, 'id'));
}

/**
 * Builds the actor from a `req.user`-like object set by authentication
 * middleware: id from `id`/`_id`/`sub`/`userId`/`uid`, name from
 * `name`/`username`/`displayName`/`email`, type from `type` when it is
 * `user` or `service` (else `user`), tenant from
 * `tenantId`/`tenant_id`/`tenant`/`orgId`/`organizationId`. A non-empty
 * string is taken as the id. Returns `undefined` when neither id nor name is
 * found. Never throws.
 */
export function actorFromUser(user: unknown): ActorWithTenant | undefined {
  return readActorValue(
    user,
    (id) => ({ actor: makeActor(id, undefined, 'user') }),
    (obj, declared) => {
      const id = first(USER_ID_KEYS, (k) => idText(prop(obj, k)));
      const name = first(USER_NAME_KEYS, (k) => nameText(prop(obj, k)));
      if (id === undefined && name === undefined) return undefined;
      const tenant = first(USER_TENANT_KEYS, (k) => tenantText(prop(obj, k)));
      return withTenant(makeActor(id, name, declaredType(declared)), tenant);
    },
  );
}

/**
 * Normalises a value returned by a user actor hook: an `{ id, name, type }`
 * object (type `user`, `service` or `anonymous`; default `user`, or
 * `anonymous` when neither id nor name is given with that type) or a plain
 * string / number id. Returns `undefined` for anything without an id, a
 * name or an explicit `anonymous` type. Never throws.
 */
export function normalizeActor(input: unknown): Actor | undefined {
  return readActorValue(
    input,
    (id) => makeActor(id, undefined, 'user'),
    (obj, declared) => {
      const id = idText(prop(obj, 'id'));
      const name = nameText(prop(obj, 'name'));
      if (declared === 'anonymous') return makeActor(id, name, 'anonymous');
      if (id === undefined && name === undefined) return undefined;
      return makeActor(id, name, declaredType(declared));
    },
  );
}
