/**
 * Paging through everything holds the server's memory: `otel-audit serve`
 * (dist/cli.js, a child process) with its V8 heap capped at 40 MiB follows
 * the cursor through 200,000 records, 500 a page, to the last one. The
 * records it sends add up to several times that heap, so a server that
 * kept what it had sent would run out of heap and die before the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { REPO } from '../helpers/app-process.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';
import { seedBulkRecords } from './seed.js';

const ROWS = 200_000;
const PAGE = 500;
/** The server's old-space heap, MiB: far below the JSON of ROWS records. */
const HEAP_MIB = 40;
const suffix = randomBytes(4).toString('hex');
const ROLE = `t_paging_${suffix}`;
const TOKEN = `paging-token-${suffix}-0123456789`;

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;
let server: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(`CREATE ROLE ${ROLE} IN ROLE audit_auditor`);
  await seedBulkRecords(owner, ROWS, 't-a', '2026-11-20T12:00:00Z');
}, 180_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((ok) => server?.once('exit', ok));
    server.kill('SIGTERM');
    await exited;
  }
  await owner?.close();
  await database?.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE}`);
});

async function startServer(): Promise<string> {
  const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, join(REPO, 'dist', 'cli.js'), 'serve', '--database-url', database.url, '--port', '0'], {
    env: { PATH: process.env['PATH'] ?? '', OTEL_AUDIT_SERVE_TOKENS: JSON.stringify([{ name: 'pager', token: TOKEN, role: ROLE }]) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((ok, fail) => {
    const look = (): void => {
      const m = /viewer and API at (http:\/\/\S+)\//.exec(output);
      if (m) ok(m[1] as string);
      else if (child.exitCode !== null) fail(new Error(`otel-audit serve exited (${child.exitCode}):\n${output}`));
      else setTimeout(look, 50);
    };
    look();
  });
}

describe('paging through everything', () => {
  it(`reaches the last of ${ROWS} records with the server's heap capped at ${HEAP_MIB} MiB`, async () => {
    const base = await startServer();
    let cursor: string | null = null;
    let rows = 0;
    let pages = 0;
    let last = '';
    do {
      const res: Response = await fetch(`${base}/api/records?limit=${PAGE}${cursor ? `&cursor=${cursor}` : ''}`, { headers: { Authorization: `Bearer ${TOKEN}` } }).catch(
        (err: unknown) => {
          throw new Error(`the server went away after ${rows} records (exit ${String(server?.exitCode)}): ${(err as Error).message}\n${output.slice(-2000)}`);
        },
      );
      expect(res.status, output.slice(-2000)).toBe(200);
      const body = (await res.json()) as { records: { id: string; actor_id: string }[]; next: string | null };
      // Newest first: the audit.view records of this very paging are newer than the cursor and never show up.
      for (const r of body.records) expect(r.actor_id).toBe('u-bulk');
      rows += body.records.length;
      last = body.records[body.records.length - 1]?.id ?? last;
      cursor = body.next;
      pages++;
    } while (cursor !== null);
    expect(rows).toBe(ROWS);
    expect(pages).toBe(ROWS / PAGE);
    const { rows: oldest } = await owner.query<{ id: string }>("SELECT id::text AS id FROM audit.records WHERE actor_id = 'u-bulk' ORDER BY occurred_at, id LIMIT 1");
    expect(last).toBe(oldest[0]?.id);
    expect(server?.exitCode).toBeNull();
  }, 300_000);
});
