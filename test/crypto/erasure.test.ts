/**
 * Crypto-shredding end to end: records through a real sink into the
 * database with personal fields encrypted, back out through export with the
 * key-encryption key, erased, and the digest chain verifying throughout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { loadKeyProvider, type KeyProvider } from '../../src/crypto/kek.js';
import { rewrapKeys } from '../../src/crypto/rewrap.js';
import { startSink } from '../../src/sink/sink.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { ALICE, BOB, exportPersonal, newKeyFile as keyFileIn, personalFields as expected, personalRecord as record, withoutCiphertexts, type Person } from '../helpers/personal-records.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

const ALL_COLUMNS = Object.keys(ENCRYPTABLE).join(',');

let t: TestSink | undefined;
let dir: string;
let kek: KeyProvider;
let keyFile: string;

const newKeyFile = (name: string): string => keyFileIn(dir, name);
const exportJsonl = (name: string, options: { kek?: KeyProvider; actors?: string[] } = {}): Promise<Record<string, unknown>[]> =>
  exportPersonal((t as TestSink).sink.db, dir, name, options);

describe.each(['postgres', 'pglite'] as const)('encrypted personal fields (%s)', (backend) => {
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-erasure-'));
    keyFile = newKeyFile('kek');
    kek = loadKeyProvider({ file: keyFile }) as KeyProvider;
    t = await startTestSink(backend, { encryptionKeyFile: keyFile, encryptColumns: ALL_COLUMNS, sealIntervalMs: 0, ...(backend === 'pglite' ? { env: {} } : {}) });
  });
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips every column, finds actors by blind index, erases a subject, and the chain verifies before and after', async () => {
    const sink = t as TestSink;
    const answer = await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2), record(ALICE, 3)]));
    expect(answer).toEqual({ status: 200, rejected: 0, message: '' });
    // A redelivery is a duplicate, not a conflict, although every ciphertext differs.
    expect(await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1)]))).toEqual({ status: 200, rejected: 0, message: '' });

    const stored = await sink.rows("service_name = 'write-path'");
    expect(stored).toHaveLength(3);
    const text = withoutCiphertexts(JSON.stringify(stored));
    expect(text).toContain('enc:v2:…');
    for (const clear of ['alice', 'bob', '203.0.113.7', '2001:db8::42', 'u-1', 'u-2', 'Mozilla']) expect(text).not.toContain(clear);
    for (const row of stored) {
      // One envelope per record, markers naming its key in the columns.
      const kid = (row['actor_name'] as string).slice('enc:v2:'.length);
      expect(row['actor_name']).toMatch(/^enc:v2:[^:]+$/);
      expect(row['user_agent']).toBe(`enc:v2:${kid}`);
      expect(row['client_ip']).toBeNull();
      expect(row['request']).toEqual({ enc: 'v2', kid });
      expect((row['attributes'] as Record<string, unknown>)['audit.sealed']).toMatch(new RegExp(`^enc:v2:${kid}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$`));
      expect(row['action']).toBe('user.update');
    }
    expect(await sink.rejected()).toEqual([]);

    await sealOnce(sink.sink.db, { settleMs: 0 });
    expect((await verify(sink.sink.db)).ok).toBe(true);

    // With the key: every column in clear.
    const clear = await exportJsonl('clear.jsonl', { kek });
    expect(clear.map((r) => r['resource_id'])).toEqual(['1', '2', '3']);
    const people = [ALICE, BOB, ALICE];
    clear.forEach((r, i) => expect(r).toMatchObject(expected(people[i] as Person, i + 1)));
    expect((clear[0] as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty('audit.client_ip.encrypted');
    expect((clear[0] as { attributes: Record<string, unknown> }).attributes).not.toHaveProperty('audit.sealed');
    // Without it: as stored, and no failure.
    const sealed = await exportJsonl('sealed.jsonl');
    expect(sealed[0]?.['actor_name']).toMatch(/^enc:v2:/);
    // An equality filter on the encrypted actor id, by blind index.
    const alices = await exportJsonl('alice.jsonl', { kek, actors: ['u-1'] });
    expect(alices.map((r) => r['resource_id'])).toEqual(['1', '3']);

    const erased = await eraseRecords(sink.sink.db, { kek, subject: 'u-1', mode: 'actor', actor: 'dpo' });
    expect(erased.erasedKeys).toHaveLength(1);
    expect(erased.auditRecordId).not.toBeNull();
    const again = await eraseRecords(sink.sink.db, { kek, subject: 'u-1', mode: 'actor', actor: 'dpo' });
    expect(again).toMatchObject({ erasedKeys: [], auditRecordId: null });
    const op = await sink.rows("action = 'audit.erase'");
    expect(op).toHaveLength(1);
    expect(op[0]).toMatchObject({ resource_type: 'subject', resource_id: erased.subjectIndex, actor_id: 'dpo' });
    expect(JSON.stringify(op[0])).not.toContain('u-1');

    await sealOnce(sink.sink.db, { settleMs: 0 });
    const report = await verify(sink.sink.db);
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);

    const after = await exportJsonl('after.jsonl', { kek });
    const erasedFields = Object.fromEntries(Object.keys(ENCRYPTABLE).map((c) => [c, '[erased]']));
    expect(after[0]).toMatchObject({ ...erasedFields, action: 'user.update', resource_id: '1', outcome: 'success', trace_id: record(ALICE, 1).traceId });
    expect(after[1]).toMatchObject(expected(BOB, 2));
    expect(after[2]).toMatchObject(erasedFields);
    expect(JSON.stringify(after)).not.toContain('alice');

    // The subject's new records get a new key, readable until erased in turn.
    expect(await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 4)]))).toEqual({ status: 200, rejected: 0, message: '' });
    const later = await exportJsonl('later.jsonl', { kek });
    expect(later[3]).toMatchObject(expected(ALICE, 4));

    // Rotation: a new KEK re-wraps the keys; no record changes, indexes still match.
    const before = await sink.rows("service_name = 'write-path'");
    const next = loadKeyProvider({ file: newKeyFile('next') }) as KeyProvider;
    expect(await rewrapKeys(sink.sink.db, kek, next)).toEqual({ rewrapped: 3, dataKeys: 2, indexKeys: 1, current: 0 });
    expect(await sink.rows("service_name = 'write-path'")).toEqual(before);
    const rotated = await exportJsonl('rotated.jsonl', { kek: next, actors: ['u-2'] });
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject(expected(BOB, 2));
    await expect(exportJsonl('old-key.jsonl', { kek })).rejects.toThrow(/wrapped by the key-encryption key [0-9a-f]{16}, not by the one given/);
    await sealOnce(sink.sink.db, { settleMs: 0 });
    expect((await verify(sink.sink.db)).ok).toBe(true);
  });

  it('verify detects a ciphertext that was altered', async () => {
    const sink = t as TestSink;
    await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2)]));
    await sealOnce(sink.sink.db, { settleMs: 0 });
    const rows = await sink.rows("service_name = 'write-path'");
    const [a, b] = rows as [Record<string, unknown>, Record<string, unknown>];
    await sink.sink.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      // Bob's name marker moved onto Alice's record: well-formed, but not what was sealed.
      await tx.query('UPDATE audit.records SET actor_name = $1 WHERE id = $2', [b['actor_name'], a['id']]);
    });
    const report = await verify(sink.sink.db);
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => [f.kind, f.recordId])).toEqual([['edited_row', String(a['id'])]]);
    // And it does not read as anybody's name: the marker names another key than the record's envelope.
    const clear = await exportJsonl('tampered.jsonl', { kek });
    expect(clear[0]?.['actor_name']).toBe('[undecryptable]');
    expect(clear[0]?.['user_agent']).toBe(ALICE.agent);
  });

  it('verify detects an envelope that was altered or moved, and it does not decrypt', async () => {
    const sink = t as TestSink;
    await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2), record(BOB, 3)]));
    await sealOnce(sink.sink.db, { settleMs: 0 });
    const rows = await sink.rows("service_name = 'write-path'");
    const [a, b, c] = rows as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
    const envelopeOf = (r: Record<string, unknown>): string => (r['attributes'] as Record<string, string>)['audit.sealed'] as string;
    // One character of the ciphertext changed in Alice's record (still base64url);
    // Bob's second record gets the envelope of his first (same key, another record).
    const altered = envelopeOf(a).slice(0, -3) + (envelopeOf(a).at(-3) === 'A' ? 'B' : 'A') + envelopeOf(a).slice(-2);
    await sink.sink.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      const set = "UPDATE audit.records SET attributes = jsonb_set(attributes, '{audit.sealed}', to_jsonb($1::text)) WHERE id = $2";
      await tx.query(set, [altered, a['id']]);
      await tx.query(set, [envelopeOf(b), c['id']]);
    });
    const report = await verify(sink.sink.db);
    expect(report.findings.map((f) => [f.kind, f.recordId]).sort()).toEqual(
      [
        ['edited_row', String(a['id'])],
        ['edited_row', String(c['id'])],
      ].sort(),
    );
    const clear = await exportJsonl('tampered.jsonl', { kek });
    for (const i of [0, 2]) {
      for (const column of ['actor_name', 'client_ip', 'user_agent', 'request']) expect(clear[i]?.[column], `${i} ${column}`).toBe('[undecryptable]');
    }
    expect(clear[1]).toMatchObject(expected(BOB, 2));
  });
});

describe('the key-encryption key', () => {
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong or missing key stops the start with a clear error, before any batch', async () => {
    dir = mkdtempSync(join(tmpdir(), 'otel-audit-erasure-'));
    keyFile = newKeyFile('kek');
    t = await startTestSink('postgres', { encryptionKeyFile: keyFile });
    await postLogs(t.httpEndpoint, logsRequest([record(ALICE, 1)]));
    const url = t.url as string;
    await t.sink.close();
    const other = newKeyFile('other');
    const base = { databaseUrl: url, grpcPort: 0, httpPort: 0, metricsPort: 0, logLevel: 'silent' };
    await expect(startSink({ ...base, encryptionKeyFile: other })).rejects.toThrow(/wrapped by the key-encryption key [0-9a-f]{16}, not by the one given/);
    await expect(startSink({ ...base, encryptionKeyFile: join(dir, 'missing') })).rejects.toThrow(/cannot read the encryption key file .*missing/);
    writeFileSync(join(dir, 'short'), 'abc\n');
    await expect(startSink({ ...base, encryptionKeyFile: join(dir, 'short') })).rejects.toThrow(/must be 32 bytes/);
    // The right key starts.
    const again = await startSink({ ...base, encryptionKeyFile: keyFile });
    await again.close();
  });
});
