/**
 * Least privilege on real Postgres: the roles of migration 000003, the
 * append-only trigger, row-level security by tenant, and the sink running
 * as audit_writer.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDuration, runRetention } from '../../src/compliance/retention.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { startSink } from '../../src/sink/sink.js';
import { adminQuery, createTestDatabase, roleConnections } from '../helpers/pg.js';
import { postLogs } from '../helpers/otlp-logs.js';
import { encodeRecords, outboxHalf, outboxOperation, requestHalf } from '../helpers/outbox-records.js';
import { waitFor } from '../helpers/processes.js';
import { seedRecords } from '../helpers/records.js';

const suffix = randomBytes(4).toString('hex');
const LOGINS = { writer: `t_writer_${suffix}`, reader: `t_reader_${suffix}`, auditor: `t_auditor_${suffix}`, admin: `t_admin_${suffix}` };

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;
const { urlAs, connectAs, endAll: endClients } = roleConnections(() => database.name);


async function sqlError(c: pg.Client, sql: string): Promise<{ code?: string; message: string } | undefined> {
  try {
    await c.query(sql);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code, message: e.message };
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(
    `CREATE ROLE ${LOGINS.writer} LOGIN IN ROLE audit_writer;
     CREATE ROLE ${LOGINS.reader} LOGIN IN ROLE audit_reader;
     CREATE ROLE ${LOGINS.auditor} LOGIN IN ROLE audit_auditor;
     CREATE ROLE ${LOGINS.admin} LOGIN IN ROLE audit_admin;`,
  );
  await seedRecords(owner, 10);
});

afterAll(async () => {
  await endClients();
  await owner?.close();
  await database?.drop();
  await adminQuery(Object.values(LOGINS).map((u) => `DROP ROLE IF EXISTS ${u};`).join('\n'));
});

describe('roles and the append-only trigger', () => {
  it('migrations created the five roles', async () => {
    const { rows } = await owner.query<{ rolname: string; rolcanlogin: boolean }>(
      `SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'audit\\_%' ORDER BY rolname`,
    );
    expect(rows).toEqual([
      { rolname: 'audit_admin', rolcanlogin: false },
      { rolname: 'audit_auditor', rolcanlogin: false },
      { rolname: 'audit_reader', rolcanlogin: false },
      { rolname: 'audit_service', rolcanlogin: false },
      { rolname: 'audit_writer', rolcanlogin: false },
    ]);
  });

  it('audit_writer inserts but cannot UPDATE, DELETE or TRUNCATE records', async () => {
    const w = await connectAs(LOGINS.writer);
    await w.query(
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome, tenant_id)
       VALUES (md5('w1'), substr(md5('w1'), 1, 16), now(), 'svc', 'user', 'thing.create', 'success', 't-1')`,
    );
    expect(await sqlError(w, `UPDATE audit.records SET outcome = 'failure' WHERE id = 1`)).toMatchObject({ code: '42501' });
    expect(await sqlError(w, 'DELETE FROM audit.records WHERE id = 1')).toMatchObject({ code: '42501' });
    expect(await sqlError(w, 'TRUNCATE audit.records')).toMatchObject({ code: '42501' });
    expect(await sqlError(w, 'DELETE FROM audit.digests')).toMatchObject({ code: '42501' });
    expect(await sqlError(w, 'DROP TABLE audit.records_default')).toMatchObject({ code: '42501' });
  });

  it('nobody updates or deletes records, not even the owner: the trigger refuses', async () => {
    const o = await connectAs('postgres');
    const upd = await sqlError(o, `UPDATE audit.records SET outcome = 'failure' WHERE id = 1`);
    expect(upd?.message).toContain('append-only');
    expect((await sqlError(o, 'DELETE FROM audit.records WHERE id = 1'))?.message).toContain('append-only');
    expect((await sqlError(o, 'TRUNCATE audit.records'))?.message).toContain('append-only');
    const part = (await owner.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM audit.records WHERE id = 1`)).rows[0]?.p;
    expect((await sqlError(o, `TRUNCATE ${part}`))?.message).toContain('append-only');
    await sealOnce(owner, { settleMs: 0 });
    expect((await sqlError(o, 'DELETE FROM audit.digests'))?.message).toContain('append-only');
    expect((await sqlError(o, `UPDATE audit.digests SET row_count = 0`))?.message).toContain('append-only');
    expect((await sqlError(o, 'TRUNCATE audit.digests'))?.message).toContain('append-only');
    expect((await owner.query('SELECT count(*)::int AS n FROM audit.records WHERE id = 1')).rows[0]).toEqual({ n: 1 });
  });

  it('row-level security: a reader sees only the tenants granted to it, an auditor sees all', async () => {
    const total = (await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM audit.records')).rows[0]?.n ?? 0;
    const t1 = (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.records WHERE tenant_id = 't-1'`)).rows[0]?.n ?? 0;
    expect(t1).toBeGreaterThan(0);
    expect(t1).toBeLessThan(total);
    const r = await connectAs(LOGINS.reader);
    expect((await r.query('SELECT count(*)::int AS n FROM audit.records')).rows[0]).toEqual({ n: 0 });
    // Setting a tenant grants nothing; the owner grants it in the database.
    await r.query(`SET app.tenant_id = 't-1'`);
    expect((await r.query('SELECT count(*)::int AS n FROM audit.records')).rows[0]).toEqual({ n: 0 });
    await owner.query(`SELECT audit.grant_tenant($1, 't-1')`, [LOGINS.reader]);
    await r.query(`SET app.tenant_id = 't-2'`);
    const seen = await r.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM audit.records');
    expect(seen.rows).toEqual([{ tenant_id: 't-1' }]);
    expect((await r.query('SELECT count(*)::int AS n FROM audit.records')).rows[0]).toEqual({ n: t1 });
    // Partitions directly: no privilege, so no way around the policy.
    const part = (await owner.query<{ p: string }>(`SELECT tableoid::regclass::text AS p FROM audit.records LIMIT 1`)).rows[0]?.p;
    expect(await sqlError(r, `SELECT count(*) FROM ${part}`)).toMatchObject({ code: '42501' });
    expect(await sqlError(r, 'SELECT count(*) FROM audit.rejected')).toMatchObject({ code: '42501' });
    expect(await sqlError(r, `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome)
      VALUES (md5('r'), substr(md5('r'), 1, 16), now(), 'svc', 'user', 'x.y', 'success')`)).toMatchObject({ code: '42501' });

    const a = await connectAs(LOGINS.auditor);
    expect((await a.query('SELECT count(*)::int AS n FROM audit.records')).rows[0]).toEqual({ n: total });
  });

  it('readers may record their own exports (audit.log_operation), nothing else', async () => {
    const r = await connectAs(LOGINS.reader);
    const { rows } = await r.query<{ id: string }>(
      `SELECT audit.log_operation('audit.export', 'carol', 'export', 'x.csv', 'success', '{"rows": 3}')::text AS id`,
    );
    const rec = (await owner.query(`SELECT service_name, action, actor_id, attributes FROM audit.records WHERE id = $1`, [rows[0]?.id])).rows[0];
    expect(rec).toEqual({ service_name: 'otel-audit', action: 'audit.export', actor_id: 'carol', attributes: { rows: 3, 'db.user': LOGINS.reader } });
    expect((await sqlError(r, `SELECT audit.log_operation('user.delete', 'carol', 'user', '1', 'success', '{}')`))?.message).toContain(
      'records only audit.export',
    );
  });
});

describe('retention as audit_admin', () => {
  it('audit_admin drops a sealed old partition through audit.drop_partition; the writer may not', async () => {
    await owner.query(`SELECT audit.ensure_partitions('2023-03-01', 1)`);
    await seedRecords(owner, 3, 500, "'2023-03-05T00:00:00Z'::timestamptz");
    await sealOnce(owner, { settleMs: 0 });
    const w = await connectAs(LOGINS.writer);
    expect(await sqlError(w, `SELECT audit.drop_partition('records_2023_03', '', '', 0, '{}', NULL, NULL, NULL)`)).toMatchObject({ code: '42501' });
    const adminDb = await openDatabase({ url: urlAs(LOGINS.admin), env: {}, poolSize: 1 });
    try {
      const r = await runRetention(adminDb, { keepMs: parseDuration('400d'), actor: 'dpo' });
      expect(r.dropped.map((d) => [d.partition, d.rows])).toEqual([['records_2023_03', 3]]);
    } finally {
      await adminDb.close();
    }
    expect((await verify(owner)).findings).toEqual([]);
  });
});

describe('the sink as audit_writer', () => {
  it('receives, writes and seals (on its own timer) with the writer role only', async () => {
    const sink = await startSink(
      { grpcPort: 0, httpPort: 0, metricsPort: 0, databaseUrl: urlAs(LOGINS.writer), migrate: false, sealIntervalMs: 200, sealSettleMs: 0 },
      pino({ level: 'silent' }),
    );
    try {
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'billing-java' }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${sink.grpcPort}` }) })],
      });
      const span = provider.getTracer('t').startSpan('POST /refunds', {
        attributes: { 'audit.action': 'refund.create', 'audit.outcome': 'success', 'audit.resource.type': 'refund', 'audit.resource.id': 'r-1', 'audit.tenant.id': 't-1' },
      });
      span.end();
      await provider.shutdown();
      await waitFor(
        async () => ((await owner.query(`SELECT 1 FROM audit.records WHERE action = 'refund.create'`)).rows.length > 0 ? true : undefined),
        10_000,
        () => 'the record sent to the sink never arrived',
      );
      // The sink's own timer seals it (every 200 ms here, every minute by default).
      const id = (await owner.query<{ id: string }>(`SELECT id::text AS id FROM audit.records WHERE action = 'refund.create'`)).rows[0]?.id;
      await waitFor(
        async () => ((await owner.query(`SELECT 1 FROM audit.digests WHERE kind = 'seal' AND last_id >= $1::bigint`, [id])).rows.length > 0 ? true : undefined),
        10_000,
        () => 'the sink did not seal the record',
      );
      const metrics = await (await fetch(`http://127.0.0.1:${sink.metricsPort}/metrics`)).text();
      expect(metrics).toMatch(/^otel_audit_sink_sealed_records_total [1-9]/m);
      expect((await verify(owner)).findings).toEqual([]);
    } finally {
      await sink.close();
    }
  });

  it('merges the halves of outbox records, and writes a lone half past the window, with the writer role only', async () => {
    const sink = await startSink(
      { grpcPort: 0, httpPort: 0, metricsPort: 0, databaseUrl: urlAs(LOGINS.writer), migrate: false, sealIntervalMs: 0, outboxWindowMs: 500 },
      pino({ level: 'silent' }),
    );
    try {
      const merged = outboxOperation('roles');
      const alone = outboxOperation('roles');
      const http = `http://127.0.0.1:${sink.httpPort}`;
      // The answer's message names a refused privilege, should one be missing.
      expect(await postLogs(http, encodeRecords([requestHalf(merged, { id: 'e-roles', seq: 1 }), outboxHalf(alone)]))).toEqual({ status: 200, rejected: 0, message: '' });
      expect(await postLogs(http, encodeRecords([outboxHalf(merged)]))).toEqual({ status: 200, rejected: 0, message: '' });
      const origins = async () =>
        (await owner.query<{ trace_id: string; origin: string }>(`SELECT trace_id, attributes->>'audit.origin' AS origin FROM audit.records WHERE service_name = 'roles' ORDER BY trace_id`)).rows;
      await waitFor(async () => ((await origins()).length === 2 ? true : undefined), 10_000, async () => `rows: ${JSON.stringify(await origins())}`);
      expect(await origins()).toEqual(
        [
          { trace_id: merged.traceId, origin: 'request+outbox' },
          { trace_id: alone.traceId, origin: 'outbox' },
        ].sort((x, y) => x.trace_id.localeCompare(y.trace_id)),
      );
      expect((await owner.query(`SELECT 1 FROM audit.outbox_pending`)).rows).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});
