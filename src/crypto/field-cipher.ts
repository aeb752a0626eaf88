/**
 * Encrypted column values, format v1 (one ciphertext per field), as records
 * stored before format v2 (record-cipher.ts) hold them; read, no longer
 * written. AES-256-GCM under a subject's data key, with the column name, the
 * key id and the record (its trace and span ids) as associated data: a
 * ciphertext moved to another column or record does not decrypt.
 *
 * - text columns hold `enc:v1:<kid>:<iv>:<ciphertext+tag>` (base64url);
 * - jsonb columns hold `{"enc":"v1","kid":…,"iv":…,"ct":…}`;
 * - an inet column cannot hold ciphertext: it is stored NULL and its text
 *   form goes into the record's attributes (`audit.client_ip.encrypted`).
 *
 * Also what both formats share: the record context and the IVs.
 */
import { createDecipheriv, randomFillSync, type CipherKey } from 'node:crypto';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
const TEXT_PREFIX = 'enc:v1:';

export interface Sealed {
  kid: string;
  iv: string;
  ct: string;
}

/** The record a field belongs to, as bound into its ciphertext: its trace and span ids. */
export function recordContext(traceId: unknown, spanId: unknown): string {
  return `${String(traceId)}/${String(spanId)}`;
}

/** The associated data of a v1 field. */
export function fieldAad(column: string, kid: string, context: string): Buffer {
  return Buffer.from(`otel-audit field\0${column}\0${kid}\0${context}`);
}

/** Random IVs drawn from the CSPRNG in blocks: one call per 1,024 IVs instead of one per field. */
const ivPool = Buffer.alloc(IV_BYTES * 1024);
let ivAt = ivPool.length;

export function nextIv(): Buffer {
  if (ivAt >= ivPool.length) {
    randomFillSync(ivPool);
    ivAt = 0;
  }
  ivAt += IV_BYTES;
  // A view of the pool: used (copied by the cipher, encoded) before the pool is refilled.
  return ivPool.subarray(ivAt - IV_BYTES, ivAt);
}

/** The value back; throws when the ciphertext, key or column do not match. */
export function decryptField(dataKey: CipherKey, column: string, s: Sealed, context: string): unknown {
  const ct = Buffer.from(s.ct, 'base64url');
  const d = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(s.iv, 'base64url'));
  d.setAAD(fieldAad(column, s.kid, context));
  d.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  return JSON.parse(Buffer.concat([d.update(ct.subarray(0, ct.length - TAG_BYTES)), d.final()]).toString('utf8')) as unknown;
}

/** The sealed value a stored text or jsonb value holds, if it is one. */
export function parseSealed(v: unknown): Sealed | undefined {
  if (typeof v === 'string') {
    if (!v.startsWith(TEXT_PREFIX)) return undefined;
    const [kid, iv, ct] = v.slice(TEXT_PREFIX.length).split(':');
    return kid && iv && ct ? { kid, iv, ct } : undefined;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (o['enc'] === 'v1' && typeof o['kid'] === 'string' && typeof o['iv'] === 'string' && typeof o['ct'] === 'string') {
      return { kid: o['kid'], iv: o['iv'], ct: o['ct'] };
    }
  }
  return undefined;
}
