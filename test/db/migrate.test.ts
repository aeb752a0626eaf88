import { readdirSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assetPath } from '../../src/assets.js';
import { migrateCommand } from '../../src/cli/migrate.js';
import { type Database, openDatabase } from '../../src/db/database.js';
import { ensurePartitions, loadMigrations, migrate, schemaStatus } from '../../src/db/migrate.js';
import { createTestDatabase, openConnections, openTestBackend, type TestBackend } from '../helpers/pg.js';
import { runCommand } from '../helpers/cli-run.js';

const SHIPPED = assetPath('db', 'migrations');
/** The migrations that ship, and names for test migrations that come after them. */
const SHIPPED_NAMES = readdirSync(SHIPPED).filter((f) => /^\d{6}.*\.sql$/.test(f)).sort();
const N = SHIPPED_NAMES.length;
const mig = (k: number): string => `${String(N + k).padStart(6, '0')}.sql`;
const re = (name: string): string => name.replace('.', '\\.');



/** Month partition name for the month `offset` months from now (UTC). */
function partitionName(offset: number): string {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
  return `records_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** A temporary migrations directory: the shipped migrations plus extra files. */
async function migrationsDir(extra: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'otel-audit-migrations-'));
  for (const m of await loadMigrations(SHIPPED)) await copyFile(join(SHIPPED, m.name), join(dir, m.name));
  for (const [name, sql] of Object.entries(extra)) await writeFile(join(dir, name), sql);
  return dir;
}

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

describe.each(['postgres', 'pglite'] as const)('migrations on %s', (backend) => {
  let fx: TestBackend;
  let db: Database;
  const temp: string[] = [];
  beforeAll(async () => {
    fx = await openTestBackend(backend);
    db = fx.db;
  });
  afterAll(async () => {
    await fx?.teardown();
    for (const dir of temp) await rm(dir, { recursive: true, force: true });
  });

  it('creates the schema on a fresh database', async () => {
    expect(await schemaStatus(db)).toEqual({ applied: 0, latest: N, pending: N });
    const log: string[] = [];
    const result = await migrate(db, { log: (m) => log.push(m) });
    expect(result).toEqual({ applied: SHIPPED_NAMES, current: N });
    expect(log).toEqual(SHIPPED_NAMES.map((n) => expect.stringMatching(new RegExp(`^applied ${re(n)} \\(\\d+ ms\\)$`))));

    const { rows } = await db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'audit' AND c.relkind IN ('r', 'p') ORDER BY 1",
    );
    const tables = rows.map((r) => r.name);
    for (const t of ['records', 'records_default', 'rejected', 'emitters', 'digests', 'schema_migrations']) expect(tables).toContain(t);
    const recorded = await db.query<{ id: number; name: string; checksum: string; applied_at: Date }>('SELECT * FROM audit.schema_migrations');
    expect(recorded.rows).toEqual(SHIPPED_NAMES.map((name, i) => ({ id: i + 1, name, checksum: expect.stringMatching(/^[0-9a-f]{64}$/), applied_at: expect.any(Date) })));
    expect(await schemaStatus(db)).toEqual({ applied: N, latest: N, pending: 0 });
  });

  it('applies nothing the second time', async () => {
    expect(await migrate(db)).toEqual({ applied: [], current: N });
    expect((await db.query('SELECT 1 FROM audit.schema_migrations')).rowCount).toBe(N);
  });

  it('has monthly partitions for this month and the next 12', async () => {
    const first = await ensurePartitions(db);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(await ensurePartitions(db)).toBe(0);
    const { rows } = await db.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit.records'::regclass",
    );
    const names = rows.map((r) => r.name);
    for (let offset = -1; offset <= 12; offset++) expect(names).toContain(partitionName(offset));
    expect(names).toContain('records_default');
  });

  it('routes rows to the month partition, and far past or future ones to records_default', async () => {
    const insert = (occurredAt: string, action: string) =>
      db.query<{ part: string }>(
        `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome)
         VALUES ($1, $2, $3, 'svc', 'user', $4, 'success')
         RETURNING tableoid::regclass::text AS part`,
        [TRACE, SPAN, occurredAt, action],
      );
    const now = new Date();
    expect((await insert(now.toISOString(), 'now')).rows[0]?.part).toBe(`audit.${partitionName(0)}`);
    expect((await insert('1999-12-31T23:59:59Z', 'past')).rows[0]?.part).toBe('audit.records_default');
    expect((await insert('2199-01-01T00:00:00Z', 'future')).rows[0]?.part).toBe('audit.records_default');
  });

  it('ignores a duplicate through the records_identity index', async () => {
    const sql = `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, resource_type, resource_id, outcome)
                 VALUES ($1, $2, '2026-05-05T05:05:05.123456Z', 'svc', 'user', 'orders.update', 'order', '42', 'success')
                 ON CONFLICT DO NOTHING`;
    expect((await db.query(sql, [TRACE, SPAN])).rowCount).toBe(1);
    expect((await db.query(sql, [TRACE, SPAN])).rowCount).toBe(0);
    // The server span id is part of the identity: another request under the same trace is another record.
    expect((await db.query(sql, [TRACE, 'ffffffffffffffff'])).rowCount).toBe(1);
    const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM audit.records WHERE action = 'orders.update'");
    expect(rows[0]?.n).toBe('2');
    const err = await db.query(sql.replace(' ON CONFLICT DO NOTHING', ''), [TRACE, SPAN]).catch((e: unknown) => e);
    expect((err as { code?: string; constraint?: string }).code).toBe('23505');
  });

  it('batch-inserts records through unnest() with ON CONFLICT DO NOTHING', async () => {
    const n = 3;
    const traces = ['1', '2', '1'].map((c) => c.repeat(32)); // the third repeats the first
    const result = await db.query(
      `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome, attributes, emitter_id, emitter_seq)
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::int8[])
       ON CONFLICT DO NOTHING`,
      [
        traces,
        Array(n).fill(SPAN),
        ['2026-06-01T00:00:00.000001Z', '2026-06-02T00:00:00Z', '2026-06-01T00:00:00.000001Z'],
        Array(n).fill('batch'),
        ['user', 'service', 'user'],
        Array(n).fill('items.list'),
        ['success', 'denied', 'success'],
        [JSON.stringify({ 'http.request.header.x': ['a'] }), JSON.stringify({}), JSON.stringify({ again: true })],
        Array(n).fill('emitter-1'),
        ['1', '2', '3'],
      ],
    );
    expect(result.rowCount).toBe(2);
    const { rows } = await db.query("SELECT trace_id, occurred_at, attributes, emitter_seq FROM audit.records WHERE service_name = 'batch' ORDER BY emitter_seq");
    expect(rows).toEqual([
      { trace_id: traces[0], occurred_at: new Date('2026-06-01T00:00:00.000Z'), attributes: { 'http.request.header.x': ['a'] }, emitter_seq: '1' },
      { trace_id: traces[1], occurred_at: new Date('2026-06-02T00:00:00Z'), attributes: {}, emitter_seq: '2' },
    ]);
  });

  it('tracks emitter sequence numbers in an int8multirange', async () => {
    const upsert = `INSERT INTO audit.emitters AS e (emitter_id, seen, max_seq)
                    VALUES ($1, int8multirange(int8range($2::int8, $3::int8)), $3::int8 - 1)
                    ON CONFLICT (emitter_id) DO UPDATE
                      SET seen = e.seen + excluded.seen, max_seq = greatest(e.max_seq, excluded.max_seq)
                    RETURNING seen::text AS seen, max_seq`;
    await db.query(upsert, ['em', '1', '3']);
    await db.query(upsert, ['em', '5', '8']);
    const { rows } = await db.query(upsert, ['em', '3', '5']);
    expect(rows).toEqual([{ seen: '{[1,8)}', max_seq: '7' }]);
    const gaps = await db.query<{ gaps: string }>(
      "SELECT (int8multirange(int8range(1, max_seq + 1)) - '{[1,3),[4,6)}'::int8multirange)::text AS gaps FROM audit.emitters WHERE emitter_id = 'em'",
    );
    expect(gaps.rows[0]?.gaps).toBe('{[3,4),[6,8)}');
  });

  it('rolls back a failing migration and records nothing of it', async () => {
    const dir = await migrationsDir({ [mig(1)]: 'CREATE TABLE audit.half_done (x int);\nSELEC 1;\n' });
    temp.push(dir);
    await expect(migrate(db, { dir })).rejects.toThrow(new RegExp(`migration ${re(mig(1))} failed: syntax error`));
    expect((await db.query("SELECT to_regclass('audit.half_done') AS t")).rows).toEqual([{ t: null }]);
    expect(await schemaStatus(db, { dir })).toEqual({ applied: N, latest: N + 1, pending: 1 });
  });

  it('detects a shipped migration that was edited', async () => {
    const dir = await migrationsDir({ [mig(1)]: 'CREATE TABLE audit.extra (x int);\n' });
    temp.push(dir);
    expect(await migrate(db, { dir })).toEqual({ applied: [mig(1)], current: N + 1 });
    await writeFile(join(dir, mig(1)), 'CREATE TABLE audit.extra (x int, y int);\n');
    await expect(migrate(db, { dir })).rejects.toThrow(new RegExp(`${re(mig(1))} differs from the one applied .* must never be edited`));
    await expect(migrate(db, { dir })).rejects.toThrow(new RegExp(`${re(mig(1))} differs`));
    // CRLF line endings alone do not count as an edit.
    await writeFile(join(dir, mig(1)), 'CREATE TABLE audit.extra (x int);\r\n');
    expect(await migrate(db, { dir })).toEqual({ applied: [], current: N + 1 });

    // The shipped set, one behind the database: reported, not an error.
    const log: string[] = [];
    expect(await migrate(db, { log: (m) => log.push(m) })).toEqual({ applied: [], current: N + 1 });
    expect(log).toEqual([expect.stringContaining(`does not know: ${mig(1)}`)]);
    expect(await schemaStatus(db)).toEqual({ applied: N + 1, latest: N, pending: 0 });
    await db.exec(`DROP TABLE audit.extra; DELETE FROM audit.schema_migrations WHERE id = ${N + 1}`);
  });

  it('serialises concurrent migrate() calls on one database object', async () => {
    const dir = await migrationsDir({
      [mig(1)]: 'CREATE TABLE audit.c2 (x int);',
      [mig(2)]: 'CREATE TABLE audit.c3 (x int);',
    });
    temp.push(dir);
    const results = await Promise.all([migrate(db, { dir }), migrate(db, { dir }), migrate(db, { dir })]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual([mig(1), mig(2)]);
    expect(results.every((r) => r.current === N + 2)).toBe(true);
    await db.exec('DROP TABLE audit.c2, audit.c3; DELETE FROM audit.schema_migrations WHERE id > 1');
  });
});

describe('migration files', () => {
  it('must be numbered 000001.sql, 000002.sql, … without gaps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-names-'));
    try {
      await writeFile(join(dir, '000001.sql'), 'SELECT 1;');
      await writeFile(join(dir, '000002-add-things.sql'), 'SELECT 2;');
      await writeFile(join(dir, 'README.md'), 'not a migration');
      expect((await loadMigrations(dir)).map((m) => [m.id, m.name])).toEqual([
        [1, '000001.sql'],
        [2, '000002-add-things.sql'],
      ]);
      await writeFile(join(dir, '000004.sql'), 'SELECT 4;');
      await expect(loadMigrations(dir)).rejects.toThrow(/found 000004\.sql where 000003 belongs/);
      await rm(join(dir, '000004.sql'));
      await writeFile(join(dir, '3.sql'), 'SELECT 3;');
      await expect(loadMigrations(dir)).rejects.toThrow(/3\.sql is not named NNNNNN\.sql/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ship with the package', async () => {
    const shipped = await loadMigrations();
    expect(shipped[0]?.name).toBe('000001.sql');
  });
});

describe('concurrent migration from several processes (postgres)', () => {
  it('applies each migration exactly once', async () => {
    const test = await createTestDatabase();
    const dir = await migrationsDir({
      [mig(1)]: 'CREATE TABLE audit.m2 (x int); SELECT pg_sleep(0.05);',
      [mig(2)]: 'ALTER TABLE audit.m2 ADD COLUMN y int;',
      [mig(3)]: 'CREATE INDEX m2_y ON audit.m2 (y);',
    });
    const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase({ url: test.url, env: {}, poolSize: 2 })));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db, { dir })));
      expect(results.flatMap((r) => r.applied).sort()).toEqual([...SHIPPED_NAMES, mig(1), mig(2), mig(3)]);
      expect(results.every((r) => r.current === N + 3)).toBe(true);
      const { rows } = await dbs[0]!.query<{ id: number }>('SELECT id FROM audit.schema_migrations ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual(Array.from({ length: N + 3 }, (_, i) => i + 1));
      // Partition creation from several processes at once is safe too.
      const created = await Promise.all(dbs.map((db) => ensurePartitions(db, 24)));
      expect(created.filter((n) => n > 0)).toHaveLength(1);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      const left = await openConnections(test.name);
      await test.drop();
      await rm(dir, { recursive: true, force: true });
      expect(left).toBe(0);
    }
  });
});

describe('otel-audit migrate', () => {
  const run = (argv: string[]) => runCommand(migrateCommand, argv);

  it('prints help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const word of ['DATABASE_URL', 'PGHOST', 'PGSERVICE', 'OTEL_AUDIT_DATA_DIR', '--database-url', '--data-dir', '--verbose']) {
      expect(out).toContain(word);
    }
  });

  it('migrates a fresh Postgres database, then finds it up to date', async () => {
    const test = await createTestDatabase();
    try {
      const first = await run(['--database-url', test.url]);
      const applied = SHIPPED_NAMES.map((n) => `applied ${re(n)} \\(\\d+ ms\\)\\n`).join('');
      const plural = N === 1 ? 'migration' : 'migrations';
      expect(first).toEqual({ code: 0, out: expect.stringMatching(new RegExp(`^${applied}(created \\d+ monthly partitions? of audit.records\\n)?schema at version ${N} \\(${N} ${plural} applied\\)\\n$`)), err: '' });
      const second = await run([`--database-url=${test.url}`, '--verbose']);
      expect(second.code).toBe(0);
      expect(second.out).toBe(`database: ${test.url}\nschema up to date at version ${N}\n`);
      expect(await openConnections(test.name)).toBe(0);
    } finally {
      await test.drop();
    }
  });

  it('migrates the embedded database in --data-dir even with PG variables set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otel-audit-cli-'));
    vi.stubEnv('PGHOST', '127.0.0.1');
    vi.stubEnv('DATABASE_URL', 'postgres://postgres@127.0.0.1:1/nowhere');
    try {
      const { code, out, err } = await run(['--data-dir', dir]);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain(`schema at version ${N}`);
    } finally {
      vi.unstubAllEnvs();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails with one line when the database is unreachable', async () => {
    const { code, out, err } = await run(['--database-url', 'postgres://postgres:secret@127.0.0.1:1/nowhere']);
    expect(code).toBe(1);
    expect(out).toBe('');
    // The password is never shown; having it on the command line draws a warning first.
    expect(err.split('\n')[0]).toMatch(/^otel-audit migrate: warning: --database-url holds a password/);
    expect(err.split('\n').slice(1).join('\n')).toBe(
      'otel-audit migrate: cannot reach the database (postgres://postgres@127.0.0.1:1/nowhere): connect ECONNREFUSED 127.0.0.1:1\n',
    );
    expect(err).not.toContain('secret');
    const verbose = await run(['--database-url', 'postgres://postgres@127.0.0.1:1/nowhere', '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.err).toMatch(/\n\s+at /); // the stack, on request
  });

  it('rejects bad usage with exit status 2', async () => {
    expect((await run(['--nope'])).code).toBe(2);
    expect((await run(['--database-url', 'postgres://x@y/z', '--data-dir', '/tmp/x'])).code).toBe(2);
    expect((await run(['extra'])).code).toBe(2);
  });
});
