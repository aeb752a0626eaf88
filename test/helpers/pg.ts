/**
 * Throwaway databases on the local test server (127.0.0.1:5432, trust auth).
 * The schema name `audit` is fixed, so each test file that touches Postgres
 * takes a fresh database of its own.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../src/db/database.js';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Run SQL (one or more statements) as the server's superuser. */
export async function adminQuery(sql: string): Promise<void> {
  await admin((c) => c.query(sql));
}

/**
 * Connections to one test database under other login roles; `endAll()`
 * closes every client it opened. `databaseName` is read at each call (the
 * database is made in `beforeAll`).
 */
export function roleConnections(databaseName: () => string): {
  urlAs(user: string): string;
  connectAs(user: string): Promise<pg.Client>;
  endAll(): Promise<void>;
} {
  const clients: pg.Client[] = [];
  const urlAs = (user: string): string => `postgres://${user}@127.0.0.1:5432/${databaseName()}`;
  return {
    urlAs,
    async connectAs(user: string): Promise<pg.Client> {
      const c = new pg.Client({ connectionString: urlAs(user) });
      await c.connect();
      clients.push(c);
      return c;
    },
    async endAll(): Promise<void> {
      for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    },
  };
}

export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `otel_audit_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/**
 * Connections to database name other than the asking one, after waiting up
 * to timeoutMs for closing ones to go (a backend exits shortly after its
 * client hangs up). 0 means every pool was closed.
 */
export async function openConnections(name: string, timeoutMs = 2_000): Promise<number> {
  return admin(async (c) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      const n = rows[0]?.n ?? 0;
      if (n === 0 || Date.now() > deadline) return n;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/** A database of either backend for a test file, with a teardown that checks nothing was left open. */
export interface TestBackend {
  db: Database;
  /** Closes everything; for Postgres, drops the database and asserts no connection was left open. */
  teardown(): Promise<void>;
  /** Postgres only: the database name. */
  name?: string;
}

export async function openTestBackend(backend: 'postgres' | 'pglite', poolSize = 4): Promise<TestBackend> {
  if (backend === 'postgres') {
    const test = await createTestDatabase();
    const db = await openDatabase({ url: test.url, env: {}, poolSize });
    return {
      db,
      name: test.name,
      async teardown() {
        await db.close();
        const left = await openConnections(test.name);
        await test.drop();
        if (left !== 0) throw new Error(`${left} connection(s) left open to the test database`);
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'otel-audit-db-'));
  const db = await openDatabase({ dataDir: dir, env: {} });
  return {
    db,
    async teardown() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
