import { timingSafeEqual } from 'node:crypto';

/** True when `header` is `Bearer <token>` with the configured token (constant-time compare). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s(.+)$/i.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from((m[1] as string).trimStart());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
