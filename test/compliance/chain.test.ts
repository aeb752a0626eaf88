/**
 * Tamper evidence: seal, verify, and tampering as a superuser (bypassing the
 * append-only trigger) is detected and located.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/contract/canonical.js';
import { canonicalRow, digestHash, GENESIS_HASH, loadDigestKey, rowHash, ROW_SELECT, rowValue, type DigestBody, type RowText } from '../../src/compliance/digest.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify, type FindingKind, type VerifyReport } from '../../src/compliance/verify.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { tempDir } from '../helpers/app-process.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';
import { seedRecords } from '../helpers/records.js';

/** Run SQL as the superuser with triggers off: how an attacker with full access tampers. */
async function tamper(db: Database, sql: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await tx.exec(sql);
  });
}

const kinds = (r: VerifyReport): [FindingKind, string | number | undefined][] =>
  r.findings.map((f) => [f.kind, f.recordId ?? f.digestId]);

let b: TestBackend;
let db: Database;

describe.each(['postgres', 'pglite'] as const)('seal and verify (%s)', (backend) => {
  beforeEach(async () => {
    b = await openTestBackend(backend);
    db = b.db;
    await migrate(db);
  });
  afterEach(async () => {
    await b?.teardown();
  });

  it('a fresh chain verifies; an empty period is sealed too', async () => {
    await seedRecords(db, 30);
    const first = await sealOnce(db, { settleMs: 0, maxRows: 12 });
    expect(first.locked).toBe(true);
    expect(first.digests.map((d) => [d.firstId, d.lastId, d.rowCount])).toEqual([
      ['1', '12', 12],
      ['13', '24', 12],
      ['25', '30', 6],
    ]);
    await new Promise((r) => setTimeout(r, 5));
    const empty = await sealOnce(db, { settleMs: 0 });
    expect(empty.digests.map((d) => [d.firstId, d.lastId, d.rowCount])).toEqual([['31', '30', 0]]);
    const report = await verify(db);
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checkedRows).toBe(30);
    expect(report.digests).toHaveLength(4);
    expect(report.lastSealedId).toBe('30');
    // Newer rows are reported as not sealed yet, not as findings.
    await seedRecords(db, 3, 30);
    const later = await verify(db);
    expect(later.ok).toBe(true);
    expect(later.unsealedRows).toBe(3);
  });

  it('a row is hashed over the RFC 8785 form of its columns', async () => {
    await seedRecords(db, 8);
    const { rows } = await db.query<RowText>(`SELECT ${ROW_SELECT} FROM audit.records ORDER BY records.id`);
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      const value = rowValue(row);
      expect(canonicalRow(row)).toBe(canonicalJson(value));
      expect(rowHash(row).toString('hex')).toBe(createHash('sha256').update(canonicalJson(value)).digest('hex'));
    }
    // Every column takes part: the id, a timestamp to the microsecond, a value deep inside jsonb.
    const first = rows[0] as RowText;
    expect(Object.keys(rowValue(first))).toHaveLength(29);
    expect(first['occurred_at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(canonicalRow(first)).toContain('"request":{"body":{"amount":0.1,"none":null,"note":"héllo €"}}');
  });

  it('the chain is what the digests say: first link from genesis, each hash over its fields', async () => {
    await seedRecords(db, 5);
    await sealOnce(db, { settleMs: 0 });
    const { rows } = await db.query<DigestBody & { hash: string; row_count: number }>(
      `SELECT kind, first_id::text, last_id::text, to_char(sealed_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sealed_from,
              to_char(sealed_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sealed_to, row_count::int AS row_count,
              records_hash, dropped_ids::text, dropped_partition, prev_hash, hash FROM audit.digests`,
    );
    const d = rows[0] as DigestBody & { hash: string };
    expect(d.prev_hash).toBe(GENESIS_HASH);
    const { hash, ...body } = d;
    expect(digestHash(body)).toBe(hash);
  });

  it('UPDATE of one field of one row is found, by id', async () => {
    await seedRecords(db, 20);
    await sealOnce(db, { settleMs: 0 });
    await tamper(db, `UPDATE audit.records SET outcome = 'success' WHERE id = 5`);
    const r = await verify(db);
    expect(r.ok).toBe(false);
    expect(kinds(r)).toEqual([['edited_row', '5']]);
  });

  it('an edit inside a jsonb value is found', async () => {
    await seedRecords(db, 20);
    await sealOnce(db, { settleMs: 0 });
    await tamper(db, `UPDATE audit.records SET request = jsonb_set(request, '{body,amount}', '99') WHERE id = 7`);
    expect(kinds(await verify(db))).toEqual([['edited_row', '7']]);
  });

  it('DELETE of one row is found, by id', async () => {
    await seedRecords(db, 20);
    await sealOnce(db, { settleMs: 0 });
    await tamper(db, 'DELETE FROM audit.records WHERE id = 11');
    expect(kinds(await verify(db))).toEqual([['deleted_row', '11']]);
  });

  it('INSERT of one row into a sealed range is found, by id', async () => {
    await seedRecords(db, 10);
    // An id the sequence handed out but no committed row holds (a rolled-back insert).
    await db
      .transaction(async (tx) => {
        await seedRecordsTx(tx);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await seedRecords(db, 10, 100);
    await sealOnce(db, { settleMs: 0 });
    const { rows } = await db.query<{ id: string }>(
      `SELECT g::text AS id FROM generate_series(1, 21) g WHERE NOT EXISTS (SELECT 1 FROM audit.records WHERE id = g) LIMIT 1`,
    );
    const hole = rows[0]?.id as string;
    expect(hole).toBe('11');
    await tamper(
      db,
      `INSERT INTO audit.records (id, trace_id, span_id, occurred_at, service_name, actor_type, action, outcome)
       OVERRIDING SYSTEM VALUE VALUES (${hole}, md5('forged'), substr(md5('forged'), 1, 16), now() - interval '30 minutes', 'billing', 'user', 'invoice.delete', 'success')`,
    );
    expect(kinds(await verify(db))).toEqual([['inserted_row', hole]]);
  });

  it('ids reordered (two rows swap ids) are found: both rows', async () => {
    await seedRecords(db, 10);
    await sealOnce(db, { settleMs: 0 });
    await tamper(
      db,
      `CREATE TEMP TABLE swap AS SELECT * FROM audit.records WHERE id IN (3, 4);
       DELETE FROM audit.records WHERE id IN (3, 4);
       INSERT INTO audit.records (id, trace_id, span_id, occurred_at, received_at, service_name, module, actor_id, actor_name, actor_type,
         tenant_id, action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip, user_agent,
         duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq)
       OVERRIDING SYSTEM VALUE
       SELECT 7 - id, trace_id, span_id, occurred_at, received_at, service_name, module, actor_id, actor_name, actor_type,
         tenant_id, action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip, user_agent,
         duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq FROM swap;`,
    );
    expect(kinds(await verify(db))).toEqual([
      ['edited_row', '3'],
      ['edited_row', '4'],
    ]);
  });

  it('an edited digest is found (its hash no longer matches), and so is the broken link after a re-hash', async () => {
    await seedRecords(db, 20);
    await sealOnce(db, { settleMs: 0, maxRows: 10 });
    await tamper(db, `UPDATE audit.digests SET row_count = 9 WHERE id = 1`);
    const r = await verify(db);
    expect(r.findings.map((f) => [f.kind, f.digestId])).toContainEqual(['digest_altered', 1]);
    expect(r.digests.find((d) => d.id === 1)?.ok).toBe(false);
    // Re-computing the edited digest's hash moves the break to the next link.
    await tamper(db, `UPDATE audit.digests SET hash = repeat('a', 64) WHERE id = 1`);
    const r2 = await verify(db);
    expect(r2.findings.map((f) => [f.kind, f.digestId])).toContainEqual(['chain_broken', 2]);
  });

  it('a deleted digest is found: the chain breaks there and its ids are covered by no digest', async () => {
    await seedRecords(db, 30);
    await sealOnce(db, { settleMs: 0, maxRows: 10 });
    await tamper(db, 'DELETE FROM audit.digests WHERE id = 2');
    const r = await verify(db);
    expect(r.findings.map((f) => [f.kind, f.digestId])).toEqual([
      ['chain_broken', 3],
      ['range_gap', 3],
    ]);
    expect(r.findings[1]?.message).toContain('11..20');
  });

  it('a row edited together with its sealed row hash is still found, for the digest', async () => {
    await seedRecords(db, 10);
    await sealOnce(db, { settleMs: 0 });
    await tamper(
      db,
      `UPDATE audit.records SET actor_id = 'mallory' WHERE id = 2;
       UPDATE audit.digests SET row_hashes = overlay(row_hashes placing '\\x00' from 50 for 1) WHERE id = 1;`,
    );
    expect(kinds(await verify(db))).toEqual([['row_list_altered', 1]]);
  });

  it('signed digests: a chain forged end to end verifies without the key and fails with it', async () => {
    const dir = tempDir('keys');
    try {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      writeFileSync(join(dir.path, 'private.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(join(dir.path, 'public.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      const signing = loadDigestKey(join(dir.path, 'private.pem'));
      const checking = loadDigestKey(join(dir.path, 'public.pem'));
      expect(checking.id).toBe(signing.id);
      await seedRecords(db, 10);
      await sealOnce(db, { settleMs: 0, key: signing });
      expect((await verify(db, { keys: [checking] })).ok).toBe(true);

      // The attacker rewrites a row, its row hash, records_hash and the digest hash consistently.
      await tamper(db, `UPDATE audit.records SET outcome = 'success' WHERE id = 5`);
      const rows = (await db.query<{ row_hashes: Uint8Array }>('SELECT row_hashes FROM audit.digests WHERE id = 1')).rows;
      const { rowHash, ROW_SELECT, sha256Hex } = await import('../../src/compliance/digest.js');
      const row = (await db.query<Record<string, string | null>>(`SELECT ${ROW_SELECT} FROM audit.records WHERE id = 5`)).rows[0];
      const list = Buffer.from(rows[0]?.row_hashes as Uint8Array);
      rowHash(row as Record<string, string | null>).copy(list, 4 * 40 + 8);
      const d = (
        await db.query<DigestBody & { hash: string }>(
          `SELECT kind, first_id::text, last_id::text, NULL AS sealed_from,
                  to_char(sealed_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sealed_to, row_count::int AS row_count,
                  records_hash, dropped_ids::text, dropped_partition, prev_hash, hash FROM audit.digests WHERE id = 1`,
        )
      ).rows[0] as DigestBody & { hash: string };
      const forged: DigestBody = { ...d, records_hash: sha256Hex(list) };
      delete (forged as Partial<DigestBody & { hash: string }>).hash;
      await db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await tx.query('UPDATE audit.digests SET row_hashes = $1, records_hash = $2, hash = $3 WHERE id = 1', [list, forged.records_hash, digestHash(forged)]);
      });
      expect((await verify(db)).ok).toBe(true); // undetectable from inside the database alone
      const r = await verify(db, { keys: [checking] });
      expect(kinds(r)).toEqual([['bad_signature', 1]]);
    } finally {
      dir.remove();
    }
  });

  it('HMAC-signed digests verify with the secret and fail with another one', async () => {
    const dir = tempDir('keys');
    try {
      writeFileSync(join(dir.path, 'secret'), 'a-secret-of-at-least-16-bytes\n');
      writeFileSync(join(dir.path, 'other'), 'another-secret-of-16-bytes\n');
      await seedRecords(db, 3);
      await sealOnce(db, { settleMs: 0, key: loadDigestKey(join(dir.path, 'secret')) });
      expect((await verify(db, { keys: [loadDigestKey(join(dir.path, 'secret'))] })).ok).toBe(true);
      expect(kinds(await verify(db, { keys: [loadDigestKey(join(dir.path, 'other'))] }))).toEqual([['bad_signature', 1]]);
    } finally {
      dir.remove();
    }
  });
});

/** One row inside a transaction that is then rolled back (its id is used up). */
async function seedRecordsTx(tx: { query: Database['query'] }): Promise<void> {
  await tx.query(
    `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome)
     VALUES (md5('gone'), substr(md5('gone'), 1, 16), now(), 'billing', 'user', 'invoice.read', 'success')`,
  );
}

describe('RFC 8785 canonical JSON', () => {
  it('orders members by UTF-16 code units and spells numbers and strings as the RFC does', () => {
    // The example of RFC 8785 section 3.2.2.
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    // Section 3.2.3: sorting by UTF-16 code units.
    const sorted = canonicalJson({ '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh', '1': 'One', '\ud83d\ude00': 'Emoji: Grinning Face', '\u0080': 'Control', '\u00f6': 'Latin Small Letter O With Diaeresis' });
    expect([...sorted.matchAll(/:"([^"]*)"/g)].map((m) => m[1])).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('refuses values JSON has no form for', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson({ a: 1n })).toThrow();
  });
});
