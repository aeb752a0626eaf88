/**
 * Erasure reaches a running sink's memory: the data keys it unwrapped and
 * keeps between batches are dropped once they are erased.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { resolveEncryption } from '../../src/crypto/encryption-config.js';
import { loadIndexKey } from '../../src/crypto/index-key.js';
import type { AuditRow } from '../../src/sink/row.js';
import { FORGET_ERASED_INTERVAL_MS, RowEncryptor } from '../../src/sink/row-encryption.js';
import { ALICE, BOB, newKeyFile, type Person } from '../helpers/personal-records.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let t: TestSink | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.stop();
  t = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The fields of a row the encryptor reads (the rest of a stored row plays no part in it). */
function row(p: Person, n: number): AuditRow {
  const partial = {
    traceId: `${'ab'.repeat(15)}${n.toString(16).padStart(2, '0')}`,
    spanId: `${'cd'.repeat(7)}${n.toString(16).padStart(2, '0')}`,
    actorId: p.id,
    actorName: p.name,
    tenantId: null,
    clientIp: p.ip,
    userAgent: p.agent,
    urlPath: `/users/${n}`,
    request: null,
    changeBefore: null,
    changeAfter: null,
    attributes: {},
  };
  return partial as unknown as AuditRow;
}

const kidOf = (stored: AuditRow): string => (stored.actorName as string).split(':')[2] as string;

it('a data key erased while the sink runs leaves its memory at the next check; other subjects keep theirs', async () => {
  dir = mkdtempSync(join(tmpdir(), 'otel-audit-key-cache-'));
  const keyFile = newKeyFile(dir, 'kek');
  t = await startTestSink('postgres', { encryptionKeyFile: keyFile, sealIntervalMs: 0 });
  const db = t.sink.db;
  const encryption = resolveEncryption({ file: keyFile });
  if (!encryption) throw new Error('no encryption configuration');
  const encryptor = new RowEncryptor(encryption, (await loadIndexKey(db, encryption.kek, true)) as Buffer);

  const [alice, bob] = await encryptor.encrypt(db, [row(ALICE, 1), row(BOB, 2)]);
  const aliceKid = kidOf(alice as AuditRow);
  const bobKid = kidOf(bob as AuditRow);
  expect(encryptor.holdsKey(aliceKid)).toBe(true);
  expect(encryptor.holdsKey(bobKid)).toBe(true);

  // A second sink's encryptor remembers Alice's key between batches too.
  const second = new RowEncryptor(encryption, (await loadIndexKey(db, encryption.kek, true)) as Buffer);
  const [alice1] = await second.encrypt(db, [row(ALICE, 5)]);
  expect(kidOf(alice1 as AuditRow)).toBe(aliceKid);

  await eraseRecords(db, { kek: encryption.kek, subject: ALICE.id, mode: 'actor', actor: 'dpo' });
  // Its very next batch sees the erasure, before any memory check: a new key for Alice, the old one gone.
  const [alice6] = await second.encrypt(db, [row(ALICE, 6)]);
  expect(kidOf(alice6 as AuditRow)).not.toBe(aliceKid);
  expect(second.holdsKey(aliceKid)).toBe(false);
  // Before the interval has passed nothing is checked; after it, the erased key is gone.
  expect(await encryptor.forgetErased(db, Date.now())).toBe(0);
  expect(await encryptor.forgetErased(db, Date.now() + FORGET_ERASED_INTERVAL_MS + 1)).toBe(1);
  expect(encryptor.holdsKey(aliceKid)).toBe(false);
  expect(encryptor.holdsKey(bobKid)).toBe(true);

  // Alice's next record is encrypted under a new key; Bob's under the one he had.
  const [alice2, bob2] = await encryptor.encrypt(db, [row(ALICE, 3), row(BOB, 4)]);
  expect(kidOf(alice2 as AuditRow)).not.toBe(aliceKid);
  expect(kidOf(bob2 as AuditRow)).toBe(bobKid);
});
