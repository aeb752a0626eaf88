/**
 * The data keys of audit.subject_keys: created on first use, one live key per
 * subject, unwrapped with the KEK; erased by setting the wrapped key NULL.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/types.js';
import type { KeyProvider } from './kek.js';
import { ENCRYPTED, UNDECRYPTABLE, type KeyState } from './record-reader.js';

export interface DataKey {
  kid: string;
  key: Buffer;
}

const DATA_KEY_BYTES = 32;

/**
 * The live data key of each subject index, created (wrapped by the KEK) when
 * a subject has none. With `unwrapped` (keys by kid), a key unwrapped before
 * is taken from it instead of being unwrapped again, and new ones are added;
 * the KEK id is checked either way.
 */
export async function liveKeys(db: Queryable, kek: KeyProvider, subjects: readonly string[], unwrapped?: Map<string, Buffer>): Promise<Map<string, DataKey>> {
  const out = new Map<string, DataKey>();
  if (subjects.length === 0) return out;
  const read = async (): Promise<string[]> => {
    const { rows } = await db.query<{ kid: string; subject_index: string; wrapped_key: Buffer; kek_id: string }>(
      'SELECT kid, subject_index, wrapped_key, kek_id FROM audit.subject_keys WHERE subject_index = ANY($1::text[]) AND erased_at IS NULL',
      [subjects],
    );
    for (const r of rows) {
      let key = r.kek_id === kek.id ? unwrapped?.get(r.kid) : undefined;
      if (key === undefined) {
        key = unwrapKey(kek, r.kid, r.kek_id, r.wrapped_key);
        unwrapped?.set(r.kid, key);
      }
      out.set(r.subject_index, { kid: r.kid, key });
    }
    return subjects.filter((s) => !out.has(s));
  };
  const missing = await read();
  if (missing.length === 0) return out;
  const kids = missing.map(() => randomBytes(8).toString('hex'));
  const wrapped = missing.map(() => kek.wrap(randomBytes(DATA_KEY_BYTES)));
  // Two sinks may create the same subject's key at once: the unique index keeps one, both read it back.
  await db.query(
    `INSERT INTO audit.subject_keys (kid, subject_index, wrapped_key, kek_id)
     SELECT k, s, w, $4 FROM unnest($1::text[], $2::text[], $3::bytea[]) AS t(k, s, w)
     ON CONFLICT (subject_index) WHERE erased_at IS NULL DO NOTHING`,
    [kids, missing, wrapped, kek.id],
  );
  const still = await read();
  if (still.length > 0) throw new Error(`no data key for ${still.length} subject(s) after creating them`);
  return out;
}

/** Unwraps a stored key; a key wrapped by another KEK is a clear error. */
export function unwrapKey(kek: KeyProvider, kid: string, kekId: string, wrapped: Buffer): Buffer {
  if (kekId !== kek.id) throw new Error(`data key ${kid} is wrapped by the key-encryption key ${kekId}, not by the one given (${kek.id})`);
  try {
    return kek.unwrap(wrapped);
  } catch {
    throw new Error(`data key ${kid} does not unwrap with the key-encryption key given (${kek.id}): wrong key`);
  }
}

/**
 * Every data key by kid, for reading: the key, or null when erased (or, with
 * `lenient`, when it does not unwrap with this KEK).
 */
export async function allKeys(db: Queryable, kek: KeyProvider): Promise<Map<string, Buffer | null>> {
  const { rows } = await db.query<{ kid: string; wrapped_key: Buffer | null; kek_id: string }>('SELECT kid, wrapped_key, kek_id FROM audit.subject_keys');
  const out = new Map<string, Buffer | null>();
  for (const r of rows) out.set(r.kid, r.wrapped_key === null ? null : unwrapKey(kek, r.kid, r.kek_id, r.wrapped_key));
  return out;
}

/**
 * What a reader holds of the data keys `kids` (every key when undefined),
 * by kid: with the KEK, the keys unwrapped (one that does not unwrap with it
 * reads as undecryptable, never an error); without it, {@link ENCRYPTED} for
 * each key not erased. Erased keys are null: erasure is known without the KEK.
 */
export async function readerKeys(db: Queryable, kek: KeyProvider | undefined, kids?: readonly string[]): Promise<Map<string, KeyState | null>> {
  const out = new Map<string, KeyState | null>();
  if (kids?.length === 0) return out;
  const { rows } = await db.query<{ kid: string; wrapped_key: Buffer | null; kek_id: string }>(
    `SELECT kid, ${kek ? 'wrapped_key' : "CASE WHEN wrapped_key IS NULL THEN NULL ELSE ''::bytea END AS wrapped_key"}, kek_id
       FROM audit.subject_keys${kids ? ' WHERE kid = ANY($1::text[])' : ''}`,
    kids ? [kids] : [],
  );
  for (const r of rows) {
    if (r.wrapped_key === null) out.set(r.kid, null);
    else if (!kek) out.set(r.kid, ENCRYPTED);
    else {
      try {
        out.set(r.kid, unwrapKey(kek, r.kid, r.kek_id, r.wrapped_key));
      } catch {
        out.set(r.kid, UNDECRYPTABLE);
      }
    }
  }
  return out;
}

/**
 * Checks at start that `kek` is the key the stored data keys were wrapped
 * by: one live key of each KEK id must unwrap. Throws a clear error
 * otherwise. Answers how many live keys there are.
 */
export async function checkKek(db: Queryable, kek: KeyProvider): Promise<number> {
  const { rows } = await db.query<{ kid: string; wrapped_key: Buffer; kek_id: string; n: string }>(
    `SELECT DISTINCT ON (kek_id) kid, wrapped_key, kek_id, count(*) OVER ()::text AS n
       FROM audit.subject_keys WHERE erased_at IS NULL ORDER BY kek_id, created_at`,
  );
  for (const r of rows) unwrapKey(kek, r.kid, r.kek_id, r.wrapped_key);
  return Number(rows[0]?.n ?? 0);
}

/** Destroys the live and past keys of a subject; answers the kids erased (none: the subject had no key). */
export async function eraseSubject(db: Queryable, subjectIndex: string): Promise<string[]> {
  const { rows } = await db.query<{ kid: string }>(
    'UPDATE audit.subject_keys SET wrapped_key = NULL, erased_at = now() WHERE subject_index = $1 AND erased_at IS NULL RETURNING kid',
    [subjectIndex],
  );
  return rows.map((r) => r.kid).sort();
}
