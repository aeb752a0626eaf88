/**
 * The blind-index key (audit.index_keys): random, made by the first sink that
 * encrypts, wrapped by the KEK. Kept apart from the KEK so that a new KEK
 * (rotation) re-wraps it and every stored blind index still matches.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import type { KeyProvider } from './kek.js';
import { unwrapKey } from './subject-keys.js';

const NAME = 'blind-index';

/** The blind-index key; created when `create` and there is none, else undefined (nothing was ever encrypted). */
export async function loadIndexKey(db: Queryable, kek: KeyProvider, create: boolean): Promise<Buffer | undefined> {
  const read = async (): Promise<Buffer | undefined> => {
    const { rows } = await db.query<{ wrapped_key: Buffer; kek_id: string }>('SELECT wrapped_key, kek_id FROM audit.index_keys WHERE name = $1', [NAME]);
    const r = rows[0];
    return r ? unwrapKey(kek, NAME, r.kek_id, r.wrapped_key) : undefined;
  };
  const found = await read();
  if (found || !create) return found;
  await db.query('INSERT INTO audit.index_keys (name, wrapped_key, kek_id) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
    NAME,
    kek.wrap(randomBytes(32)),
    kek.id,
  ]);
  return read();
}
