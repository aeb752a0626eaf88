import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * True when `header` is `Bearer <token>` with the configured token. The
 * SHA-256 digests of both are compared in constant time: equal-length inputs
 * whatever was sent, so the time taken says nothing about the token, not
 * even its length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s(.+)$/i.exec(header.trim());
  if (!m) return false;
  return timingSafeEqual(digest((m[1] as string).trimStart()), digest(token));
}
