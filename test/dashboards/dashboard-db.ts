/**
 * A fresh, migrated test database for the dashboard queries, read the way
 * Grafana reads it: each query in its own transaction under one of the
 * schema's read roles (row-level security applies), with a session time zone
 * other than UTC so that no panel depends on it.
 */
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, openConnections } from '../helpers/pg.js';

export interface SqlResult {
  columns: string[];
  /** int8 and numeric as numbers, timestamptz as ISO strings, jsonb parsed. */
  rows: Record<string, unknown>[];
}

export interface ReadAs {
  /** Default `audit_auditor` (every tenant, read-only). */
  role?: 'audit_auditor' | 'audit_reader' | 'audit_admin';
  /** The tenant granted to `audit_reader` for this query (audit.grant_tenant, rolled back after it); also set as `app.tenant_id`. */
  tenant?: string;
}

const INT8 = 20;
const NUMERIC = 1700;
const TIMESTAMPTZ = 1184;

const parseTimestamptz = pg.types.getTypeParser(TIMESTAMPTZ, 'text') as (value: string) => unknown;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    if (oid === TIMESTAMPTZ) return (v: string) => (parseTimestamptz(v) as Date).toISOString();
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

export interface DashboardDb {
  /** Superuser (table owner) connection, for seeding. */
  owner: pg.Client;
  read(sql: string, as?: ReadAs): Promise<SqlResult>;
  teardown(): Promise<void>;
}

export interface Reader {
  read(sql: string, as?: ReadAs): Promise<SqlResult>;
  end(): Promise<void>;
}

/** A connection to database url that runs each query in its own transaction under a read role. */
export async function connectReader(url: string): Promise<Reader> {
  const client = new pg.Client({ connectionString: url, types });
  // A connection error of an idle client is reported on its next query; without a listener it would crash the run.
  client.on('error', () => undefined);
  await client.connect();
  return {
    async read(sql, as = {}) {
      await client.query('BEGIN');
      try {
        // Readers see the tenants granted to their role in the database, not what app.tenant_id says.
        if (as.tenant !== undefined && as.role === 'audit_reader') await client.query("SELECT audit.grant_tenant('audit_reader', $1)", [as.tenant]);
        await client.query(`SET LOCAL ROLE ${as.role ?? 'audit_auditor'}`);
        await client.query("SET LOCAL TimeZone = 'America/Sao_Paulo'");
        if (as.tenant !== undefined) await client.query('SELECT set_config($1, $2, true)', ['app.tenant_id', as.tenant]);
        const res = await client.query(sql);
        return { columns: res.fields.map((f) => f.name), rows: res.rows as Record<string, unknown>[] };
      } finally {
        await client.query('ROLLBACK');
      }
    },
    end: () => client.end(),
  };
}

export async function openDashboardDb(): Promise<DashboardDb> {
  const test = await createTestDatabase();
  const db = await openDatabase({ url: test.url, env: {} });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  const owner = new pg.Client({ connectionString: test.url, types });
  owner.on('error', () => undefined);
  await owner.connect();
  const reader = await connectReader(test.url);
  return {
    owner,
    read: (sql, as) => reader.read(sql, as),
    async teardown() {
      await reader.end();
      await owner.end();
      const left = await openConnections(test.name);
      await test.drop();
      if (left !== 0) throw new Error(`${left} connection(s) left open to the test database`);
    },
  };
}
