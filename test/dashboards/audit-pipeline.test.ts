import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardDb, type DashboardDb, type SqlResult } from './dashboard-db.js';
import { allPanels, loadDashboard, panelSql, POSTGRES_UID, targetDatasource } from './dashboard-model.js';
import { expandSql } from './grafana-query.js';
import { HOUR, insertSeeds, RANGE } from './seed.js';

const d = loadDashboard('audit-pipeline.json');
let db: DashboardDb;

async function run(title: string): Promise<SqlResult> {
  return db.read(expandSql(d, panelSql(d, title).rawSql as string, { range: RANGE, interval: '1h' }));
}

beforeAll(async () => {
  db = await openDashboardDb();
});
afterAll(async () => {
  await db?.teardown();
});

describe('audit-pipeline: integrity before anything was sealed or verified', () => {
  it('the stats have no value (shown as "nothing sealed yet" / "never verified")', async () => {
    expect((await run('Newest sealed range')).rows).toEqual([{ age: null }]);
    expect((await run('Records not sealed yet')).rows).toEqual([{ unsealed: 0 }]);
    expect((await run('Last verify')).rows).toEqual([]);
    expect((await run('Recent digests')).rows).toEqual([]);
    expect((await run('Emitters with missing records')).rows).toEqual([]);
  });
});

