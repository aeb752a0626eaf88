/**
 * The dashboards over records whose personal fields the sink encrypted:
 * Grafana has no key, so every panel shows those fields as "[encrypted]",
 * or "[erased]" once the subject was erased, never the ciphertext; every
 * other column reads as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraseRecords } from '../../src/compliance/erase.js';
import { ALICE, BOB, record, startEncryptedSink, type EncryptedSink } from '../crypto/people.js';
import { logsRequest, postLogs } from '../helpers/otlp-logs.js';
import { connectReader, type Reader } from './dashboard-db.js';
import { loadDashboard, panelSql, variable, variableQuery } from './dashboard-model.js';
import { expandSql, type QueryOptions } from './grafana-query.js';

const d = loadDashboard('audit-overview.json');
/** Around the records' time (2025-11-21 12:00 UTC). */
const RANGE = { from: new Date('2025-11-21T11:00:00Z'), to: new Date('2025-11-21T13:00:00Z') };

let e: EncryptedSink;
let reader: Reader;
let ids: string[];

beforeAll(async () => {
  // The default encrypted columns: actor_name, client_ip, user_agent, request, change_before, change_after.
  e = await startEncryptedSink('postgres');
  const { sink } = e;
  expect(await postLogs(sink.httpEndpoint, logsRequest([record(ALICE, 1), record(BOB, 2)]))).toMatchObject({ status: 200, rejected: 0 });
  ids = (await sink.rows("service_name = 'write-path'")).map((r) => String(r['id']));
  await eraseRecords(sink.sink.db, { kek: e.kek, subject: ALICE.id, mode: 'actor', actor: 'dpo' });
  reader = await connectReader(sink.url as string);
}, 60_000);

afterAll(async () => {
  await reader?.end();
  await e?.stop();
});

async function run(title: string, o: Omit<QueryOptions, 'range'> = {}): Promise<Record<string, unknown>[]> {
  return (await reader.read(expandSql(d, panelSql(d, title).rawSql as string, { range: RANGE, ...o }))).rows;
}

const byField = (rows: Record<string, unknown>[], key: string, value: string): Record<string, unknown> =>
  Object.fromEntries(rows.map((r) => [String(r[key]), r[value]]));

describe('audit-overview over encrypted records', () => {
  it('Recent records and Top actors: names and addresses erased or encrypted, never ciphertext', async () => {
    const recent = (await run('Recent records')).filter((r) => r['action'] === 'user.update');
    expect(recent.map((r) => [r['resource'], r['actor'], r['client_ip'], r['path']])).toEqual([
      ['user/2', '[encrypted] (u-2)', '[encrypted]', '/users/2/bob'],
      ['user/1', '[erased] (u-1)', '[erased]', '/users/1/alice'],
    ]);
    const actors = await run('Top actors');
    expect(actors.map((r) => r['actor']).sort()).toEqual(['[encrypted] (u-2)', '[erased] (u-1)']);
    const values = (await reader.read(expandSql(d, variableQuery(variable(d, 'actor')) as string, { range: RANGE }))).rows;
    expect(values.map((r) => r['__text']).sort()).toEqual(['[encrypted] (u-2)', '[erased] (u-1)']);
  });

  it('Record, Change and Request panels of an erased subject show "[erased]"; other columns intact', async () => {
    const erased = { record: ids[0] as string };
    const fields = byField(await run('Record', { selection: erased }), 'field', 'value');
    expect(fields).toMatchObject({ actor_id: 'u-1', actor_name: '[erased]', client_ip: '[erased]', user_agent: '[erased]', action: 'user.update', resource_id: '1' });
    expect(await run('Change: before → after', { selection: erased })).toEqual([{ field: '(whole value)', before: '"[erased]"', after: '"[erased]"', change: 'unchanged' }]);
    const parts = byField(await run('Request, change and attributes', { selection: erased }), 'part', 'value');
    expect(parts).toMatchObject({ request: '"[erased]"', change_before: '"[erased]"', change_after: '"[erased]"' });
    expect(JSON.parse(parts['attributes'] as string)).toMatchObject({ 'audit.client_ip.encrypted': '[erased]' });

    const live = byField(await run('Record', { selection: { record: ids[1] as string } }), 'field', 'value');
    expect(live).toMatchObject({ actor_name: '[encrypted]', client_ip: '[encrypted]', user_agent: '[encrypted]' });
    const all = JSON.stringify([fields, parts, live]);
    // url_path is not encrypted by default (it names people in these records).
    expect(all).not.toMatch(/enc:v\d|"enc"|203\.0\.113\.7|curl|Mozilla|alice-old|example\.com/);
  });
});
