/**
 * The Kysely example (examples/outbox-kysely): audit.inTransaction() through
 * a query builder's transaction, against a real Postgres business database.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a JavaScript example without type declarations
import { outboxClient, renameAccount } from '../../examples/outbox-kysely/accounts.js';
import { audit, type OutboxClient } from '../../src/index.js';
import { createOutboxDatabase, queryOnce } from '../helpers/outbox.js';

interface Accounts {
  accounts: { id: string; name: string; password: string | null };
}

let biz: { url: string; drop(): Promise<void> };
let db: Kysely<Accounts>;
const rename = renameAccount as (db: Kysely<Accounts>, id: string, name: string) => Promise<{ id: string; name: string }>;
const adapter = outboxClient as (trx: unknown) => OutboxClient;

beforeAll(async () => {
  biz = await createOutboxDatabase();
  await queryOnce(biz.url, "CREATE TABLE accounts (id text PRIMARY KEY, name text NOT NULL, password text); INSERT INTO accounts VALUES ('a-1', 'Al', 'pw')");
  db = new Kysely<Accounts>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: biz.url, max: 2 }) }) });
});

afterAll(async () => {
  await db?.destroy();
  await biz?.drop();
});

describe('examples/outbox-kysely', () => {
  it('a committed change writes its outbox row in the same transaction, values redacted', async () => {
    expect(await rename(db, 'a-1', 'Alice')).toMatchObject({ id: 'a-1', name: 'Alice' });
    const rows = await queryOnce<{ attributes: Record<string, string> }>(biz.url, 'SELECT attributes FROM audit_outbox.records');
    expect(rows).toHaveLength(1);
    const attrs = rows[0]?.attributes ?? {};
    expect(attrs['audit.action']).toBe('account.update');
    expect(attrs['audit.resource.id']).toBe('a-1');
    expect(JSON.parse(attrs['audit.change.before'] as string)).toEqual({ id: 'a-1', name: 'Al', password: '[REDACTED]' });
    expect(JSON.parse(attrs['audit.change.after'] as string)).toEqual({ id: 'a-1', name: 'Alice', password: '[REDACTED]' });
  });

  it('a change that fails leaves neither the change nor an outbox row', async () => {
    await expect(rename(db, 'nobody', 'X')).rejects.toThrow(/no account nobody/);
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.updateTable('accounts').set({ name: 'Bob' }).where('id', '=', 'a-1').execute();
        await audit.inTransaction(adapter(trx), { action: 'account.update', resource: { type: 'account', id: 'a-1' }, after: { name: 'Bob' } });
        throw new Error('the handler fails after the write');
      }),
    ).rejects.toThrow(/handler fails/);
    expect(await queryOnce(biz.url, 'SELECT count(*)::int AS n FROM audit_outbox.records')).toEqual([{ n: 1 }]);
    expect(await queryOnce(biz.url, "SELECT name FROM accounts WHERE id = 'a-1'")).toEqual([{ name: 'Alice' }]);
  });
});
