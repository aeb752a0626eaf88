/**
 * Reading encrypted records back: each encrypted field of a record decrypted
 * with its subject's data key, shown as erased when the key has been
 * destroyed, or shown as encrypted when the reader may not use the key.
 * Never throws for a field: a ciphertext that does not decrypt (altered, or
 * moved) is shown as such; `otel-audit verify` says which row was altered.
 */
import { CLIENT_IP_ATTRIBUTE, ENCRYPTABLE, type EncryptableColumn } from './encryption-config.js';
import { decryptField, parseSealed, recordContext } from './field-cipher.js';
import { ENVELOPE_ATTRIBUTES, openEnvelope, parseEnvelope, parseMarker } from './record-cipher.js';

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

/** What a field reads as when its key is not a key: erased, or what stands for the key. */
function without(key: KeyState | null | undefined): string | undefined {
  if (key === null || key === undefined) return ERASED;
  return Buffer.isBuffer(key) ? undefined : key;
}

/** A v1 field (one ciphertext of its own). */
function revealField(keys: KeyRing, column: string, stored: unknown, context: string): { value: unknown } | undefined {
  const sealed = parseSealed(stored);
  if (!sealed) return undefined;
  const key = keys.get(sealed.kid);
  const instead = without(key);
  if (instead !== undefined) return { value: instead };
  try {
    return { value: decryptField(key as Buffer, column, sealed, context) };
  } catch {
    return { value: UNDECRYPTABLE };
  }
}

/** An envelope as a reader sees it: the fields it holds under its key, or what they read as. */
type Opened = { kid: string; fields: Record<string, unknown> | string };

/** A record's v2 envelopes, each opened at most once. */
class Envelopes {
  private readonly opened = new Map<string, Opened | null>();

  constructor(
    private readonly keys: KeyRing,
    private readonly attributes: Record<string, unknown> | undefined,
    private readonly context: string,
  ) {}

  private open(attribute: string): Opened | null {
    let opened = this.opened.get(attribute);
    if (opened === undefined) {
      opened = this.read(attribute);
      this.opened.set(attribute, opened);
    }
    return opened;
  }

  /** Null when the record holds no envelope there. */
  private read(attribute: string): Opened | null {
    const stored = this.attributes?.[attribute];
    if (stored === undefined) return null;
    const envelope = parseEnvelope(stored);
    if (!envelope) return { kid: '', fields: UNDECRYPTABLE };
    const key = this.keys.get(envelope.kid);
    const instead = without(key);
    if (instead !== undefined) return { kid: envelope.kid, fields: instead };
    try {
      return { kid: envelope.kid, fields: openEnvelope(key as Buffer, envelope, this.context) };
    } catch {
      return { kid: envelope.kid, fields: UNDECRYPTABLE };
    }
  }

  /**
   * The value of a column holding a v2 marker; undefined for a value that is
   * no marker, or that only looks like one (the record has no envelope, or
   * its envelope does not hold the column: a value stored in clear). A
   * marker naming another key than its envelope's was not written with it.
   */
  field(column: string, stored: unknown): { value: unknown } | undefined {
    const marker = parseMarker(stored);
    if (!marker) return undefined;
    const opened = this.open(marker.in);
    if (opened === null) return undefined;
    if (opened.kid !== marker.kid) return { value: UNDECRYPTABLE };
    const { fields } = opened;
    if (typeof fields === 'string') return { value: fields };
    return Object.hasOwn(fields, column) ? { value: fields[column] } : undefined;
  }
}

function attributesOf(record: Record<string, unknown>): Record<string, unknown> | undefined {
  const a = record['attributes'];
  return a !== null && typeof a === 'object' && !Array.isArray(a) ? (a as Record<string, unknown>) : undefined;
}

/**
 * The record (column names as keys) with its encrypted fields in clear,
 * erased or shown as encrypted, as `keys` says. Changes `record` in place.
 * The encrypted client address, kept in the attributes, becomes `client_ip`;
 * the envelopes leave the attributes.
 */
export function revealRecord(record: Record<string, unknown>, keys: KeyRing): Record<string, unknown> {
  const context = recordContext(record['trace_id'], record['span_id']);
  const attrs = attributesOf(record);
  const envelopes = new Envelopes(keys, attrs, context);
  const reveal = (column: string, stored: unknown): { value: unknown } | undefined =>
    revealField(keys, column, stored, context) ?? envelopes.field(column, stored);
  for (const column of COLUMNS) {
    if (column === 'client_ip') continue;
    const r = reveal(column, record[column]);
    if (r) record[column] = r.value;
  }
  if (attrs && CLIENT_IP_ATTRIBUTE in attrs) {
    const r = reveal('client_ip', attrs[CLIENT_IP_ATTRIBUTE]);
    if (r) {
      record['client_ip'] = r.value;
      delete attrs[CLIENT_IP_ATTRIBUTE];
    }
  }
  if (attrs) for (const name of ENVELOPE_ATTRIBUTES) if (parseEnvelope(attrs[name])) delete attrs[name];
  return record;
}

/** The kids of the encrypted fields of records (column names as keys), to read only the keys they need. */
export function kidsOf(records: readonly Record<string, unknown>[]): string[] {
  const kids = new Set<string>();
  const add = (v: unknown): void => {
    const kid = parseSealed(v)?.kid ?? parseEnvelope(v)?.kid ?? parseMarker(v)?.kid;
    if (kid !== undefined) kids.add(kid);
  };
  for (const record of records) {
    for (const column of COLUMNS) add(record[column]);
    const attrs = attributesOf(record);
    if (attrs) for (const name of [CLIENT_IP_ATTRIBUTE, ...ENVELOPE_ATTRIBUTES]) add(attrs[name]);
  }
  return [...kids];
}

/** Whether revealing the record changes its attributes (an encrypted client address or an envelope leaves them). */
export function revealTouchesAttributes(record: Record<string, unknown>): boolean {
  const attrs = attributesOf(record);
  return attrs !== undefined && (CLIENT_IP_ATTRIBUTE in attrs || ENVELOPE_ATTRIBUTES.some((name) => parseEnvelope(attrs[name]) !== undefined));
}

/** Whether a stored column value is encrypted (either format). */
export function isEncrypted(stored: unknown): boolean {
  return parseSealed(stored) !== undefined || parseMarker(stored) !== undefined;
}

/** A JSON line of an export with its encrypted fields revealed (the line unchanged when it holds none). */
export function revealLine(line: string, keys: KeyRing): string {
  if (!line.includes('enc')) return line;
  const record = JSON.parse(line) as Record<string, unknown>;
  return `${JSON.stringify(revealRecord(record, keys))}\n`;
}
