/**
 * Bearer tokens of the viewer. Each names who holds it (the actor of the
 * `audit.view` records), the database role its requests run as (`SET LOCAL
 * ROLE`), and the tenants that role is granted (`audit.tenant_grants`, migration
 * 000006). Row-level security on audit.records then decides what each
 * request sees: the API never widens it, whatever a request asks for.
 *
 * The token file (or `OTEL_AUDIT_SERVE_TOKENS`) is JSON:
 *
 * ```json
 * [{ "name": "alice", "sha256": "<hex of the token>", "role": "viewer_acme", "tenants": ["acme"] },
 *  { "name": "audit-team", "token": "<the token>", "role": "audit_auditor", "decrypt": true }]
 * ```
 *
 * `decrypt: true` lets a token read encrypted personal fields in clear, when
 * the server has the key-encryption key; other tokens see them as
 * `[encrypted]` (or `[erased]`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface TokenSpec {
  /** Who holds the token: the actor of its audit records. */
  name: string;
  /** SHA-256 of the token, hex (the token itself need not be stored). */
  sha256: string;
  /** The database role its requests run as. */
  role: string;
  /** Tenants granted to the role; undefined for a role that reads every tenant (audit_auditor, audit_admin). */
  tenants?: string[];
  /** May read encrypted personal fields in clear (with the server's key-encryption key). Default false. */
  decrypt?: boolean;
}

/** Raised for a token file that cannot be used; the message says why. */
export class TokenConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenConfigError';
  }
}

/** Shortest token accepted in clear (a guessable token would be a password in the URL). */
const MIN_TOKEN_CHARS = 16;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The tokens of a token file's text; throws {@link TokenConfigError}. */
export function parseTokens(text: string, source: string): TokenSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TokenConfigError(`${source}: not JSON (${(err as Error).message})`);
  }
  const list = Array.isArray(value) ? value : (value as { tokens?: unknown } | null)?.tokens;
  if (!Array.isArray(list)) throw new TokenConfigError(`${source}: expected a JSON array of tokens (or {"tokens": [...]})`);
  const names = new Set<string>();
  const hashes = new Set<string>();
  return list.map((raw: unknown, i) => {
    const where = `${source}: token ${i + 1}`;
    if (typeof raw !== 'object' || raw === null) throw new TokenConfigError(`${where} is not an object`);
    const { name, token, sha256, role, tenants, decrypt } = raw as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') throw new TokenConfigError(`${where}: "name" is required`);
    if (typeof role !== 'string' || role === '') throw new TokenConfigError(`${where} (${name}): "role" (a database role) is required`);
    let hash: string;
    if (typeof sha256 === 'string' && token === undefined) {
      hash = sha256.toLowerCase();
      if (!HEX_SHA256.test(hash)) throw new TokenConfigError(`${where} (${name}): "sha256" must be 64 hex digits`);
    } else if (typeof token === 'string' && sha256 === undefined) {
      if (token.length < MIN_TOKEN_CHARS) throw new TokenConfigError(`${where} (${name}): "token" needs at least ${MIN_TOKEN_CHARS} characters`);
      hash = tokenHash(token);
    } else {
      throw new TokenConfigError(`${where} (${name}): give one of "token" and "sha256"`);
    }
    if (tenants !== undefined && (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string' && t !== ''))) {
      throw new TokenConfigError(`${where} (${name}): "tenants" must be a list of tenant ids`);
    }
    if (decrypt !== undefined && typeof decrypt !== 'boolean') throw new TokenConfigError(`${where} (${name}): "decrypt" must be true or false`);
    if (names.has(name)) throw new TokenConfigError(`${where}: name "${name}" is used twice`);
    if (hashes.has(hash)) throw new TokenConfigError(`${where} (${name}): the same token is listed twice`);
    names.add(name);
    hashes.add(hash);
    return {
      name,
      sha256: hash,
      role,
      ...(tenants !== undefined ? { tenants: [...new Set(tenants as string[])] } : {}),
      ...(decrypt === true ? { decrypt: true } : {}),
    };
  });
}

/** The token an `Authorization: Bearer …` header names, or undefined. Compares hashes in constant time. */
export function authenticate(header: string | undefined, tokens: readonly TokenSpec[]): TokenSpec | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return undefined;
  const given = Buffer.from(tokenHash(m[1] as string), 'hex');
  let found: TokenSpec | undefined;
  // Every entry is compared, so the time taken does not tell which one matched.
  for (const t of tokens) {
    if (timingSafeEqual(given, Buffer.from(t.sha256, 'hex'))) found ??= t;
  }
  return found;
}
