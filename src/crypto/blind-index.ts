/**
 * Blind indexes: keyed HMAC-SHA-256 of a value, so that rows and keys can be
 * found by equality without storing the value. The domain keeps indexes of
 * different things apart (a subject and an actor id of the same text differ).
 */
import { createHmac, type KeyObject } from 'node:crypto';

export type IndexDomain = 'subject:actor' | 'subject:tenant' | 'actor_id';

export function blindIndex(indexKey: Buffer | KeyObject, domain: IndexDomain, value: string): string {
  return createHmac('sha256', indexKey).update(`${domain}\0${value}`).digest('hex');
}
