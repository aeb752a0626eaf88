// Transactional outbox with Kysely: the audit record of a change is written
// in the change's own transaction, so it exists if and only if the change
// committed. `otel-audit relay` sends it on.
//
//   import { Kysely, PostgresDialect } from 'kysely';
//   import pg from 'pg';
//   const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString }) }) });
//   await renameAccount(db, 'a-1', 'Alice');
import { CompiledQuery } from 'kysely';
import { audit } from 'otel-audit';

/**
 * The adapter audit.inTransaction() needs: one parameterised statement
 * ($1, $2, ... placeholders) run on the Kysely transaction.
 */
export function outboxClient(trx) {
  return { query: (text, values) => trx.executeQuery(CompiledQuery.raw(text, values)) };
}

/** Rename an account; the audit record (old and new values) commits or rolls back with it. */
export async function renameAccount(db, id, name) {
  return db.transaction().execute(async (trx) => {
    const before = await trx.selectFrom('accounts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!before) throw new Error(`no account ${id}`);
    const after = await trx.updateTable('accounts').set({ name }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await audit.inTransaction(outboxClient(trx), { action: 'account.update', resource: { type: 'account', id }, before, after });
    return after;
  });
}
