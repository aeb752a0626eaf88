/**
 * Format v1 of encrypted fields (one ciphertext per field), as sinks before
 * format v2 stored them: written here so that tests can hold such records
 * and prove they stay readable (src/crypto/field-cipher.ts reads them).
 */
import { createCipheriv, type CipherKey } from 'node:crypto';
import { fieldAad, nextIv, type Sealed } from '../../src/crypto/field-cipher.js';

export function encryptFieldV1(dataKey: CipherKey, kid: string, column: string, value: unknown, context: string): Sealed {
  const iv = nextIv();
  const c = createCipheriv('aes-256-gcm', dataKey, iv);
  c.setAAD(fieldAad(column, kid, context));
  const ct = Buffer.concat([c.update(JSON.stringify(value), 'utf8'), c.final(), c.getAuthTag()]);
  return { kid, iv: iv.toString('base64url'), ct: ct.toString('base64url') };
}

export function sealedToTextV1(s: Sealed): string {
  return `enc:v1:${s.kid}:${s.iv}:${s.ct}`;
}

export function sealedToJsonV1(s: Sealed): { enc: 'v1'; kid: string; iv: string; ct: string } {
  return { enc: 'v1', ...s };
}
