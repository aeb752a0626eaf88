import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assetPath } from '../../src/assets.js';
import { ACTOR_TYPES, LEVELS, OUTCOMES } from '../../src/contract/values.js';
import type { Database } from '../../src/db/database.js';
import { ensurePartitions, loadMigrations, migrate } from '../../src/db/migrate.js';
import { seedRecords } from '../helpers/records.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';

const SHIPPED = assetPath('db', 'migrations');
const LEVEL_MIGRATION = '000007.sql';

/** The quoted values of the first `<column> IN ('a', 'b', ...)` in a migration. */
function allowedIn(file: string, column: string): string[] {
  const sql = readFileSync(join(SHIPPED, file), 'utf8');
  const list = new RegExp(`\\b${column} IN \\(([^)]*)\\)`).exec(sql)?.[1];
  if (list === undefined) throw new Error(`${file} has no CHECK (${column} IN (...))`);
  return list.split(',').map((v) => v.trim().replace(/^'(.*)'$/, '$1'));
}

describe('the CHECKs of audit.records list the contract\'s allowed values', () => {
  it('level (000007) lists LEVELS', () => {
    expect(allowedIn(LEVEL_MIGRATION, 'level')).toEqual([...LEVELS]);
  });

  it('outcome and actor_type (000001) list OUTCOMES and ACTOR_TYPES', () => {
    expect(allowedIn('000001.sql', 'outcome')).toEqual([...OUTCOMES]);
    expect(allowedIn('000001.sql', 'actor_type')).toEqual([...ACTOR_TYPES]);
  });
});

const TRACE = '5e0000000000000000000000000000a1';

/** Inserts one record with `level`, occurring at the SQL expression `at`. */
async function insertLevel(db: Database, level: string | null, span: string, at = "now() - interval '1 hour'"): Promise<void> {
  await db.query(
    `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, actor_type, action, outcome, level)
     VALUES ($1, $2, ${at}, 'svc', 'user', 'level.test', 'success', $3)`,
    [TRACE, span, level],
  );
}

const LEVEL_CHECK = "SELECT convalidated FROM pg_constraint WHERE conrelid = 'audit.records'::regclass AND conname = 'records_level_check'";

describe.each(['postgres', 'pglite'] as const)('migration 000007 on %s', (backend) => {
  let dir: string;
  beforeAll(async () => {
    // The shipped migrations before 000007: a database as earlier versions left it.
    dir = await mkdtemp(join(tmpdir(), 'otel-audit-migrations-'));
    for (const m of await loadMigrations(SHIPPED)) if (m.name < LEVEL_MIGRATION) await copyFile(join(SHIPPED, m.name), join(dir, m.name));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const withOldDatabase = async (body: (db: Database) => Promise<void>): Promise<void> => {
    const fx: TestBackend = await openTestBackend(backend, 2);
    try {
      await migrate(fx.db, { dir });
      await body(fx.db);
    } finally {
      await fx.teardown();
    }
  };

  it('keeps rows stored with other levels as they are, and checks every new row, also in partitions made later', async () => {
    await withOldDatabase(async (db) => {
      await seedRecords(db, 4);
      await insertLevel(db, 'verbose', '5e00000000000001');
      await insertLevel(db, null, '5e00000000000002');
      const before = await db.query('SELECT id, level FROM audit.records ORDER BY id');
      await migrate(db);
      expect((await db.query('SELECT id, level FROM audit.records ORDER BY id')).rows).toEqual(before.rows);
      expect((await db.query<{ convalidated: boolean }>(LEVEL_CHECK)).rows).toEqual([{ convalidated: false }]);

      await expect(insertLevel(db, 'verbose', '5e00000000000003')).rejects.toMatchObject({ code: '23514' });
      await insertLevel(db, 'basic', '5e00000000000004');
      await insertLevel(db, null, '5e00000000000005');
      await ensurePartitions(db, 2);
      await expect(insertLevel(db, 'FULL', '5e00000000000006', "now() + interval '1 month'")).rejects.toMatchObject({ code: '23514' });
      await insertLevel(db, 'minimal', '5e00000000000007', "now() + interval '1 month'");
    });
  });

  // Migrating an embedded database takes tens of seconds: this case runs on Postgres only.
  it.runIf(backend === 'postgres')('validates the check when every stored level is one of the contract\'s', async () => {
    await withOldDatabase(async (db) => {
      await seedRecords(db, 3);
      await insertLevel(db, null, '5e00000000000011');
      await migrate(db);
      expect((await db.query<{ convalidated: boolean }>(LEVEL_CHECK)).rows).toEqual([{ convalidated: true }]);
      await expect(insertLevel(db, 'none', '5e00000000000012')).rejects.toMatchObject({ code: '23514' });
    });
  });
});
