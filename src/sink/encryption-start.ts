/**
 * What a starting sink does about encryption. With a key: check that it
 * unwraps the stored keys (a wrong key fails the start, never a batch) and
 * build the row encryptor. Without one: refuse a database that holds
 * encrypted personal data, which this sink would go on storing in clear,
 * unless told so (`--no-encryption`).
 */
import type { Logger } from 'pino';
import type { EncryptionConfig } from '../crypto/encryption-config.js';
import { loadIndexKey } from '../crypto/index-key.js';
import { checkKek } from '../crypto/subject-keys.js';
import type { Queryable } from '../db/types.js';
import { RowEncryptor } from './row-encryption.js';

/** Data keys in audit.subject_keys (live or erased) and whether a blind-index key exists: what shows that encryption was used. */
async function encryptionTraces(db: Queryable): Promise<{ dataKeys: number; indexKey: boolean }> {
  const { rows } = await db.query<{ data_keys: string | null; index_key: boolean | null }>(
    `SELECT CASE WHEN to_regclass('audit.subject_keys') IS NOT NULL THEN (SELECT count(*) FROM audit.subject_keys)::text END AS data_keys,
            CASE WHEN to_regclass('audit.index_keys') IS NOT NULL THEN EXISTS (SELECT 1 FROM audit.index_keys) END AS index_key`,
  );
  const r = rows[0];
  return { dataKeys: Number(r?.data_keys ?? 0), indexKey: r?.index_key === true };
}

/** The message of a sink without a key on a database that holds encrypted personal data. */
export function plaintextRefusal(dataKeys: number): string {
  return (
    `this database holds encrypted personal data (${dataKeys} data key(s) in audit.subject_keys), and this sink has no ` +
    'key-encryption key: it would store the personal fields of new records in clear. Start it with --encryption-key-file FILE ' +
    '(or OTEL_AUDIT_SINK_ENCRYPTION_KEY_FILE) to go on encrypting, or with --no-encryption (OTEL_AUDIT_SINK_ENCRYPTION=false) ' +
    'to store them in clear on purpose'
  );
}

/**
 * The row encryptor of a sink with a key; undefined without one. `wanted`
 * is the `encryption` option: `false` allows clear storage into an encrypted
 * database (with a warning), `true` requires a key. Throws with the reason.
 */
export async function startEncryption(db: Queryable, encryption: EncryptionConfig | undefined, wanted: boolean | undefined, log: Logger): Promise<RowEncryptor | undefined> {
  if (encryption) {
    if (wanted === false) throw new Error('--no-encryption and an encryption key (--encryption-key-file, --encryption-key) exclude each other');
    // A key that does not unwrap the stored keys fails the start, never a batch.
    const live = await checkKek(db, encryption.kek);
    const encryptor = new RowEncryptor(encryption, (await loadIndexKey(db, encryption.kek, true)) as Buffer);
    log.info({ kek: encryption.kek.id, columns: encryption.columns, subject: encryption.subject, subjects: live }, 'encrypting personal fields');
    return encryptor;
  }
  if (wanted === true) throw new Error('--encryption needs the key-encryption key: --encryption-key-file FILE (or OTEL_AUDIT_SINK_ENCRYPTION_KEY_FILE)');
  const traces = await encryptionTraces(db);
  if (traces.dataKeys === 0 && !traces.indexKey) return undefined;
  if (wanted === false) {
    log.warn({ dataKeys: traces.dataKeys }, 'storing personal fields in clear (--no-encryption) although this database holds encrypted ones');
    return undefined;
  }
  const message = plaintextRefusal(traces.dataKeys);
  log.error({ dataKeys: traces.dataKeys }, message);
  throw new Error(message);
}
