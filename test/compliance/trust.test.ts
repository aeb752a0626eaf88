/**
 * What the database trusts, against a hostile OTLP client, a careless
 * operator and the roles themselves, on real Postgres with real login roles:
 * operation records (audit.*) come only from audit.log_operation, retention's
 * --require-export counts only complete exports, ids and received_at are the
 * database's, tenants are granted in the database.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { retentionCommand } from '../../src/cli/retention.js';
import { verifyCommand } from '../../src/cli/verify.js';
import type { ExportManifest } from '../../src/compliance/export.js';
import { parseDuration, runRetention, type RetentionResult } from '../../src/compliance/retention.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { loadMigrations, migrate } from '../../src/db/migrate.js';
import { startSink } from '../../src/sink/sink.js';
import { REPO } from '../helpers/app-process.js';
import { adminQuery, createTestDatabase, roleConnections } from '../helpers/pg.js';
import { seedRecords } from '../helpers/records.js';
import { runCommand } from '../helpers/cli-run.js';

const suffix = randomBytes(4).toString('hex');
const LOGINS = {
  writer: `t_writer_${suffix}`,
  reader: `t_reader_${suffix}`,
  auditor: `t_auditor_${suffix}`,
  admin: `t_admin_${suffix}`,
  service: `t_service_${suffix}`,
};
const KEEP = parseDuration('400d');
const NOW = new Date('2026-11-21T12:00:00Z');
const JAN = { from: '2024-01-01T00:00:00Z', to: '2024-02-01T00:00:00Z' };

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;
let dir: string;
const { urlAs, connectAs, endAll: endClients } = roleConnections(() => database.name);
const dbs: Database[] = [];


async function dbAs(user: string): Promise<Database> {
  const db = await openDatabase({ url: urlAs(user), env: {}, poolSize: 1 });
  dbs.push(db);
  return db;
}

async function sqlError(c: pg.Client, sql: string, params: unknown[] = []): Promise<{ code?: string; message: string } | undefined> {
  try {
    await c.query(sql, params);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { code: e.code, message: e.message };
  }
}

async function one<T>(sql: string, params: unknown[] = []): Promise<T> {
  return (await owner.query<T>(sql, params)).rows[0] as T;
}

/** Run a command in this process; its stdout, stderr and exit status. */
const cli = runCommand;

/** The verdict retention (as audit_admin) gives January 2024 with --require-export, on a dry run. */
async function januaryVerdict(): Promise<RetentionResult['verdicts'][number] | undefined> {
  const adminDb = await dbAs(LOGINS.admin);
  const r = await runRetention(adminDb, { keepMs: KEEP, now: NOW, dryRun: true, requireExport: true });
  return r.verdicts.find((v) => v.partition.name === 'records_2024_01');
}

async function januaryStats(): Promise<{ n: number; lo: string; hi: string }> {
  return one(`SELECT count(*)::int AS n, min(id)::text AS lo, max(id)::text AS hi FROM audit.records_2024_01`);
}

beforeAll(async () => {
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(
    `CREATE ROLE ${LOGINS.writer} LOGIN IN ROLE audit_writer;
     CREATE ROLE ${LOGINS.reader} LOGIN IN ROLE audit_reader;
     CREATE ROLE ${LOGINS.auditor} LOGIN IN ROLE audit_auditor;
     CREATE ROLE ${LOGINS.admin} LOGIN IN ROLE audit_admin;
     CREATE ROLE ${LOGINS.service} LOGIN IN ROLE audit_service;`,
  );
  // January 2024 (its own partition, tenants t-1 and t-2) and recent rows.
  await owner.query(`SELECT audit.ensure_partitions('2024-01-01', 2)`);
  await seedRecords(owner, 6, 0, "'2024-01-10T00:00:00Z'::timestamptz");
  await seedRecords(owner, 4, 100, "'2024-02-10T00:00:00Z'::timestamptz");
  await seedRecords(owner, 3, 300);
  await sealOnce(owner, { settleMs: 0 });
  dir = await mkdtemp(join(tmpdir(), 'otel-audit-trust-'));
});

