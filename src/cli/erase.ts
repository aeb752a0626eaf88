/** `otel-audit erase`: crypto-shredding of one subject's personal data. */
import { userInfo } from 'node:os';
import { eraseRecords, KEK_RESOURCE, rotateKek } from '../compliance/erase.js';
import { SUBJECT_MODES, type SubjectMode } from '../crypto/encryption-config.js';
import { loadKeyProvider, type KeyProvider } from '../crypto/kek.js';
import { DATABASE_HELP, parseDbCommand, usageError, withCliDatabase } from './database.js';
import { encryptionKeySource } from './encryption-key.js';

const HELP = `Usage: otel-audit erase --subject ID [options]
       otel-audit erase --rewrap-to NEW_KEY_FILE [options]

Erase the personal data of one subject from the records the sink stored
encrypted (otel-audit sink --encryption-key-file): destroys the subject's
data keys in audit.subject_keys. The records themselves are not changed
(they are append-only and sealed): their encrypted fields can no longer be
decrypted, so exports show them as "[erased]" while every other column
remains, and otel-audit verify still passes. The erasure is recorded as an
"audit.erase" record naming the subject by its blind index, never in clear.
Records of the subject that arrive later get a new key. Without
--subject-type, ID is erased as whichever of actor or tenant has a data key
(both: an error asking which).

With --rewrap-to, nothing is erased: the key-encryption key is rotated.
Every stored key (data keys not erased, and the blind-index key) is
unwrapped with the current KEK and wrapped with the one in NEW_KEY_FILE, in
one transaction; no record is rewritten, blind indexes keep matching and the
digest chain is untouched. The rotation is recorded in the same
transaction as an "audit.erase" record on the resource "${KEK_RESOURCE}"
(who, when, how many keys, the fingerprints of both KEKs; never a key).
Stop the sinks first and start them again with the new key (a sink holding
the old key would have its batches refused).

Options:
  --subject ID              the actor id, or the tenant id (sinks run with
                            --encryption-subject tenant)
  --subject-type actor|tenant  what the sink's data keys are per (its
                            --encryption-subject; default: whichever of the
                            two has a data key for ID)
  --encryption-key-file FILE  the key-encryption key (env:
                            OTEL_AUDIT_ENCRYPTION_KEY_FILE,
                            OTEL_AUDIT_SINK_ENCRYPTION_KEY_FILE; or the key in
                            OTEL_AUDIT_ENCRYPTION_KEY, OTEL_AUDIT_SINK_ENCRYPTION_KEY)
  --rewrap-to FILE          rotate: re-wrap every key with the KEK in FILE
  --as NAME                 who erases or rotates, for the audit.erase record
                            (default: OS user)
  --json                    print the result as JSON
${DATABASE_HELP}
  -h, --help                show this help

Needs the audit_admin role (or the schema owner). Exit status: 0 erased, or
nothing to erase (the subject has no key); 1 failure; 2 bad usage.
`;

export async function eraseCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseDbCommand(
    'erase',
    argv,
    {
      subject: { type: 'string' },
      'subject-type': { type: 'string' },
      'encryption-key-file': { type: 'string' },
      'rewrap-to': { type: 'string' },
      as: { type: 'string' },
      json: { type: 'boolean' },
    },
    HELP,
  );
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const subject = values.subject;
  const rewrapTo = values['rewrap-to'];
  if (rewrapTo !== undefined && subject !== undefined) return usageError('erase', '--subject and --rewrap-to exclude each other');
  if (rewrapTo === undefined && (subject === undefined || subject === '')) return usageError('erase', '--subject ID is required');
  const mode = values['subject-type'] as SubjectMode | undefined;
  if (mode !== undefined && !SUBJECT_MODES.includes(mode)) return usageError('erase', `--subject-type must be one of ${SUBJECT_MODES.join(', ')}`);
  let kek;
  try {
    kek = loadKeyProvider(encryptionKeySource(values['encryption-key-file']));
  } catch (err) {
    return usageError('erase', (err as Error).message);
  }
  if (!kek) return usageError('erase', 'the key-encryption key is needed to find the subject: --encryption-key-file FILE (or OTEL_AUDIT_ENCRYPTION_KEY_FILE)');
  const actor = values.as ?? userInfo().username;
  if (rewrapTo !== undefined) return rewrap(kek, rewrapTo, actor, values['database-url'], values['data-dir'], values.json === true);
  return withCliDatabase('erase', values['database-url'], values['data-dir'], async (db) => {
    const result = await eraseRecords(db, { kek, subject: subject as string, mode, actor });
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (result.erasedKeys.length === 0) {
      const whom = result.mode ?? mode ?? 'actor or tenant';
      process.stdout.write(`nothing to erase: no data key for ${whom} ${JSON.stringify(subject)} (never seen encrypted, or erased already)\n`);
    } else {
      process.stdout.write(
        `erased ${result.mode ?? ''} ${(result.subjectIndex ?? '').slice(0, 16)}…: ${result.erasedKeys.length} data key(s) destroyed; recorded as audit.erase record ${result.auditRecordId ?? '?'}\n`,
      );
    }
    return 0;
  });
}

async function rewrap(kek: KeyProvider, file: string, actor: string, url: string | undefined, dataDir: string | undefined, json: boolean): Promise<number> {
  let next;
  try {
    next = loadKeyProvider({ file });
  } catch (err) {
    return usageError('erase', `--rewrap-to: ${(err as Error).message}`);
  }
  if (!next) return usageError('erase', '--rewrap-to needs a key file');
  return withCliDatabase('erase', url, dataDir, async (db) => {
    const r = await rotateKek(db, { kek, next, actor });
    if (json) process.stdout.write(`${JSON.stringify({ kekId: next.id, previousKekId: kek.id, ...r }, null, 2)}\n`);
    else {
      process.stdout.write(
        `re-wrapped ${r.rewrapped} key(s) with the key-encryption key ${next.id}; ${r.current} were under it already; no record was rewritten` +
          (r.auditRecordId === null ? '\n' : `; recorded as audit.erase record ${r.auditRecordId}\n`),
      );
    }
    return 0;
  });
}
