/**
 * Key-encryption keys (KEK): what wraps the per-subject data keys of
 * audit.subject_keys. A {@link KeyProvider} wraps and unwraps data keys and
 * derives the blind-index key; the local provider here holds a 256-bit key
 * read from a file or an environment variable. A cloud KMS would be another
 * implementation of the same interface.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface KeyProvider {
  /** Identifies the KEK (stored with every wrapped key): a fingerprint, never the key. */
  readonly id: string;
  wrap(dataKey: Buffer): Buffer;
  /** Throws when the wrapped key was not wrapped by this KEK. */
  unwrap(wrapped: Buffer): Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A 256-bit key written as 64 hex digits, as base64, or as 32 raw bytes. */
export function parseKek(raw: Buffer, where: string): Buffer {
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  if (raw.length === KEY_BYTES) return raw;
  throw new Error(`${where}: the encryption key must be 32 bytes: 64 hex digits, base64 of 32 bytes, or 32 raw bytes (e.g. "openssl rand -hex 32")`);
}

/** The local provider: AES-256-GCM key wrapping with the KEK. */
export function localKeyProvider(kek: Buffer): KeyProvider {
  const id = createHash('sha256').update('otel-audit kek id\0').update(kek).digest('hex').slice(0, 16);
  return {
    id,
    wrap(dataKey) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', kek, iv);
      c.setAAD(Buffer.from(`otel-audit data key\0${id}`));
      const ct = Buffer.concat([c.update(dataKey), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), ct]);
    },
    unwrap(wrapped) {
      const d = createDecipheriv('aes-256-gcm', kek, wrapped.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(`otel-audit data key\0${id}`));
      d.setAuthTag(wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(wrapped.subarray(IV_BYTES + TAG_BYTES)), d.final()]);
    },
  };
}

/** Where a KEK comes from: a file, or the key itself (from an environment variable). */
export interface KekSource {
  file?: string | undefined;
  key?: string | undefined;
}

/** The provider for a source; undefined when it names no key. Throws with a clear message on an unreadable or malformed key. */
export function loadKeyProvider(source: KekSource): KeyProvider | undefined {
  if (source.file !== undefined && source.file !== '') {
    let raw: Buffer;
    try {
      raw = readFileSync(source.file);
    } catch (err) {
      throw new Error(`cannot read the encryption key file ${source.file}: ${(err as Error).message}`, { cause: err });
    }
    return localKeyProvider(parseKek(raw, source.file));
  }
  if (source.key !== undefined && source.key !== '') return localKeyProvider(parseKek(Buffer.from(source.key), 'the encryption key variable'));
  return undefined;
}