afterAll(async () => {
  await endClients();
  for (const d of dbs) await d.close().catch(() => undefined);
  await owner?.close();
  await database?.drop();
  await adminQuery(Object.values(LOGINS).map((u) => `DROP ROLE IF EXISTS ${u};`).join('\n'));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('operation records are written only by the commands', () => {
  it('an OTLP client cannot send audit.export: refused, kept in audit.rejected with the reason, reported as partial success', async () => {
    const sink = await startSink(
      { grpcPort: 0, httpPort: 0, metricsPort: 0, databaseUrl: urlAs(LOGINS.writer), migrate: false, sealIntervalMs: 0 },
      pino({ level: 'silent' }),
    );
    try {
      const attr = (key: string, value: string): unknown => ({ key, value: { stringValue: value } });
      const body = {
        resourceLogs: [
          {
            resource: { attributes: [attr('service.name', 'otel-audit')] },
            scopeLogs: [
              {
                scope: { name: 'forger' },
                logRecords: [
                  {
                    timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
                    eventName: 'audit',
                    traceId: 'ab'.repeat(16),
                    spanId: 'cd'.repeat(8),
                    attributes: [
                      attr('audit.action', 'audit.export'),
                      attr('audit.module', 'compliance'),
                      attr('audit.outcome', 'success'),
                      attr('from', '2023-01-01T00:00:00Z'),
                      attr('to', '2025-01-01T00:00:00Z'),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      };
      const res = await fetch(`http://127.0.0.1:${sink.httpPort}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { partialSuccess?: { rejectedLogRecords?: string; errorMessage?: string } };
      expect(answer.partialSuccess?.rejectedLogRecords).toBe('1');
      expect(answer.partialSuccess?.errorMessage).toContain('reserved');
    } finally {
      await sink.close();
    }
    const rejected = (await owner.query<{ reason: string }>(`SELECT reason FROM audit.rejected WHERE reason LIKE '%audit.export%'`)).rows;
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toMatch(/"audit\.export" is reserved: actions beginning "audit\." are otel-audit's own operation records/);
    expect((await owner.query(`SELECT 1 FROM audit.records WHERE action LIKE 'audit.%'`)).rows).toEqual([]);
    expect((await januaryVerdict())?.action).toBe('keep');
  });

  it('audit_writer may neither insert a reserved action nor call audit.log_operation', async () => {
    const w = await connectAs(LOGINS.writer);
    const insert = await sqlError(
      w,
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_type, action, outcome, attributes)
       VALUES (md5('x'), substr(md5('x'), 1, 16), now(), 'otel-audit', 'compliance', 'user', 'audit.verify', 'success', '{"findings": 0}')`,
    );
    expect(insert).toMatchObject({ code: '42501', message: expect.stringContaining('reserved') });
    const call = await sqlError(w, `SELECT audit.log_operation('audit.export', 'w', 'export', 'x', 'success', '{}')`);
    expect(call).toMatchObject({ code: '42501' });
  });

  it("audit_reader's own audit.log_operation call claiming a whole partition is recorded under its role, but is no coverage", async () => {
    const r = await connectAs(LOGINS.reader);
    const s = await januaryStats();
    const claim = { ...JAN, filters: {}, rows: s.n, first_id: s.lo, last_id: s.hi, sha256: 'a'.repeat(64), 'db.user': 'auditor-9' };
    const { rows } = await r.query<{ id: string }>(
      `SELECT audit.log_operation('audit.export', 'carol', 'export', 'x.csv', 'success', $1::jsonb)::text AS id`,
      [JSON.stringify(claim)],
    );
    const op = await one<{ db_user: string; complete: boolean; attrs_user: string }>(
      `SELECT o.db_user, o.complete, r.attributes->>'db.user' AS attrs_user FROM audit.operations o JOIN audit.records r ON r.id = o.record_id WHERE o.record_id = $1`,
      [rows[0]?.id],
    );
    expect(op).toEqual({ db_user: LOGINS.reader, complete: false, attrs_user: LOGINS.reader });
    expect(await januaryVerdict()).toMatchObject({ action: 'keep', reason: expect.stringContaining('no complete export') });
    // Nor may it record operations that are not its own to run.
    expect(await sqlError(r, `SELECT audit.log_operation('audit.retention', 'carol', 'partition', 'x', 'success', '{}')`)).toMatchObject({
      code: '42501',
    });
    expect(await sqlError(r, `SELECT audit.log_operation('audit.verify', 'carol', 'digests', NULL, 'success', '{}')`)).toMatchObject({ code: '42501' });
  });

  it('an export as audit_reader without --tenant says that row-level security hid rows, exits 4, and is no coverage', async () => {
    await owner.query(`SELECT audit.grant_tenant($1, 't-1')`, [LOGINS.reader]);
    try {
      const out = join(dir, 'reader.csv');
      const r = await cli(exportCommand, ['--from', JAN.from, '--to', JAN.to, '--out', out, '--database-url', urlAs(LOGINS.reader), '--as', 'carol']);
      expect(r.err).toContain('INCOMPLETE: row-level security hid 3 of the range');
      expect(r.code).toBe(4);
      const m = JSON.parse(await readFile(`${out}.manifest.json`, 'utf8')) as ExportManifest;
      expect([m.rows, m.hiddenRows]).toEqual([3, 3]);
      expect(await januaryVerdict()).toMatchObject({ action: 'keep' });
      // Asking for the tenant is a complete answer to what was asked. (Its digests
      // cannot verify as a reader: the seals hold rows this role may not read.)
      const tOut = join(dir, 'reader-t1.csv');
      const t = await cli(exportCommand, ['--from', JAN.from, '--to', JAN.to, '--tenant', 't-1', '--out', tOut, '--database-url', urlAs(LOGINS.reader)]);
      expect(t.code).not.toBe(4);
      expect(t.err).not.toContain('INCOMPLETE');
      const tm = JSON.parse(await readFile(`${tOut}.manifest.json`, 'utf8')) as ExportManifest;
      expect([tm.rows, tm.hiddenRows]).toEqual([3, null]);
    } finally {
      await owner.query(`SELECT audit.revoke_tenant($1, 't-1')`, [LOGINS.reader]);
    }
  });

  it('a complete export by audit_auditor covers the partition: retention drops it and names the export and its SHA-256', async () => {
    const out = join(dir, 'auditor.csv');
    const r = await cli(exportCommand, ['--from', JAN.from, '--to', JAN.to, '--out', out, '--database-url', urlAs(LOGINS.auditor), '--as', 'dave']);
    expect(r.code).toBe(0);
    const m = JSON.parse(await readFile(`${out}.manifest.json`, 'utf8')) as ExportManifest;
    expect([m.rows, m.hiddenRows]).toEqual([6, 0]);
    const verdict = await januaryVerdict();
    expect(verdict).toMatchObject({ action: 'drop', rows: 6, export: { recordId: m.auditRecordId, sha256: m.sha256, dbUser: LOGINS.auditor } });
    // February has no export: kept.
    const adminDb = await dbAs(LOGINS.admin);
    const res = await runRetention(adminDb, { keepMs: KEEP, now: NOW, requireExport: true, actor: 'dpo' });
    expect(res.dropped.map((d) => d.partition)).toEqual(['records_2024_01']);
    expect(res.verdicts.find((v) => v.partition.name === 'records_2024_02')).toMatchObject({ action: 'keep' });
    expect((await verify(owner)).findings).toEqual([]);
  });
});

describe('ids and received_at are the database’s', () => {
  it('audit_writer cannot choose a record id or received_at, so the seal cannot jump past the rows that exist', async () => {
    const w = await connectAs(LOGINS.writer);
    const { rows } = await w.query<{ id: string; received_at: Date }>(
      `INSERT INTO audit.records (id, trace_id, span_id, occurred_at, received_at, service_name, actor_type, action, outcome)
       OVERRIDING SYSTEM VALUE
       VALUES (900000000000, md5('jump'), substr(md5('jump'), 1, 16), now(), '2000-01-01T00:00:00Z', 'svc', 'user', 'thing.create', 'success')
       RETURNING id::text AS id, received_at`,
    );
    expect(BigInt(rows[0]?.id ?? '0')).toBeLessThan(1_000_000n);
    expect(Math.abs((rows[0]?.received_at as Date).getTime() - Date.now())).toBeLessThan(60_000);
    await sealOnce(owner, { settleMs: 0 });
    // A genuine record after it is sealed by the next round like any other.
    const next = await w.query<{ id: string }>(
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome)
       VALUES (md5('after'), substr(md5('after'), 1, 16), now(), 'svc', 'user', 'thing.create', 'success') RETURNING id::text AS id`,
    );
    await sealOnce(owner, { settleMs: 0 });
    const report = await verify(owner);
    expect(report.findings).toEqual([]);
    expect(report.lastSealedId).toBe(next.rows[0]?.id);
    expect(report.unsealedRows).toBe(0);
  });
});

describe('upgrading a database that holds records', () => {
  it('ids continue after the highest one the identity gave, and the chain still verifies', async () => {
    const old = await createTestDatabase();
    const db = await openDatabase({ url: old.url, env: {}, poolSize: 1 });
    const oldDir = join(dir, 'migrations-000003');
    try {
      await mkdir(oldDir);
      for (const m of (await loadMigrations()).filter((x) => x.id <= 3)) {
        await copyFile(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'db', 'migrations', m.name), join(oldDir, m.name));
      }
      expect((await migrate(db, { dir: oldDir })).current).toBe(3);
      await seedRecords(db, 5);
      await sealOnce(db, { settleMs: 0 });
      const before = (await db.query<{ hi: string }>('SELECT max(id)::text AS hi FROM audit.records')).rows[0]?.hi;
      expect((await migrate(db)).current).toBeGreaterThanOrEqual(4);
      await seedRecords(db, 2, 10);
      const ids = (await db.query<{ id: string }>('SELECT id::text AS id FROM audit.records ORDER BY id')).rows.map((r) => r.id);
      expect(ids).toHaveLength(7);
      expect(new Set(ids).size).toBe(7);
      expect(BigInt(ids[5] as string)).toBeGreaterThan(BigInt(before ?? '0'));
      await sealOnce(db, { settleMs: 0 });
      expect((await verify(db)).findings).toEqual([]);
    } finally {
      await db.close();
      await old.drop();
    }
  });
});

describe('tenants are granted to roles in the database', () => {
  it('a reader sees only the tenants granted to it whatever it sets; audit_service acts for app.tenant_id; only the owner or audit_admin grants', async () => {
    const count = async (c: pg.Client): Promise<{ tenant_id: string; n: number }[]> =>
      (await c.query<{ tenant_id: string; n: number }>(`SELECT tenant_id, count(*)::int AS n FROM audit.records GROUP BY 1 ORDER BY 1`)).rows;
    const r = await connectAs(LOGINS.reader);
    await r.query(`SET app.tenant_id = 't-2'`);
    expect(await count(r)).toEqual([]);
    const a = await connectAs(LOGINS.admin);
    await a.query(`SELECT audit.grant_tenant($1, 't-1')`, [LOGINS.reader]);
    expect((await count(r)).map((x) => x.tenant_id)).toEqual(['t-1']);
    expect(await sqlError(r, `SELECT audit.grant_tenant($1, 't-2')`, [LOGINS.reader])).toMatchObject({ code: '42501' });
    expect(await sqlError(a, `SELECT audit.grant_tenant('no_such_role_${suffix}', 't-2')`)).toMatchObject({ code: '42704' });
    // Nor can a reader learn the tenants of a role it cannot act as.
    await a.query(`SELECT audit.grant_tenant($1, 't-2')`, [LOGINS.service]);
    expect((await r.query(`SELECT audit.granted_tenants($1) AS t`, [LOGINS.service])).rows).toEqual([{ t: [] }]);
    expect((await r.query(`SELECT audit.granted_tenants(current_user) AS t`)).rows).toEqual([{ t: ['t-1'] }]);
    await a.query(`SELECT audit.revoke_tenant($1, 't-2')`, [LOGINS.service]);
    // The service role is trusted to name the tenant per request.
    const s = await connectAs(LOGINS.service);
    expect(await count(s)).toEqual([]);
    await s.query(`SET app.tenant_id = 't-2'`);
    expect((await count(s)).map((x) => x.tenant_id)).toEqual(['t-2']);
    await a.query(`SELECT audit.revoke_tenant($1, 't-1')`, [LOGINS.reader]);
    expect(await count(r)).toEqual([]);
  });
});

describe('otel-audit verify reports conflicts', () => {
  it('counts audit.rejected rows with reason conflict in its window: a warning and a JSON field, exit status unchanged', async () => {
    await owner.query(
      `INSERT INTO audit.rejected (received_at, signal, transport, reason) VALUES
         (now() - interval '1 minute', 'logs', 'grpc', 'conflict'), (now() - interval '2 minutes', 'logs', 'grpc', 'conflict'),
         ('2020-01-01T00:00:00Z', 'logs', 'grpc', 'conflict'), (now(), 'logs', 'grpc', 'missing trace id')`,
    );
    expect((await verify(owner)).conflicts).toBe(3);
    const url = urlAs(LOGINS.auditor);
    const text = await cli(verifyCommand, ['--from', '2024-06-01', '--database-url', url, '--no-record']);
    expect(text.code).toBe(0);
    expect(text.out).toContain("WARNING: 2 conflicts: records that arrived with an existing idempotency key but different content, kept in audit.rejected (reason 'conflict')");
    const json = await cli(verifyCommand, ['--from', '2024-06-01', '--json', '--database-url', url]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.out) as { conflicts: number }).conflicts).toBe(2);
    const rec = await one<{ conflicts: string; db_user: string }>(
      `SELECT r.attributes->>'conflicts' AS conflicts, o.db_user FROM audit.operations o JOIN audit.records r ON r.id = o.record_id
        WHERE o.action = 'audit.verify' ORDER BY o.record_id DESC LIMIT 1`,
    );
    expect(rec).toEqual({ conflicts: '2', db_user: LOGINS.auditor });
  });
});

describe('command-line safety', () => {
  it('retention: a repeated --keep is a usage error, a window under one day needs --force, bad values exit 2', async () => {
    const url = urlAs(LOGINS.admin);
    const twice = await cli(retentionCommand, ['--keep', '400d', '--keep', '1h', '--dry-run', '--database-url', url]);
    expect(twice.code).toBe(2);
    expect(twice.err).toContain('--keep given 2 times');
    const short = await cli(retentionCommand, ['--keep', '12h', '--dry-run', '--database-url', url]);
    expect(short.code).toBe(2);
    expect(short.err).toContain('less than one day');
    expect((await cli(retentionCommand, ['--keep', '12h', '--force', '--dry-run', '--database-url', url])).code).toBe(0);
    expect((await cli(retentionCommand, ['--keep', '0d', '--database-url', url])).code).toBe(2);
    expect((await cli(retentionCommand, ['--keep', 'soon', '--database-url', url])).code).toBe(2);
  });

  it('a password in --database-url draws a one-line warning pointing to DATABASE_URL / PGPASSWORD', async () => {
    const withPassword = `postgres://${LOGINS.auditor}:hunter2@127.0.0.1:5432/${database.name}`;
    for (const [command, argv] of [
      [verifyCommand, ['--no-record', '--database-url', withPassword]],
      [retentionCommand, ['--keep', '400d', '--dry-run', '--database-url', withPassword]],
      [exportCommand, ['--from', '2024-01-01', '--to', '2024-01-02', '--out', join(dir, 'pw.csv'), '--database-url', withPassword]],
    ] as const) {
      const r = await cli(command, [...argv]);
      const warnings = r.err.split('\n').filter((l) => l.includes('warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/--database-url holds a password.*DATABASE_URL.*PGPASSWORD/);
      expect(warnings[0]).not.toContain('hunter2');
    }
    const plain = await cli(verifyCommand, ['--no-record', '--database-url', urlAs(LOGINS.auditor)]);
    expect(plain.err).toBe('');
    // The sink parses its flags in src/cli/options.ts: same warning (here before a usage error).
    const sink = spawnSync(process.execPath, [join(REPO, 'dist', 'cli.js'), 'sink', '--database-url', 'postgres://u:hunter2@127.0.0.1:1/x', '--grpc-port', 'nope'], {
      encoding: 'utf8',
    });
    expect(sink.status).toBe(2);
    expect(sink.stderr.split('\n').filter((l) => l.includes('warning'))).toEqual([expect.stringMatching(/^otel-audit sink: warning: --database-url holds a password.*PGPASSWORD/)]);
  });
});
