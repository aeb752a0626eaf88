/**
 * audit.inTransaction() and `otel-audit migrate --outbox` against a real
 * Postgres business database, in this process (no SDK started: rows of
 * their own, as a background job writes them).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCommand } from '../../src/cli/migrate.js';
import { audit } from '../../src/index.js';
import { runCommand } from '../helpers/cli-run.js';
import { queryOnce } from '../helpers/outbox.js';
import { createTestDatabase } from '../helpers/pg.js';

let biz: { url: string; name: string; drop(): Promise<void> };
let client: pg.Client;

beforeAll(async () => {
  biz = await createTestDatabase();
  client = new pg.Client({ connectionString: biz.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await biz?.drop();
});

async function outboxRows(): Promise<Record<string, unknown>[]> {
  return (await client.query('SELECT * FROM audit_outbox.records ORDER BY created_at')).rows;
}

describe('otel-audit migrate --outbox', () => {
  it('refuses to run without a business database, and with the embedded one', async () => {
    const saved = { ...process.env };
    for (const k of ['DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE']) delete process.env[k];
    try {
      const none = await runCommand(migrateCommand, ['--outbox']);
      expect(none.code).toBe(2);
      expect(none.err).toMatch(/--outbox needs the business database/);
    } finally {
      Object.assign(process.env, saved);
    }
    const embedded = await runCommand(migrateCommand, ['--outbox', '--data-dir', '/nonexistent']);
    expect(embedded.code).toBe(2);
  });

  it('an INSERT before the schema exists rejects with its own error, and the transaction sees it', async () => {
    await client.query('BEGIN');
    await expect(audit.inTransaction(client, { action: 'user.update', resource: { type: 'user', id: 1 }, after: {} })).rejects.toMatchObject({ code: '42P01' });
    await expect(client.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
    await client.query('ROLLBACK');
  });

  it('creates schema audit_outbox with its own tracking table, and nothing of the audit schema; twice is a no-op', async () => {
    const first = await runCommand(migrateCommand, ['--outbox', '--database-url', biz.url]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/applied 000001\.sql/);
    const again = await runCommand(migrateCommand, ['--outbox', '--database-url', biz.url]);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/outbox schema audit_outbox up to date at version 1/);
    const tables = await queryOnce<{ t: string }>(
      biz.url,
      "SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('audit', 'audit_outbox') ORDER BY 1",
    );
    expect(tables.map((r) => r.t)).toEqual(['audit_outbox.records', 'audit_outbox.schema_migrations']);
  });
});

describe('audit.inTransaction with a pg Client', () => {
  it('writes one row in the transaction: gone on ROLLBACK, there on COMMIT, values redacted like audit.record', async () => {
    await client.query('BEGIN');
    const rolledBack = await audit.inTransaction(client, { action: 'user.update', resource: { type: 'user', id: 7 }, after: { name: 'x' } });
    expect(rolledBack).toMatch(/^[0-9a-f-]{36}$/);
    await client.query('ROLLBACK');
    expect(await outboxRows()).toEqual([]);

    await client.query('BEGIN');
    const before = { name: 'alice', password: 'hunter2', nested: { apiKey: 'k-1' } };
    const after = { name: 'alicia', password: 'hunter3', card: '4111 1111 1111 1111' };
    const id = await audit.inTransaction(client, {
      action: 'user.update',
      resource: { type: 'user', id: 42n },
      before,
      after,
      actor: { id: 'u-1', name: 'admin' },
      tenant: 't-9',
      meta: { reason: 'support ticket', token: 'secret-token', at: new Date(0) },
    });
    // The caller's objects may change afterwards: the row holds the values as they were.
    after.name = 'changed later';
    await client.query('COMMIT');
    const rows = await outboxRows();
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    expect(row['id']).toBe(id);
    expect(row['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(row['span_id']).toMatch(/^[0-9a-f]{16}$/);
    expect(typeof row['service_name']).toBe('string');
    const attrs = row['attributes'] as Record<string, unknown>;
    expect(attrs).toMatchObject({
      'audit.action': 'user.update',
      'audit.resource.type': 'user',
      'audit.resource.id': '42',
      'audit.actor.id': 'u-1',
      'audit.actor.name': 'admin',
      'audit.actor.type': 'user',
      'audit.tenant.id': 't-9',
      'audit.outcome': 'success',
      'audit.meta.reason': 'support ticket',
      'audit.meta.token': '[REDACTED]',
      'audit.meta.at': '1970-01-01T00:00:00.000Z',
    });
    expect(JSON.parse(attrs['audit.change.before'] as string)).toEqual({ name: 'alice', password: '[REDACTED]', nested: { apiKey: '[REDACTED]' } });
    const afterValue = JSON.parse(attrs['audit.change.after'] as string) as Record<string, unknown>;
    expect(afterValue['name']).toBe('alicia');
    expect(afterValue['password']).toBe('[REDACTED]');
    expect(afterValue['card']).not.toContain('4111 1111 1111 1111');
    // Outside an operation there is no emitter: the relay path proves completeness by the table itself.
    expect(attrs['audit.emitter.id']).toBeUndefined();
    await client.query('DELETE FROM audit_outbox.records');
  });

  it('caps oversized values and keeps NUL out of the row', async () => {
    await client.query('BEGIN');
    await audit.inTransaction(client, { action: 'doc.update', resource: { type: 'doc', id: 'd\u0000' }, after: { body: 'x'.repeat(100_000), z: 'a\u0000b' } });
    await client.query('COMMIT');
    const [row] = await outboxRows();
    const attrs = (row as Record<string, unknown>)['attributes'] as Record<string, string>;
    expect(Buffer.byteLength(attrs['audit.change.after'] as string)).toBeLessThanOrEqual(4096);
    expect(attrs['audit.change.after']).toMatch(/truncated/);
    expect(attrs['audit.resource.id']).toBe('d\uFFFD');
    await client.query('DELETE FROM audit_outbox.records');
  });

  it('bad input writes nothing and never throws into the caller', async () => {
    await client.query('BEGIN');
    // @ts-expect-error: no action
    await expect(audit.inTransaction(client, { resource: { type: 'user' } })).resolves.toBeUndefined();
    // @ts-expect-error: no resource
    await expect(audit.inTransaction(client, { action: 'user.update' })).resolves.toBeUndefined();
    // @ts-expect-error: not a client
    await expect(audit.inTransaction({}, { action: 'user.update', resource: { type: 'user' } })).resolves.toBeUndefined();
    // @ts-expect-error: nothing at all
    await expect(audit.inTransaction(undefined, undefined)).resolves.toBeUndefined();
    await client.query('COMMIT');
    expect(await outboxRows()).toEqual([]);
  });

  it('works with any object that has query(text, values): the adapter interface', async () => {
    const seen: string[] = [];
    const adapter = {
      query: async (text: string, values: unknown[]): Promise<unknown> => {
        seen.push(text);
        return client.query(text, values);
      },
    };
    await client.query('BEGIN');
    await audit.inTransaction(adapter, { action: 'team.create', resource: { type: 'team', id: 't-1' }, after: { name: 'a' } });
    await client.query('COMMIT');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^INSERT INTO audit_outbox\.records/);
    expect(await outboxRows()).toHaveLength(1);
  });
});
