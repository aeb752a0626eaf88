/**
 * Encrypted personal fields through the query API: in clear to a token with
 * "decrypt" on a server with the key-encryption key; "[encrypted]" to every
 * other token and on a server without the key; "[erased]" after erasure,
 * with and without the key; the actor filter by blind index; the export
 * endpoint likewise; and the audit.view records saying what was decrypted.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { ENCRYPTABLE } from '../../src/crypto/encryption-config.js';
import { startServe, type ServeServer } from '../../src/serve/server.js';
import { tokenHash, type TokenSpec } from '../../src/serve/tokens.js';
import { ALICE, ALL_COLUMNS, BOB, expected, record, startEncryptedSink, type EncryptedSink } from '../crypto/people.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { adminQuery } from '../helpers/pg.js';

const suffix = randomBytes(4).toString('hex');
const ROLE = `t_enc_auditor_${suffix}`;
const CLEAR = `token-clear-${suffix}-0123456789`;
const MASKED = `token-masked-${suffix}-0123456789`;
const tokens: TokenSpec[] = [
  { name: 'dpo', sha256: tokenHash(CLEAR), role: ROLE, decrypt: true },
  { name: 'support', sha256: tokenHash(MASKED), role: ROLE },
];

let e: EncryptedSink;
let withKey: ServeServer;
let withoutKey: ServeServer;

beforeAll(async () => {
  e = await startEncryptedSink('postgres', { encryptColumns: ALL_COLUMNS });
  expect(await postLogs(e.sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2), record(ALICE, 3)]))).toMatchObject({ status: 200, rejected: 0 });
  await adminQuery(`CREATE ROLE ${ROLE} IN ROLE audit_auditor`);
  const base = { databaseUrl: e.sink.url as string, env: {}, host: '127.0.0.1', port: 0, tokens, log: () => undefined };
  withKey = await startServe({ ...base, kek: e.kek });
  withoutKey = await startServe(base);
}, 60_000);

afterAll(async () => {
  await withKey?.close();
  await withoutKey?.close();
  await e?.stop();
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
});

async function fetchText(server: ServeServer, path: string, token: string, init: RequestInit = {}): Promise<string> {
  const res = await fetch(`${server.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  expect(res.status, text).toBeLessThan(300);
  return text;
}

async function api<T = Record<string, unknown>>(server: ServeServer, path: string, token: string, init: RequestInit = {}): Promise<T> {
  return JSON.parse(await fetchText(server, path, token, init)) as T;
}

type Row = Record<string, unknown>;
const WRITES = 'action=user.update';

/** The listed records by resource id (1, 2, 3), each with its detail's record. */
async function read(server: ServeServer, token: string, query = WRITES): Promise<{ list: Row[]; details: { record: Row; diff: Row }[] }> {
  const page = await api<{ records: Row[] }>(server, `/api/records?${query}`, token);
  const list = page.records.sort((a, b) => String(a['resource_id']).localeCompare(String(b['resource_id'])));
  const details = await Promise.all(list.map((r) => api<{ record: Row; diff: Row }>(server, `/api/records/${String(r['id'])}`, token)));
  return { list, details };
}

const LISTED = ['actor_id', 'actor_name', 'url_path'] as const;
const all = (value: string): Row => Object.fromEntries(Object.keys(ENCRYPTABLE).map((c) => [c, value]));
const listed = (value: string): Row => Object.fromEntries(LISTED.map((c) => [c, value]));
const pick = (r: Row, columns: readonly string[]): Row => Object.fromEntries(columns.map((c) => [c, r[c]]));

async function exportText(server: ServeServer, token: string, format: string): Promise<string> {
  const made = await api<{ download: string }>(server, `/api/exports?from=2025-01-01&to=2100-01-01&${WRITES}&format=${format}`, token, { method: 'POST' });
  return fetchText(server, made.download, token);
}

