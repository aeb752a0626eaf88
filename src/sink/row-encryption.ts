/**
 * Encrypting a batch's rows before they are written (both write methods):
 * each configured column under the data key of the row's subject (its actor,
 * or its tenant), and the blind index of the actor id in the attributes, so
 * that the stored row — what the digest chain hashes — holds no clear
 * personal data. Keys are read (or created) once per batch, never cached:
 * a subject erased meanwhile gets a new key for its new records.
 */
import { blindIndex } from '../crypto/blind-index.js';
import { ACTOR_INDEX_ATTRIBUTE, CLIENT_IP_ATTRIBUTE, ENCRYPTABLE, type EncryptionConfig } from '../crypto/encryption-config.js';
import { encryptField, recordContext, sealedToJson, sealedToText } from '../crypto/field-cipher.js';
import { liveKeys } from '../crypto/subject-keys.js';
import type { Queryable } from '../db/types.js';
import type { AuditRow } from './row.js';

export class RowEncryptor {
  constructor(
    readonly config: EncryptionConfig,
    /** The blind-index key (index-key.ts); also keys the rows' content hashes. */
    readonly indexKey: Buffer,
  ) {}

  /** The subject index of a row (the blind index of its actor id or tenant id; '' when it has none). */
  subjectOf(row: AuditRow): string {
    const { subject } = this.config;
    const value = subject === 'tenant' ? row.tenantId : row.actorId;
    return blindIndex(this.indexKey, subject === 'tenant' ? 'subject:tenant' : 'subject:actor', value ?? '');
  }

  /** The rows encrypted (new objects; the originals are left as they are). */
  async encrypt(db: Queryable, rows: readonly AuditRow[]): Promise<AuditRow[]> {
    const subjects = rows.map((r) => this.subjectOf(r));
    const keys = await liveKeys(db, this.config.kek, [...new Set(subjects)]);
    return rows.map((row, i) => {
      const { kid, key } = keys.get(subjects[i] as string) as { kid: string; key: Buffer };
      const out: AuditRow = { ...row, attributes: { ...row.attributes } };
      const context = recordContext(row.traceId, row.spanId);
      if (row.actorId !== null) out.attributes[ACTOR_INDEX_ATTRIBUTE] = blindIndex(this.indexKey, 'actor_id', row.actorId);
      for (const column of this.config.columns) {
        const { type, field } = ENCRYPTABLE[column];
        const value: unknown = row[field];
        if (value === null || value === undefined) continue;
        const sealed = encryptField(key, kid, column, value, context);
        if (type === 'jsonb') (out as unknown as Record<string, unknown>)[field] = sealedToJson(sealed);
        else if (type === 'text') (out as unknown as Record<string, unknown>)[field] = sealedToText(sealed);
        else {
          out.clientIp = null;
          out.attributes[CLIENT_IP_ATTRIBUTE] = sealedToText(sealed);
        }
      }
      return out;
    });
  }
}
