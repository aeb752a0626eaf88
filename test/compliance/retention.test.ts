/**
 * Retention drops whole sealed partitions, records the drop in the chain,
 * and verification keeps working across it. Plus the verify and retention
 * commands end to end.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportRecords } from '../../src/compliance/export.js';
import { listPartitions, parseDuration, runRetention } from '../../src/compliance/retention.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { verify } from '../../src/compliance/verify.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { REPO } from '../helpers/app-process.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';
import { seedRecords } from '../helpers/records.js';

const run = promisify(execFile);
const KEEP = parseDuration('400d');
const NOW = new Date('2026-11-21T12:00:00Z');

let b: TestBackend;
let db: Database;

/** Rows in January and February 2024 (their own partitions), in 2023 (default partition) and now. */
async function history(): Promise<void> {
  await db.query(`SELECT audit.ensure_partitions('2024-01-01', 2)`);
  await seedRecords(db, 6, 0, "'2024-01-10T00:00:00Z'::timestamptz");
  await seedRecords(db, 4, 100, "'2024-02-10T00:00:00Z'::timestamptz");
  await seedRecords(db, 2, 200, "'2023-06-10T00:00:00Z'::timestamptz");
  await seedRecords(db, 5, 300);
}

async function count(where = 'true'): Promise<number> {
  return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit.records WHERE ${where}`)).rows[0]?.n ?? -1;
}

describe.each(['postgres', 'pglite'] as const)('retention (%s)', (backend) => {
  beforeEach(async () => {
    b = await openTestBackend(backend);
    db = b.db;
    await migrate(db);
    await history();
  });
  afterEach(async () => {
    await b?.teardown();
  });

  it('refuses partitions that are not sealed, and drops nothing', async () => {
    const r = await runRetention(db, { keepMs: KEEP, now: NOW });
    expect(r.verdicts.map((v) => [v.partition.name, v.action])).toEqual([
      ['records_2024_01', 'keep'],
      ['records_2024_02', 'keep'],
    ]);
    expect(r.verdicts[0]).toMatchObject({ reason: expect.stringContaining('not sealed') });
    expect(r.dropped).toEqual([]);
    expect(await count()).toBe(17);
  });

  it('a dry run says what would go and changes nothing', async () => {
    await sealOnce(db, { settleMs: 0 });
    const r = await runRetention(db, { keepMs: KEEP, now: NOW, dryRun: true });
    expect(r.verdicts.map((v) => [v.partition.name, v.action, v.rows])).toEqual([
      ['records_2024_01', 'drop', 6],
      ['records_2024_02', 'drop', 4],
    ]);
    expect(r.dropped).toEqual([]);
    expect(await count()).toBe(17);
  });

  it('drops sealed partitions whole, chains a retention digest, records audit.retention, and verify still passes', async () => {
    await sealOnce(db, { settleMs: 0 });
    const r = await runRetention(db, { keepMs: KEEP, now: NOW, actor: 'dpo' });
    expect(r.dropped.map((d) => [d.partition, d.rows])).toEqual([
      ['records_2024_01', 6],
      ['records_2024_02', 4],
    ]);
    expect((await listPartitions(db)).map((p) => p.name)).not.toContain('records_2024_01');
    // The default partition (2023 rows) is never dropped; recent rows stay.
    expect(await count()).toBe(17 - 10 + 1); // + the audit.retention record
    expect(await count(`occurred_at < '2024-01-01'`)).toBe(2);
    const rec = (await db.query(`SELECT actor_id, resource_id, outcome, attributes FROM audit.records WHERE action = 'audit.retention'`)).rows[0];
    expect(rec).toMatchObject({ actor_id: 'dpo', resource_id: 'records_2024_01,records_2024_02', outcome: 'success' });
    const digests = (await db.query(`SELECT kind, dropped_partition, row_count::int AS n FROM audit.digests ORDER BY id`)).rows;
    expect(digests.slice(-2)).toEqual([
      { kind: 'retention', dropped_partition: 'records_2024_01', n: 6 },
      { kind: 'retention', dropped_partition: 'records_2024_02', n: 4 },
    ]);
    const v = await verify(db);
    expect(v.findings).toEqual([]);
    // Tampering with what remains is still found.
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`DELETE FROM audit.records WHERE id = (SELECT max(id) FROM audit.records WHERE service_name = 'billing')`);
    });
    expect((await verify(db)).findings.map((f) => f.kind)).toEqual(['deleted_row']);
  });

  it('with --require-export, drops only partitions a complete export covers', async () => {
    await sealOnce(db, { settleMs: 0 });
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-retention-'));
    try {
      const exportTo = (name: string, from: string, to: string, filters = {}): ReturnType<typeof exportRecords> =>
        exportRecords(db, { from, to, format: 'csv', out: join(dir, name), actor: 'carol', filters });
      // An export of January 2024 with a filter does not count; a claim without an export does not either.
      await exportTo('a.csv', '2024-01-01', '2024-02-01', { tenant_id: ['t-1'] });
      await db.query(`SELECT audit.log_operation('audit.export', 'carol', 'export', 'b.csv', 'success', $1::jsonb)`, [
        JSON.stringify({ from: '2023-12-01T00:00:00Z', to: '2024-03-01T00:00:00Z', filters: {} }),
      ]);
      let r = await runRetention(db, { keepMs: KEEP, now: NOW, requireExport: true });
      expect(r.dropped).toEqual([]);
      const { manifest } = await exportTo('c.csv', '2023-12-01', '2024-02-01');
      await sealOnce(db, { settleMs: 0 });
      r = await runRetention(db, { keepMs: KEEP, now: NOW, requireExport: true });
      expect(r.dropped).toMatchObject([{ partition: 'records_2024_01', export: { recordId: manifest.auditRecordId, sha256: manifest.sha256 } }]);
      expect(r.verdicts.find((v) => v.partition.name === 'records_2024_02')).toMatchObject({ action: 'keep', reason: expect.stringContaining('export') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a partition that changed after the retention digest was computed is refused by the database', async () => {
    await sealOnce(db, { settleMs: 0 });
    const head = (await db.query<{ hash: string }>('SELECT hash FROM audit.digests ORDER BY id DESC LIMIT 1')).rows[0]?.hash;
    const err = await db
      .query(`SELECT audit.drop_partition('records_2024_01', $1, 'f00', 99, '{[1,2)}'::int8multirange, NULL, NULL, NULL)`, [head])
      .catch((e: unknown) => e as Error);
    expect((err as Error).message).toContain('changed since the retention digest was computed');
    const def = await db
      .query(`SELECT audit.drop_partition('records_default', $1, 'f00', 0, '{}'::int8multirange, NULL, NULL, NULL)`, [head])
      .catch((e: unknown) => e as Error);
    expect((def as Error).message).toContain('never dropped');
    expect(await count()).toBe(17);
  });
});

describe('otel-audit verify and retention commands', () => {
  beforeEach(async () => {
    b = await openTestBackend('postgres');
    db = b.db;
    await migrate(db);
    await history();
  });
  afterEach(async () => {
    await b?.teardown();
  });

  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(REPO, 'dist', 'cli.js'), ...args], { env: { PATH: process.env['PATH'] ?? '' } });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('verify: 0 and a summary when intact, 1 and each finding when not, JSON on request, recorded as audit.verify', async () => {
    const url = `postgres://postgres@127.0.0.1:5432/${b.name}`;
    await sealOnce(db, { settleMs: 0 });
    const ok = await cli('verify', '--database-url', url, '--as', 'auditor-1');
    expect(ok.stdout).toContain('OK: the chain and every checked record verified');
    expect(ok.code).toBe(0);
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE audit.records SET actor_id = 'x' WHERE id = 3`);
    });
    const bad = await cli('verify', '--database-url', url, '--json', '--as', 'auditor-1');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { ok: boolean; findings: { kind: string; recordId: string }[] };
    expect(report.ok).toBe(false);
    expect(report.findings).toMatchObject([{ kind: 'edited_row', recordId: '3' }]);
    const recs = (await db.query(`SELECT actor_id, outcome, attributes->>'findings' AS findings FROM audit.records WHERE action = 'audit.verify' ORDER BY id`)).rows;
    expect(recs).toEqual([
      { actor_id: 'auditor-1', outcome: 'success', findings: '0' },
      { actor_id: 'auditor-1', outcome: 'failure', findings: '1' },
    ]);
    expect((await cli('verify', '--from', 'yesterday', '--database-url', url)).code).toBe(2);
    expect((await cli('verify', '--help')).stdout).toContain('Usage: otel-audit verify');
  });

  it('retention: --dry-run lists, a real run drops, --keep is required', async () => {
    const url = `postgres://postgres@127.0.0.1:5432/${b.name}`;
    await sealOnce(db, { settleMs: 0 });
    const dry = await cli('retention', '--keep', '400d', '--dry-run', '--database-url', url);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would drop  records_2024_01 (2024-01-01 .. 2024-02-01, 6 rows)');
    expect(await count()).toBe(17);
    const real = await cli('retention', '--keep', '400d', '--database-url', url);
    expect(real.stdout).toContain('dropped  records_2024_02');
    expect(await count(`occurred_at >= '2024-01-01' AND occurred_at < '2024-03-01'`)).toBe(0);
    expect((await cli('retention', '--database-url', url)).code).toBe(2);
    expect((await cli('retention', '--keep', '400 days', '--database-url', url)).stderr).toContain('is not a duration');
  });
});
