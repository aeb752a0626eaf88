/**
 * Crypto-shredding: `otel-audit erase` destroys a subject's data keys. The
 * records stay as stored (append-only, sealed): their encrypted fields can
 * no longer be decrypted by anyone, so exports show them erased while every
 * other column remains and the digest chain still verifies. The erasure is
 * recorded as an `audit.erase` record naming the subject by blind index.
 */
import { blindIndex } from '../crypto/blind-index.js';
import type { SubjectMode } from '../crypto/encryption-config.js';
import type { KeyProvider } from '../crypto/kek.js';
import { loadIndexKey } from '../crypto/index-key.js';
import { checkKek, eraseSubject } from '../crypto/subject-keys.js';
import type { Database } from '../db/database.js';

export interface EraseOptions {
  kek: KeyProvider;
  /** The actor id (or tenant id, with mode `tenant`) whose data is erased. */
  subject: string;
  mode: SubjectMode;
  /** Who erases, for the audit.erase record. */
  actor: string | null;
}

export interface EraseResult {
  /** The subject's blind index, as the audit.erase record names it (null when nothing was ever encrypted). */
  subjectIndex: string | null;
  /** The data keys destroyed (none: the subject had no key, nothing was done). */
  erasedKeys: string[];
  /** The audit.erase record, when something was erased. */
  auditRecordId: string | null;
}

export async function eraseRecords(db: Database, options: EraseOptions): Promise<EraseResult> {
  // A wrong key would compute another blind index and find nothing: refuse it first.
  await checkKek(db, options.kek);
  const indexKey = await loadIndexKey(db, options.kek, false);
  // No blind-index key: nothing was ever encrypted.
  if (!indexKey) return { subjectIndex: null, erasedKeys: [], auditRecordId: null };
  const subjectIndex = blindIndex(indexKey, options.mode === 'tenant' ? 'subject:tenant' : 'subject:actor', options.subject);
  return db.transaction(async (tx) => {
    const erasedKeys = await eraseSubject(tx, subjectIndex);
    if (erasedKeys.length === 0) return { subjectIndex, erasedKeys, auditRecordId: null };
    const attributes = { subject_mode: options.mode, subject_index: subjectIndex, keys: erasedKeys, kek_id: options.kek.id };
    const { rows } = await tx.query<{ id: string }>(
      "SELECT audit.log_operation('audit.erase', $1, 'subject', $2, 'success', $3::jsonb)::text AS id",
      [options.actor, subjectIndex, JSON.stringify(attributes)],
    );
    return { subjectIndex, erasedKeys, auditRecordId: rows[0]?.id ?? null };
  });
}
