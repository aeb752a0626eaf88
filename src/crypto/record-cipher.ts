/**
 * Encrypted records, format v2: ONE AES-256-GCM ciphertext per record (its
 * envelope) holds every encrypted field of it, as the JSON object
 * `{column: value}`, under the subject's data key, with the key id and the
 * record (its trace and span ids) as associated data: an envelope moved to
 * another record does not decrypt. One cipher per record instead of one per
 * field: a cipher's set-up costs far more than the few hundred bytes it
 * encrypts.
 *
 * - the envelope is kept in the record's attributes, `audit.sealed`, as
 *   `enc:v2:<kid>:<iv>:<ciphertext+tag>` (base64url);
 * - each encrypted column holds a marker naming the key: a text column
 *   `enc:v2:<kid>`, a jsonb column `{"enc":"v2","kid":…}`; an inet column
 *   cannot hold one: it is stored NULL and the marker goes into the
 *   attributes (`audit.client_ip.encrypted`);
 * - a jsonb marker may name another envelope attribute (`"in"`): a row
 *   merged from a request's record and its outbox record keeps the outbox
 *   record's envelope as `audit.sealed.outbox` for the change values.
 *
 * Markers carry the key id so that SQL readers (audit.readable()) can tell
 * an erased field from an encrypted one without the envelope.
 * Format v1 (one ciphertext per field, field-cipher.ts) stays readable.
 */
import { createCipheriv, createDecipheriv, type CipherKey } from 'node:crypto';
import { nextIv, IV_BYTES, TAG_BYTES } from './field-cipher.js';

/** The attribute holding a record's own envelope. */
export const SEALED_ATTRIBUTE = 'audit.sealed';
/** The attribute holding the outbox record's envelope in a merged row. */
export const SEALED_OUTBOX_ATTRIBUTE = 'audit.sealed.outbox';
/** Every attribute that may hold an envelope. */
export const ENVELOPE_ATTRIBUTES: readonly string[] = [SEALED_ATTRIBUTE, SEALED_OUTBOX_ATTRIBUTE];

const PREFIX = 'enc:v2:';

/** An envelope as stored, parsed. */
export interface Envelope {
  kid: string;
  iv: string;
  ct: string;
}

/** A jsonb column's marker. */
export interface JsonMarker {
  enc: 'v2';
  kid: string;
  /** The attribute holding the envelope, when not {@link SEALED_ATTRIBUTE}. */
  in?: string;
}

function aad(kid: string, context: string): Buffer {
  return Buffer.from(`otel-audit record\0v2\0${kid}\0${context}`);
}

/**
 * The envelope text of `fields` (column name → value) for the record
 * `context` ({@link recordContext}). `dataKey` may be a KeyObject (cheaper
 * per call than the bytes, which the cipher imports each time).
 */
export function sealFields(dataKey: CipherKey, kid: string, fields: Record<string, unknown>, context: string): string {
  const iv = nextIv();
  const c = createCipheriv('aes-256-gcm', dataKey, iv);
  c.setAAD(aad(kid, context));
  const head = c.update(JSON.stringify(fields), 'utf8');
  const ct = Buffer.concat([head, c.final(), c.getAuthTag()]);
  return `${PREFIX}${kid}:${iv.toString('base64url')}:${ct.toString('base64url')}`;
}

/** The fields an envelope holds; throws when the ciphertext, key or record do not match. */
export function openEnvelope(dataKey: CipherKey, e: Envelope, context: string): Record<string, unknown> {
  const ct = Buffer.from(e.ct, 'base64url');
  if (ct.length < TAG_BYTES) throw new Error('envelope too short');
  const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(e.iv, 'base64url'));
  d.setAAD(aad(e.kid, context));
  d.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  const text = Buffer.concat([d.update(ct.subarray(0, ct.length - TAG_BYTES)), d.final()]).toString('utf8');
  const fields = JSON.parse(text) as unknown;
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new Error('envelope holds no fields');
  return fields as Record<string, unknown>;
}

/** The envelope a stored attribute value holds, if it is one. */
export function parseEnvelope(v: unknown): Envelope | undefined {
  if (typeof v !== 'string' || !v.startsWith(PREFIX)) return undefined;
  const parts = v.slice(PREFIX.length).split(':');
  if (parts.length !== 3) return undefined;
  const [kid, iv, ct] = parts as [string, string, string];
  return kid && iv.length === Math.ceil((IV_BYTES * 4) / 3) && ct ? { kid, iv, ct } : undefined;
}

/** A text column's marker. */
export function textMarker(kid: string): string {
  return `${PREFIX}${kid}`;
}

/** A jsonb column's marker (in: the envelope attribute, when not the record's own). */
export function jsonMarker(kid: string, inAttribute?: string): JsonMarker {
  return inAttribute === undefined || inAttribute === SEALED_ATTRIBUTE ? { enc: 'v2', kid } : { enc: 'v2', kid, in: inAttribute };
}

/** Where a stored column value's field is, when it is a v2 marker: its key id and envelope attribute. */
export function parseMarker(v: unknown): { kid: string; in: string } | undefined {
  if (typeof v === 'string') {
    if (!v.startsWith(PREFIX)) return undefined;
    const kid = v.slice(PREFIX.length);
    return kid !== '' && !kid.includes(':') ? { kid, in: SEALED_ATTRIBUTE } : undefined;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o['enc'] !== 'v2' || typeof o['kid'] !== 'string' || o['kid'] === '') return undefined;
    const at = o['in'];
    if (at === undefined) return { kid: o['kid'], in: SEALED_ATTRIBUTE };
    return typeof at === 'string' && ENVELOPE_ATTRIBUTES.includes(at) ? { kid: o['kid'], in: at } : undefined;
  }
  return undefined;
}

/** Re-points a jsonb marker at another envelope attribute (a value that is no marker is returned as it is). */
export function markerIn(v: unknown, inAttribute: string): unknown {
  const m = parseMarker(v);
  return m && typeof v === 'object' ? jsonMarker(m.kid, inAttribute) : v;
}
