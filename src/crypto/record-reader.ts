/**
 * Reading encrypted records back: each encrypted field of an exported record
 * decrypted with its subject's data key, or shown as erased when the key has
 * been destroyed. Never throws for a field: a ciphertext that does not
 * decrypt (altered, or moved) is shown as such; `otel-audit verify` says
 * which row was altered.
 */
import { CLIENT_IP_ATTRIBUTE, ENCRYPTABLE, type EncryptableColumn } from './encryption-config.js';
import { decryptField, parseSealed, recordContext } from './field-cipher.js';

/** Data keys by kid: the key, or null once erased. */
export type KeyRing = ReadonlyMap<string, Buffer | null>;

/** What an erased field reads as. */
export const ERASED = '[erased]';
/** What a field reads as when its ciphertext does not decrypt with its key. */
export const UNDECRYPTABLE = '[undecryptable]';

const COLUMNS = Object.keys(ENCRYPTABLE) as EncryptableColumn[];

function reveal(keys: KeyRing, column: string, stored: unknown, context: string): { value: unknown } | undefined {
  const sealed = parseSealed(stored);
  if (!sealed) return undefined;
  const key = keys.get(sealed.kid);
  if (key === null || key === undefined) return { value: ERASED };
  try {
    return { value: decryptField(key, column, sealed, context) };
  } catch {
    return { value: UNDECRYPTABLE };
  }
}

/** The record (as exported: column names as keys) with its encrypted fields in clear or erased. Changes `record` in place. */
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

/** A JSON line of an export with its encrypted fields revealed (the line unchanged when it holds none). */
export function revealLine(line: string, keys: KeyRing): string {
  if (!line.includes('enc')) return line;
  const record = JSON.parse(line) as Record<string, unknown>;
  return `${JSON.stringify(revealRecord(record, keys))}\n`;
}
