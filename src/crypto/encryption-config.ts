/**
 * What the sink encrypts, under which subject's key, with which KEK.
 * Encryption is off unless a key is given.
 */
import { loadKeyProvider, type KekSource, type KeyProvider } from './kek.js';

/** Columns that can be encrypted, with their SQL type and the row field that fills them. */
export const ENCRYPTABLE = {
  actor_id: { type: 'text', field: 'actorId' },
  actor_name: { type: 'text', field: 'actorName' },
  client_ip: { type: 'inet', field: 'clientIp' },
  user_agent: { type: 'text', field: 'userAgent' },
  url_path: { type: 'text', field: 'urlPath' },
  request: { type: 'jsonb', field: 'request' },
  change_before: { type: 'jsonb', field: 'changeBefore' },
  change_after: { type: 'jsonb', field: 'changeAfter' },
} as const;

export type EncryptableColumn = keyof typeof ENCRYPTABLE;

export const DEFAULT_ENCRYPTED_COLUMNS: readonly EncryptableColumn[] = ['actor_name', 'client_ip', 'user_agent', 'request', 'change_before', 'change_after'];

/** Whose data key encrypts a record: its actor's (default) or its tenant's. */
export type SubjectMode = 'actor' | 'tenant';
export const SUBJECT_MODES: readonly SubjectMode[] = ['actor', 'tenant'];

/** Attribute holding the blind index of the record's actor id. */
export const ACTOR_INDEX_ATTRIBUTE = 'audit.actor.index';
/** Attribute holding the ciphertext of the client address (an inet column cannot hold it). */
export const CLIENT_IP_ATTRIBUTE = 'audit.client_ip.encrypted';

export interface EncryptionConfig {
  kek: KeyProvider;
  columns: readonly EncryptableColumn[];
  subject: SubjectMode;
}

export interface EncryptionOptions extends KekSource {
  /** Comma-separated column names; default {@link DEFAULT_ENCRYPTED_COLUMNS}. */
  columns?: string | undefined;
  subject?: string | undefined;
}

/** The configuration, or undefined when no key is given (encryption off). Throws with a clear message on bad input. */
export function resolveEncryption(options: EncryptionOptions): EncryptionConfig | undefined {
  const kek = loadKeyProvider(options);
  if (!kek) {
    if (options.columns !== undefined || options.subject !== undefined) throw new Error('encrypted columns or subject given without an encryption key (--encryption-key-file)');
    return undefined;
  }
  const columns = options.columns === undefined ? DEFAULT_ENCRYPTED_COLUMNS : parseColumns(options.columns);
  const subject = (options.subject ?? 'actor') as SubjectMode;
  if (!SUBJECT_MODES.includes(subject)) throw new Error(`encryption subject ${JSON.stringify(options.subject)} is not one of ${SUBJECT_MODES.join(', ')}`);
  return { kek, columns, subject };
}

function parseColumns(list: string): EncryptableColumn[] {
  const names = [...new Set(list.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  for (const n of names) {
    if (!(n in ENCRYPTABLE)) throw new Error(`column ${JSON.stringify(n)} cannot be encrypted; these can: ${Object.keys(ENCRYPTABLE).join(', ')}`);
  }
  return names as EncryptableColumn[];
}