describe('audit-pipeline: integrity', () => {
  beforeAll(async () => {
    await insertSeeds(db.owner); // ids 1..12
    const seal = (first: number, last: number, agoSeconds: number, hash: string): Promise<unknown> =>
      db.owner.query(
        `INSERT INTO audit.digests (kind, first_id, last_id, sealed_from, sealed_to, row_count, prev_hash, hash, signature_alg)
         VALUES ('seal', $1, $2, now() - make_interval(secs => $3::float8 + 60), now() - make_interval(secs => $3::float8), $2::int8 - $1::int8 + 1, '', $4, $5)`,
        [first, last, agoSeconds, hash, hash === 'b'.repeat(64) ? 'ed25519' : null],
      );
    await seal(1, 5, 600, 'a'.repeat(64));
    await seal(6, 10, 90, 'b'.repeat(64));
    await db.owner.query(
      `INSERT INTO audit.digests (kind, first_id, last_id, row_count, dropped_ids, dropped_partition, prev_hash, hash)
       VALUES ('retention', 1, 0, 40, '{[100,140)}', 'records_2025_01', $1, $2)`,
      ['b'.repeat(64), 'c'.repeat(64)],
    );
    // What `otel-audit verify` records: first a clean run, then one that found tampering.
    await db.owner.query(`SELECT audit.log_operation('audit.verify', 'auditor-1', 'digest_chain', NULL, 'success', '{"findings": 0, "digests": 2}')`);
    await db.owner.query(`SELECT audit.log_operation('audit.verify', 'auditor-2', 'digest_chain', NULL, 'failure', '{"findings": 2, "digests": 3}')`);
    // An export is a compliance record too, but not a verify run.
    await db.owner.query(`SELECT audit.log_operation('audit.export', 'auditor-1', 'file', 'out.csv', 'success', '{"rows": 12}')`);
    // A record that only carries the name (as the sink stored one sent over OTLP): newer, clean, and no verify run.
    await db.owner.query(
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_type, action, outcome, attributes)
       VALUES (md5('forged'), substr(md5('forged'), 1, 16), now(), 'otel-audit', 'compliance', 'mallory', 'user', 'audit.verify', 'success',
               '{"findings": 0, "digests": 9, "db.user": "postgres"}')`,
    );
    await db.owner.query(
      `INSERT INTO audit.emitters (emitter_id, service_name, seen, max_seq, gap_since)
       VALUES ('e-1', 'demo-api', '{[1,4),[6,8)}', 7, '2026-05-04T10:00:00Z'),
              ('e-2', 'billing', '{[1,4)}', 3, NULL),
              ('e-3', 'ci', '{[2,3)}', 2, '2026-05-04T11:00:00Z')`,
    );
    await db.owner.query(
      `INSERT INTO audit.rejected (received_at, signal, transport, reason, raw, record, peer)
       VALUES ('2026-05-04T10:30:00Z', 'logs', 'http/json', 'missing trace id', '\\x7b7d', '{"action": "user.read"}', '10.0.0.9'),
              ('2026-05-04T11:45:00Z', 'traces', 'grpc', 'undecodable: truncated message', '\\x0a05', NULL, '10.0.0.8'),
              ('2026-05-04T14:00:00Z', 'logs', 'grpc', 'outside the range', NULL, NULL, NULL),
              ('2026-05-04T10:10:00Z', 'logs', 'grpc', 'conflict', '\\x0a01', '{"action": "user.update"}', '10.0.0.7'),
              ('2026-05-04T10:20:00Z', 'logs', 'grpc', 'conflict', '\\x0a02', '{"action": "user.update"}', '10.0.0.7'),
              ('2026-05-04T11:10:00Z', 'logs', 'http/protobuf', 'conflict', '\\x0a03', '{"action": "user.delete"}', '10.0.0.7'),
              ('2026-05-04T14:30:00Z', 'logs', 'grpc', 'conflict', NULL, NULL, NULL)`,
    );
  });

  it('Newest sealed range: seconds since the newest seal ends (retention digests do not count)', async () => {
    const res = await run('Newest sealed range');
    expect(res.columns).toEqual(['age']);
    const age = res.rows[0]?.['age'] as number;
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
  });

  it('Records not sealed yet: past the last sealed id (12 seeds, 3 compliance records and the forged one, sealed to 10)', async () => {
    expect((await run('Records not sealed yet')).rows).toEqual([{ unsealed: 6 }]);
  });

  it('Last verify: the newest verify run, its findings and digests (a record merely named audit.verify is none)', async () => {
    const res = await run('Last verify');
    expect(res.columns).toEqual(['time', 'result', 'findings', 'digests', 'age']);
    expect(res.rows).toHaveLength(1);
    expect(res.rows[0]).toMatchObject({ result: 'failure', findings: 2, digests: 3 });
    expect(res.rows[0]?.['age']).toBeGreaterThanOrEqual(0);
    expect(res.rows[0]?.['age']).toBeLessThan(60);
  });

  it('Verify runs: newest first, who ran them (only runs recorded by audit.log_operation)', async () => {
    const res = await run('Verify runs');
    expect(res.columns).toEqual(['time', 'result', 'findings', 'digests', 'actor', 'db_user', 'id']);
    expect(res.rows.map(({ result, findings, digests, actor, db_user }) => ({ result, findings, digests, actor, db_user }))).toEqual([
      { result: 'failure', findings: 2, digests: 3, actor: 'auditor-2', db_user: 'postgres' },
      { result: 'success', findings: 0, digests: 2, actor: 'auditor-1', db_user: 'postgres' },
    ]);
  });

  it('Recent digests: the chain, newest first', async () => {
    const res = await run('Recent digests');
    expect(res.columns).toEqual(['time', 'id', 'kind', 'sealed_from', 'sealed_to', 'first_id', 'last_id', 'row_count', 'dropped_partition', 'signature', 'hash']);
    expect(res.rows.map(({ kind, first_id, last_id, row_count, dropped_partition, signature, hash }) => ({ kind, first_id, last_id, row_count, dropped_partition, signature, hash }))).toEqual([
      { kind: 'retention', first_id: 1, last_id: 0, row_count: 40, dropped_partition: 'records_2025_01', signature: 'unsigned', hash: 'c'.repeat(16) },
      { kind: 'seal', first_id: 6, last_id: 10, row_count: 5, dropped_partition: null, signature: 'ed25519', hash: 'b'.repeat(16) },
      { kind: 'seal', first_id: 1, last_id: 5, row_count: 5, dropped_partition: null, signature: 'unsigned', hash: 'a'.repeat(16) },
    ]);
  });

  it('Emitters with missing records: only those with holes, most missing first', async () => {
    const res = await run('Emitters with missing records');
    expect(res.columns).toEqual(['emitter_id', 'service', 'missing', 'gaps', 'gap_since', 'highest_contiguous_seq', 'max_seq', 'last_seen']);
    expect(res.rows.map(({ last_seen: _, ...r }) => r)).toEqual([
      { emitter_id: 'e-1', service: 'demo-api', missing: 2, gaps: '{[4,6)}', gap_since: '2026-05-04T10:00:00.000Z', highest_contiguous_seq: 3, max_seq: 7 },
      { emitter_id: 'e-3', service: 'ci', missing: 1, gaps: '{[1,2)}', gap_since: '2026-05-04T11:00:00.000Z', highest_contiguous_seq: 0, max_seq: 2 },
    ]);
  });

  it('Rejected input: per interval and by signal, in the time range', async () => {
    const series = await run('Rejected input');
    expect(series.columns).toEqual(['time', 'logs', 'traces']);
    expect(series.rows).toEqual([
      { time: HOUR(10), logs: 3, traces: 0 },
      { time: HOUR(11), logs: 1, traces: 1 },
    ]);
    const recent = await run('Recent rejected input');
    expect(recent.columns).toEqual(['time', 'signal', 'transport', 'reason', 'peer', 'record', 'raw_bytes']);
    expect(recent.rows.filter((r) => r['reason'] !== 'conflict')).toEqual([
      { time: '2026-05-04T11:45:00.000Z', signal: 'traces', transport: 'grpc', reason: 'undecodable: truncated message', peer: '10.0.0.8', record: null, raw_bytes: 2 },
      { time: '2026-05-04T10:30:00.000Z', signal: 'logs', transport: 'http/json', reason: 'missing trace id', peer: '10.0.0.9', record: '{"action": "user.read"}', raw_bytes: 2 },
    ]);
  });

  it('Conflicts: records kept with reason conflict, per interval, in the time range', async () => {
    const res = await run('Conflicts');
    expect(res.columns).toEqual(['time', 'conflicts']);
    expect(res.rows).toEqual([
      { time: HOUR(10), conflicts: 2 },
      { time: HOUR(11), conflicts: 1 },
    ]);
  });

  it('every Postgres panel is checked above', () => {
    const sqlPanels = allPanels(d)
      .filter((p) => (p.targets ?? []).some((t) => targetDatasource(p, t)?.uid === POSTGRES_UID))
      .map((p) => p.title);
    expect(sqlPanels).toEqual([
      'Newest sealed range', 'Records not sealed yet', 'Last verify', 'Recent digests', 'Verify runs', 'Emitters with missing records',
      'Rejected input', 'Recent rejected input', 'Conflicts',
    ]);
  });
});
