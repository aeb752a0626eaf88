/**
 * Crypto-shredding: `otel-audit erase` destroys a subject's data keys. The
 * records stay as stored (append-only, sealed): their encrypted fields can
 * no longer be decrypted by anyone, so exports show them erased while every
 * other column remains and the digest chain still verifies. The erasure is
 * recorded as an `audit.erase` record naming the subject by blind index.
 *
 * A rotation of the key-encryption key (`otel-audit erase --rewrap-to`) is
 * recorded the same way, as an `audit.erase` record on the resource
 * `key-encryption-key` (the reserved operation of the key store): who, when,
 * how many keys were re-wrapped, the fingerprints of both KEKs — never a key.
 */
import { blindIndex } from '../crypto/blind-index.js';
import type { SubjectMode } from '../crypto/encryption-config.js';
import type { KeyProvider } from '../crypto/kek.js';
import { loadIndexKey } from '../crypto/index-key.js';
import { rewrapKeysIn, type RewrapResult } from '../crypto/rewrap.js';
import { checkKek, eraseSubject } from '../crypto/subject-keys.js';
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';

export interface EraseOptions {
  kek: KeyProvider;
  /** The actor id (or tenant id, with mode `tenant`) whose data is erased. */
  subject: string;
  /** Whether `subject` is an actor or a tenant; undefined: whichever has a data key (an error when both have). */
  mode: SubjectMode | undefined;
  /** Who erases, for the audit.erase record. */
  actor: string | null;
}

export interface EraseResult {
  /** Whose key was erased: the mode given, or the one found (null: none given and nothing found). */
  mode: SubjectMode | null;
  /** The subject's blind index, as the audit.erase record names it (null when nothing was ever encrypted). */
  subjectIndex: string | null;
  /** The data keys destroyed (none: the subject had no key, nothing was done). */
  erasedKeys: string[];
  /** The audit.erase record, when something was erased. */
  auditRecordId: string | null;
}

const DOMAINS = { actor: 'subject:actor', tenant: 'subject:tenant' } as const;

/** The mode whose blind index of `subject` has a live data key; null when neither has; an error when both have. */
async function findMode(db: Queryable, indexKey: Buffer, subject: string): Promise<SubjectMode | null> {
  const candidates = (['actor', 'tenant'] as const).map((mode) => ({ mode, index: blindIndex(indexKey, DOMAINS[mode], subject) }));
  const { rows } = await db.query<{ subject_index: string }>(
    'SELECT DISTINCT subject_index FROM audit.subject_keys WHERE subject_index = ANY($1::text[]) AND erased_at IS NULL',
    [candidates.map((c) => c.index)],
  );
  const found = candidates.filter((c) => rows.some((r) => r.subject_index === c.index));
  if (found.length > 1) throw new Error(`${JSON.stringify(subject)} has data keys both as an actor and as a tenant: say which with --subject-type actor or --subject-type tenant`);
  return found[0]?.mode ?? null;
}

export async function eraseRecords(db: Database, options: EraseOptions): Promise<EraseResult> {
  // A wrong key would compute another blind index and find nothing: refuse it first.
  await checkKek(db, options.kek);
  const indexKey = await loadIndexKey(db, options.kek, false);
  // No blind-index key: nothing was ever encrypted.
  if (!indexKey) return { mode: options.mode ?? null, subjectIndex: null, erasedKeys: [], auditRecordId: null };
  return db.transaction(async (tx) => {
    const mode = options.mode ?? (await findMode(tx, indexKey, options.subject));
    if (mode === null) return { mode, subjectIndex: null, erasedKeys: [], auditRecordId: null };
    const subjectIndex = blindIndex(indexKey, DOMAINS[mode], options.subject);
    const erasedKeys = await eraseSubject(tx, subjectIndex);
    if (erasedKeys.length === 0) return { mode, subjectIndex, erasedKeys, auditRecordId: null };
    const attributes = { subject_mode: mode, subject_index: subjectIndex, keys: erasedKeys, kek_id: options.kek.id };
    const { rows } = await tx.query<{ id: string }>(
      "SELECT audit.log_operation('audit.erase', $1, 'subject', $2, 'success', $3::jsonb)::text AS id",
      [options.actor, subjectIndex, JSON.stringify(attributes)],
    );
    return { mode, subjectIndex, erasedKeys, auditRecordId: rows[0]?.id ?? null };
  });
}

/** The resource type of the operation record of a rotation. */
export const KEK_RESOURCE = 'key-encryption-key';

export interface RotateOptions {
  /** The key-encryption key the stored keys are wrapped by. */
  kek: KeyProvider;
  /** The one they are re-wrapped with. */
  next: KeyProvider;
  /** Who rotates, for the operation record. */
  actor: string | null;
}

export interface RotateResult extends RewrapResult {
  /** The operation record, when a key was re-wrapped (none when all were under the new KEK already). */
  auditRecordId: string | null;
}

/**
 * Rotates the key-encryption key (crypto/rewrap.ts) and records it, in one
 * transaction: an `audit.erase` record on the resource `key-encryption-key`
 * (its id the new KEK's fingerprint) with the number of keys re-wrapped.
 */
export async function rotateKek(db: Database, options: RotateOptions): Promise<RotateResult> {
  return db.transaction(async (tx) => {
    const r = await rewrapKeysIn(tx, options.kek, options.next);
    if (r.rewrapped === 0) return { ...r, auditRecordId: null };
    const attributes = {
      operation: 'rewrap',
      kek_id: options.next.id,
      previous_kek_id: options.kek.id,
      rewrapped_keys: r.rewrapped,
      data_keys: r.dataKeys,
      index_keys: r.indexKeys,
      already_current: r.current,
    };
    const { rows } = await tx.query<{ id: string }>(
      "SELECT audit.log_operation('audit.erase', $1, $2, $3, 'success', $4::jsonb)::text AS id",
      [options.actor, KEK_RESOURCE, options.next.id, JSON.stringify(attributes)],
    );
    return { ...r, auditRecordId: rows[0]?.id ?? null };
  });
}
