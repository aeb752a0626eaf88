/**
 * Rotation of the key-encryption key: every stored key (the data keys not
 * erased, and the blind-index key) unwrapped with the old KEK and wrapped
 * with the new one, in one transaction. No record is read or rewritten: the
 * ciphertexts, the blind indexes and the digest chain stay as they are.
 * Keys already under the new KEK are left alone, so a run can be repeated.
 */
import type { Database } from '../db/database.js';
import type { Queryable } from '../db/types.js';
import type { KeyProvider } from './kek.js';
import { unwrapKey } from './subject-keys.js';

export interface RewrapResult {
  /** Keys re-wrapped (data keys and the blind-index key). */
  rewrapped: number;
  /** Of them: data keys (audit.subject_keys). */
  dataKeys: number;
  /** Of them: the blind-index key (audit.index_keys), 0 or 1. */
  indexKeys: number;
  /** Keys that were under the new KEK already. */
  current: number;
}

export async function rewrapKeys(db: Database, oldKek: KeyProvider, newKek: KeyProvider): Promise<RewrapResult> {
  if (oldKek.id === newKek.id) throw new Error('the new key-encryption key is the old one');
  return db.transaction((tx) => rewrapKeysIn(tx, oldKek, newKek));
}

/** {@link rewrapKeys} within the caller's transaction (which may record the rotation in the same commit). */
export async function rewrapKeysIn(tx: Queryable, oldKek: KeyProvider, newKek: KeyProvider): Promise<RewrapResult> {
  if (oldKek.id === newKek.id) throw new Error('the new key-encryption key is the old one');
  const result: RewrapResult = { rewrapped: 0, dataKeys: 0, indexKeys: 0, current: 0 };
  for (const table of [
    { name: 'audit.subject_keys', id: 'kid', live: 'wrapped_key IS NOT NULL', count: 'dataKeys' as const },
    { name: 'audit.index_keys', id: 'name', live: 'true', count: 'indexKeys' as const },
  ]) {
    const { rows } = await tx.query<{ id: string; wrapped_key: Buffer; kek_id: string }>(
      `SELECT ${table.id} AS id, wrapped_key, kek_id FROM ${table.name} WHERE ${table.live} ORDER BY ${table.id} FOR UPDATE`,
    );
    for (const r of rows) {
      if (r.kek_id === newKek.id) {
        result.current++;
        continue;
      }
      const key = unwrapKey(oldKek, r.id, r.kek_id, r.wrapped_key);
      await tx.query(`UPDATE ${table.name} SET wrapped_key = $1, kek_id = $2 WHERE ${table.id} = $3`, [newKek.wrap(key), newKek.id, r.id]);
      result.rewrapped++;
      result[table.count]++;
    }
  }
  return result;
}