describe('encrypted fields in the query API', () => {
  it('reads in clear only with the key and the decrypt permission; else as "[encrypted]", never the ciphertext', async () => {
    const clear = await read(withKey, CLEAR);
    expect(clear.list.map((r) => r['resource_id'])).toEqual(['1', '2', '3']);
    const people = [ALICE, BOB, ALICE];
    clear.list.forEach((r, i) => expect(r).toMatchObject(pick(expected(people[i] as typeof ALICE, i + 1), LISTED)));
    clear.details.forEach((d, i) => expect(d.record).toMatchObject(expected(people[i] as typeof ALICE, i + 1)));
    expect(clear.details[0]?.record['attributes']).not.toHaveProperty('audit.client_ip.encrypted');
    expect(clear.details[0]?.diff).toEqual({
      entries: [
        { path: 'name', kind: 'changed', before: 'alice-old', after: 'alice' },
        { path: 'tags', kind: 'added', after: ['x', 1] },
      ],
      truncated: false,
    });
    expect(await api(withKey, '/api/session', CLEAR)).toMatchObject({ decrypt: true });

    for (const [server, token] of [[withKey, MASKED], [withoutKey, CLEAR], [withoutKey, MASKED]] as const) {
      const masked = await read(server, token);
      expect(JSON.stringify(masked)).not.toMatch(/enc:v\d|"enc"|audit\.sealed|alice|bob/);
      for (const r of masked.list) expect(r).toMatchObject({ ...listed('[encrypted]'), action: 'user.update', outcome: 'success', service_name: 'write-path' });
      for (const d of masked.details) {
        expect(d.record).toMatchObject({ ...all('[encrypted]'), action: 'user.update', resource_type: 'user' });
        expect(d.diff).toEqual({ entries: [], truncated: false, unreadable: '[encrypted]' });
      }
      expect(await api(server, '/api/session', token)).toMatchObject({ decrypt: false });
    }

    // What each token saw is recorded.
    const { rows } = await e.sink.sink.db.query<{ actor_id: string; decrypted: boolean }>(
      "SELECT actor_id, (attributes ->> 'decrypted')::boolean AS decrypted FROM audit.records WHERE action = 'audit.view' AND attributes ->> 'kind' IN ('search', 'record')",
    );
    expect(new Set(rows.filter((r) => r.decrypted).map((r) => r.actor_id))).toEqual(new Set(['dpo']));
    expect(rows.filter((r) => r.decrypted)).toHaveLength(4);
    expect(rows.filter((r) => !r.decrypted)).toHaveLength(12);
  });

  it('filters by an encrypted actor id through its blind index, for a token that may use the key', async () => {
    const ids = async (server: ServeServer, token: string): Promise<unknown[]> =>
      (await api<{ records: Row[] }>(server, `/api/records?${WRITES}&actor_id=u-1`, token)).records.map((r) => r['resource_id']).sort();
    expect(await ids(withKey, CLEAR)).toEqual(['1', '3']);
    expect(await ids(withKey, MASKED)).toEqual([]);
    expect(await ids(withoutKey, CLEAR)).toEqual([]);
    const counted = async (server: ServeServer, token: string): Promise<number> =>
      (await api<{ rows: { count: number }[] }>(server, `/api/stats?${WRITES}&actor_id=u-1&from=2025-11-01&to=2025-12-01&bucket=day`, token)).rows.reduce((n, r) => n + r.count, 0);
    expect(await counted(withKey, CLEAR)).toBe(2);
    expect(await counted(withKey, MASKED)).toBe(0);
  });

  it('exports through the viewer in clear or masked, as the token may', async () => {
    for (const format of ['jsonl', 'csv', 'ocsf']) {
      const clear = await exportText(withKey, CLEAR, format);
      expect(clear).toContain('alice');
      expect(clear).not.toContain('[encrypted]');
      for (const [server, token] of [[withKey, MASKED], [withoutKey, CLEAR]] as const) {
        const masked = await exportText(server, token, format);
        expect(masked).toContain('[encrypted]');
        expect(masked).not.toMatch(/enc:v\d|alice|bob|203\.0\.113\.7/);
      }
    }
  });

  it('after erasure shows the subject\'s fields as "[erased]", with and without the key, every other column intact', async () => {
    await eraseRecords(e.sink.sink.db, { kek: e.kek, subject: 'u-1', mode: 'actor', actor: 'dpo' });
    const clear = await read(withKey, CLEAR);
    expect(clear.details[0]?.record).toMatchObject({ ...all('[erased]'), action: 'user.update', resource_id: '1', outcome: 'success', trace_id: record(ALICE, 1).traceId });
    expect(clear.details[0]?.diff).toMatchObject({ entries: [], unreadable: '[erased]' });
    expect(clear.details[1]?.record).toMatchObject(expected(BOB, 2));
    expect(clear.details[2]?.record).toMatchObject(all('[erased]'));
    for (const [server, token] of [[withKey, MASKED], [withoutKey, CLEAR]] as const) {
      const masked = await read(server, token);
      expect(masked.list.map((r) => pick(r, LISTED))).toEqual([listed('[erased]'), listed('[encrypted]'), listed('[erased]')]);
      expect(masked.details.map((d) => d.record['client_ip'])).toEqual(['[erased]', '[encrypted]', '[erased]']);
      expect(masked.details[0]?.record).toMatchObject({ resource_id: '1', action: 'user.update', http_method: null, outcome: 'success' });
      expect(await exportText(server, token, 'csv')).toContain('[erased]');
    }
  });
});
