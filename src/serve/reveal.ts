/**
 * Encrypted personal fields as the viewer shows them: in clear to a token
 * with `decrypt` on a server that has the key-encryption key; otherwise as
 * `[encrypted]`, or `[erased]` once the subject's key is destroyed (known
 * from audit.subject_keys without the key). Never fails for a field.
 */
import { blindIndex } from '../crypto/blind-index.js';
import { loadIndexKey } from '../crypto/index-key.js';
import type { KeyProvider } from '../crypto/kek.js';
import { kidsOf, revealRecord } from '../crypto/record-reader.js';
import { readerKeys } from '../crypto/subject-keys.js';
import type { Transaction } from '../db/database.js';
import type { Viewer } from './access.js';
import type { RecordFilter } from './filters.js';

/** The key-encryption key this viewer may use, if any. */
export function viewerKek(kek: KeyProvider | undefined, viewer: Viewer): KeyProvider | undefined {
  return viewer.token.decrypt === true ? kek : undefined;
}

/** The records (column names as keys) with their encrypted fields revealed or masked; changed in place. */
export async function revealRecords<T extends object>(tx: Transaction, kek: KeyProvider | undefined, records: T[]): Promise<T[]> {
  const rows = records as unknown as Record<string, unknown>[];
  const kids = kidsOf(rows);
  if (kids.length === 0) return records;
  const keys = await readerKeys(tx, kek, kids);
  for (const r of rows) revealRecord(r, keys);
  return records;
}

/** The filter, its actor id also matched by blind index when the viewer may use the key and records were encrypted. */
export async function withActorIndex(tx: Transaction, kek: KeyProvider | undefined, filter: RecordFilter): Promise<RecordFilter> {
  const actor = filter.exact.actor_id;
  if (kek === undefined || actor === undefined) return filter;
  const indexKey = await loadIndexKey(tx, kek, false);
  return indexKey ? { ...filter, actorIndex: blindIndex(indexKey, 'actor_id', actor) } : filter;
}
