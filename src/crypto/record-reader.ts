/**
 * Reading encrypted records back: each encrypted field of a record decrypted
 * with its subject's data key, shown as erased when the key has been
 * destroyed, or shown as encrypted when the reader may not use the key.
 * Never throws for a field: a ciphertext that does not decrypt (altered, or
 * moved) is shown as such; `otel-audit verify` says which row was altered.
 */
import { CLIENT_IP_ATTRIBUTE, ENCRYPTABLE, type EncryptableColumn } from './encryption-config.js';
import { decryptField, parseSealed, recordContext } from './field-cipher.js';

/** What an erased field reads as. */
export const ERASED = '[erased]';
/** What a field reads as when its ciphertext does not decrypt with its key. */
export const UNDECRYPTABLE = '[undecryptable]';
/** What a field reads as to a reader that may not use the key (its key is not erased). */
export const ENCRYPTED = '[encrypted]';

/** What a reader holds of a data key: the key itself, or what its fields read as without it. */
export type KeyState = Buffer | typeof ENCRYPTED | typeof UNDECRYPTABLE;

/** Data keys by kid: the key (or what stands for it), or null once erased. A kid not in the ring is erased too. */
export type KeyRing = ReadonlyMap<string, KeyState | null>;

const COLUMNS = Object.keys(ENCRYPTABLE) as EncryptableColumn[];

function reveal(keys: KeyRing, column: string, stored: unknown, context: string): { value: unknown } | undefined {
  const sealed = parseSealed(stored);
  if (!sealed) return undefined;
  const key = keys.get(sealed.kid);
  if (key === null || key === undefined) return { value: ERASED };
  if (!Buffer.isBuffer(key)) return { value: key };
  try {
    return { value: decryptField(key, column, sealed, context) };
  } catch {
    return { value: UNDECRYPTABLE };
  }
}

/**
 * The record (column names as keys) with its encrypted fields in clear,
 * erased or shown as encrypted, as `keys` says. Changes `record` in place.
 * The encrypted client address, kept in the attributes, becomes `client_ip`.
 */
export function revealRecord(record: Record<string, unknown>, keys: KeyRing): Record<string, unknown> {
  const context = recordContext(record['trace_id'], record['span_id']);
  for (const column of COLUMNS) {
    if (column === 'client_ip') continue;
    const r = reveal(keys, column, record[column], context);
    if (r) record[column] = r.value;
  }
  const attributes = record['attributes'];
  if (attributes !== null && typeof attributes === 'object' && CLIENT_IP_ATTRIBUTE in attributes) {
    const attrs = attributes as Record<string, unknown>;
    const r = reveal(keys, 'client_ip', attrs[CLIENT_IP_ATTRIBUTE], context);
    if (r) {
      record['client_ip'] = r.value;
      delete attrs[CLIENT_IP_ATTRIBUTE];
    }
  }
  return record;
}

/** The kids of the encrypted fields of records (column names as keys), to read only the keys they need. */
export function kidsOf(records: readonly Record<string, unknown>[]): string[] {
  const kids = new Set<string>();
  for (const record of records) {
    for (const column of COLUMNS) {
      const kid = parseSealed(record[column])?.kid;
      if (kid !== undefined) kids.add(kid);
    }
    const attributes = record['attributes'];
    if (attributes !== null && typeof attributes === 'object') {
      const kid = parseSealed((attributes as Record<string, unknown>)[CLIENT_IP_ATTRIBUTE])?.kid;
      if (kid !== undefined) kids.add(kid);
    }
  }
  return [...kids];
}

/** A JSON line of an export with its encrypted fields revealed (the line unchanged when it holds none). */
export function revealLine(line: string, keys: KeyRing): string {
  if (!line.includes('enc')) return line;
  const record = JSON.parse(line) as Record<string, unknown>;
  return `${JSON.stringify(revealRecord(record, keys))}\n`;
}
