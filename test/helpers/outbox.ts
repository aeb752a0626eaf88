/**
 * The transactional outbox under test: a business database with the outbox
 * schema, a real `otel-audit sink` process as the receiver, and relay
 * processes (`otel-audit relay`, the built CLI).
 */
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../../src/db/database.js';
import { migrateOutbox } from '../../src/db/outbox-migrate.js';
import { createTestDatabase } from './pg.js';
import { freePorts, REPO, spawnService, startSinkProcess, type Service } from './processes.js';

/** Merge window of the test sinks (the sink's `--outbox-window`). */
export const TEST_OUTBOX_WINDOW = '1s';

/** Run one query on a database and close the connection. */
export async function queryOnce<R extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** Apply the outbox migrations to the database at url. */
export async function migrateOutboxAt(url: string): Promise<void> {
  const db = await openDatabase({ url, env: {}, poolSize: 1 });
  try {
    await migrateOutbox(db);
  } finally {
    await db.close();
  }
}

/** A fresh business database on the shared server, with the outbox schema. */
export async function createOutboxDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const db = await createTestDatabase();
  await migrateOutboxAt(db.url);
  return db;
}

/** Rows still in the outbox. */
export async function outboxCount(url: string): Promise<number> {
  const rows = await queryOnce<{ n: number }>(url, 'SELECT count(*)::int AS n FROM audit_outbox.records');
  return rows[0]?.n ?? 0;
}

export interface SinkUnderTest {
  readonly service: Service;
  /** OTLP/gRPC endpoint. */
  readonly endpoint: string;
  /** Connection URL of its audit database. */
  readonly url: string;
  rows(where?: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

/** `otel-audit sink` as a process over a fresh audit database, merge window `window` (`--outbox-window`). */
export async function startOutboxSink(name = 'sink', window = TEST_OUTBOX_WINDOW): Promise<SinkUnderTest> {
  const db = await createTestDatabase();
  const [grpcPort, httpPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const service = await startSinkProcess(name, {
    databaseUrl: db.url,
    grpcPort,
    httpPort,
    metricsPort,
    env: { OTEL_AUDIT_SINK_OUTBOX_WINDOW: window },
  });
  return {
    service,
    endpoint: `http://127.0.0.1:${grpcPort}`,
    url: db.url,
    rows: (where = 'true', params: unknown[] = []) => queryOnce(db.url, `SELECT * FROM audit.records WHERE ${where} ORDER BY id`, params),
    async stop() {
      await service.stop();
      await db.drop();
    },
  };
}

/** `otel-audit relay` as a process, ready once it said where it sends. */
export function startRelayProcess(name: string, databaseUrl: string, endpoint: string, args: string[] = [], env: Record<string, string> = {}): Promise<Service> {
  return spawnService(name, process.execPath, [join(REPO, 'dist', 'cli.js'), 'relay', '--endpoint', endpoint, ...args], {
    env: { DATABASE_URL: databaseUrl, OTEL_AUDIT_RELAY_GRACE: '0s', ...env },
    ready: (out) => out.includes('otel-audit relay: moving'),
  });
}
