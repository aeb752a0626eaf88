import { createHash, createHmac, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../contract/canonical.js';
import type { AuditRow } from './row.js';
import { sharedForm } from './shared-values.js';

/** Canonical forms of values shared between rows (shared-values.ts), each computed once. */
const knownForms = (value: object): string | undefined => sharedForm(value, (v) => canonicalJson(v));

/**
 * SHA-256 of the RFC 8785 canonical JSON of a row's fields (every field the
 * sink stores), kept in `audit.records.content_hash`. Two deliveries of one
 * record have the same hash; a record under an existing identity key with
 * another hash is a conflict.
 */
export function contentHash(row: AuditRow, key?: KeyObject): Buffer {
  return (key ? createHmac('sha256', key) : createHash('sha256')).update(canonicalJson(row, knownForms), 'utf8').digest();
}

/**
 * The row's identity within one batch, as a string: the parts of the
 * database's identity key (migration 000004, `audit.record_identity`) and
 * `occurred_at`, JSON-encoded, so that it is unambiguous as well.
 */
export function identityOf(row: AuditRow): string {
  return JSON.stringify([row.traceId, row.spanId, row.serviceName, row.action, row.resourceType, row.resourceId, row.occurredAt]);
}

/**
 * The row's content hash; a row holding a value canonical JSON has no form
 * for (the transform leaves none) is hashed as its plain JSON. With `key`
 * (the sink encrypts personal fields) an HMAC-SHA-256 instead, computed
 * over the row in clear so that a redelivery still matches: a plain hash of
 * the clear row would let anyone confirm a guessed value, after erasure too.
 * The key is a KeyObject: an HMAC made from one does not import the key per row.
 */
export function contentHashOrPlain(row: AuditRow, key?: KeyObject): Buffer {
  try {
    return contentHash(row, key);
  } catch {
    return (key ? createHmac('sha256', key) : createHash('sha256')).update(JSON.stringify(row)).digest();
  }
}
