/**
 * The query API on Postgres: every filter, the cursor, the detail (diff,
 * seal, trace link), statistics, exports, tenant isolation enforced by the
 * database, and the audit records of every read.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealOnce } from '../../src/compliance/seal.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { rollUpOnce } from '../../src/serve/roll-up.js';
import { startServe, type ServeServer } from '../../src/serve/server.js';
import type { TokenSpec } from '../../src/serve/tokens.js';
import { tokenHash } from '../../src/serve/tokens.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';
import { SEED_ROWS, seedViewerRecords } from './seed.js';

const suffix = randomBytes(4).toString('hex');
const ROLE_A = `t_viewer_a_${suffix}`;
const ROLE_ALL = `t_viewer_all_${suffix}`;
const TOKEN_A = `token-a-${suffix}-0123456789`;
const TOKEN_ALL = `token-all-${suffix}-0123456789`;

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;
let server: ServeServer;
let tokens: TokenSpec[];

beforeAll(async () => {
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(`CREATE ROLE ${ROLE_A} IN ROLE audit_reader; CREATE ROLE ${ROLE_ALL} IN ROLE audit_auditor;`);
  await seedViewerRecords(owner);
  tokens = [
    { name: 'alice', sha256: tokenHash(TOKEN_A), role: ROLE_A, tenants: ['t-a'] },
    { name: 'auditor', sha256: tokenHash(TOKEN_ALL), role: ROLE_ALL },
  ];
  server = await startServe({ databaseUrl: database.url, env: {}, host: '127.0.0.1', port: 0, tokens, traceUrl: 'http://apm.test/trace/{trace_id}?span={span_id}', log: () => undefined });
});

afterAll(async () => {
  await server?.close();
  await owner?.close();
  await database?.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${ROLE_A}; DROP ROLE IF EXISTS ${ROLE_ALL};`);
});

/** Roll the counts up now, waiting out a turn the server's own timer may be taking. */
async function rollUpNow(): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const upto = await rollUpOnce(owner, 0);
    if (upto !== null) return upto;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the roll-up lock stayed taken');
}

async function api<T = Record<string, unknown>>(path: string, token = TOKEN_ALL, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, { ...init, headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as T };
}

interface PageBody {
  records: { id: string; occurred_at: string; tenant_id: string }[];
  next: string | null;
}

/** Every id the API lists for a query, following the cursor. */
async function allIds(query: string, token = TOKEN_ALL, limit = 50): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const sep = query ? '&' : '';
    const { status, body }: { status: number; body: PageBody } = await api<PageBody>(`/api/records?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, token);
    expect(status).toBe(200);
    ids.push(...body.records.map((r) => r.id));
    if (!body.next) return ids;
    cursor = body.next;
  }
  throw new Error('the cursor never ended');
}

/** The ids SQL finds (as the owner), newest first, excluding the viewer's own records. */
async function expectedIds(where: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await owner.query<{ id: string }>(
    `SELECT id::text AS id FROM audit.records WHERE action NOT LIKE 'audit.%' AND (${where}) ORDER BY occurred_at DESC, id DESC`,
    params,
  );
  return rows.map((r) => r.id);
}

const withoutOwn = async (ids: string[]): Promise<string[]> => {
  const { rows } = await owner.query<{ id: string }>("SELECT id::text AS id FROM audit.records WHERE action LIKE 'audit.%'");
  const own = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !own.has(id));
};

describe('access', () => {
  it('refuses requests without a valid bearer token', async () => {
    expect((await api('/api/records', '')).status).toBe(401);
    expect((await api('/api/records', 'wrong-token-0123456789')).status).toBe(401);
    const { body } = await api<{ error: { code: string } }>('/api/records', '');
    expect(body.error.code).toBe('unauthorized');
  });

  it('a token for tenant t-a never sees t-b, whatever it asks for', async () => {
    const ids = await allIds('', TOKEN_A);
    expect(ids).toEqual(await expectedIds("tenant_id = 't-a'"));
    expect(await allIds('tenant_id=t-b', TOKEN_A)).toEqual([]);
    const other = (await expectedIds("tenant_id = 't-b'"))[0] as string;
    expect((await api(`/api/records/${other}`, TOKEN_A)).status).toBe(404);
    expect((await api(`/api/records/${other}`, TOKEN_ALL)).status).toBe(200);
    const stats = await api<{ rows: { count: number }[] }>('/api/stats?from=2026-11-19&to=2026-11-21', TOKEN_A);
    expect(stats.body.rows.reduce((n, r) => n + r.count, 0)).toBe(SEED_ROWS / 2);
  });

  it('isolation is the database\'s: the role reads only its tenants even without the API', async () => {
    const { rows } = await owner.transaction(async (tx) => {
      await tx.query(`SET LOCAL ROLE ${ROLE_A}`);
      return tx.query<{ tenants: string[] }>('SELECT array_agg(DISTINCT tenant_id) AS tenants FROM audit.records');
    });
    expect(rows[0]?.tenants).toEqual(['t-a']);
  });
});

describe('filters', () => {
  const cases: [string, string, unknown[]][] = [
    ['actor_id=u-3', "actor_id = 'u-3'", []],
    ['action=user.delete', "action = 'user.delete'", []],
    ['resource_type=invoice&resource_id=inv-4', "resource_type = 'invoice' AND resource_id = 'inv-4'", []],
    ['module=billing', "module = 'billing'", []],
    ['outcome=denied', "outcome = 'denied'", []],
    ['service_name=worker', "service_name = 'worker'", []],
    ['tenant_id=t-b', "tenant_id = 't-b'", []],
    ['from=2026-11-20T11:30:00Z&to=2026-11-20T11:50:00Z', "occurred_at >= '2026-11-20T11:30:00Z' AND occurred_at < '2026-11-20T11:50:00Z'", []],
    ['q=v1', "url_path ILIKE '%v1%' OR actor_name ILIKE '%v1%'", []],
    ['q=cLEo', "url_path ILIKE '%cleo%' OR actor_name ILIKE '%cleo%'", []],
    ['q=%25', "false", []],
    ['actor_id=u-1&outcome=success&module=core', "actor_id = 'u-1' AND outcome = 'success' AND module = 'core'", []],
  ];
  for (const [query, where, params] of cases) {
    it(`${query} lists what SQL finds`, async () => {
      const expected = await expectedIds(where, params);
      if (where !== 'false') expect(expected.length).toBeGreaterThan(0);
      expect(await withoutOwn(await allIds(query))).toEqual(expected);
    });
  }

  it('trace_id finds its record', async () => {
    const { rows } = await owner.query<{ id: string; trace_id: string }>("SELECT id::text AS id, trace_id FROM audit.records WHERE resource_id = 'inv-7' LIMIT 1");
    const row = rows[0] as { id: string; trace_id: string };
    expect(await allIds(`trace_id=${row.trace_id.toUpperCase()}`)).toEqual([row.id]);
  });

  it('refuses unknown, repeated and malformed filters', async () => {
    for (const q of ['actor=u-1', 'outcome=maybe', 'trace_id=xyz', 'from=yesterday', 'actor_id=a&actor_id=b', 'limit=0', 'limit=501', 'cursor=bm9wZQ', 'from=2026-11-21&to=2026-11-20']) {
      const { status, body } = await api<{ error: { code: string } }>(`/api/records?${q}`);
      expect(status, q).toBe(400);
      expect(body.error.code).toMatch(/^bad_/);
    }
  });
});

describe('cursor', () => {
  it('pages newest first through every record, ties included, with no repeats', async () => {
    const paged = await withoutOwn(await allIds('', TOKEN_ALL, 7));
    expect(paged).toEqual(await expectedIds('true'));
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged.length).toBe(SEED_ROWS);
  });

  it('a page of a filtered list continues the same filter', async () => {
    expect(await allIds('actor_id=u-2', TOKEN_ALL, 3)).toEqual(await expectedIds("actor_id = 'u-2'"));
  });
});

describe('record detail', () => {
  it('has every column, the diff, the trace link, and the seal once sealed', async () => {
    const { rows } = await owner.query<{ id: string; trace_id: string; span_id: string }>(
      "SELECT id::text AS id, trace_id, span_id FROM audit.records WHERE tenant_id = 't-a' ORDER BY id LIMIT 1",
    );
    const row = rows[0] as { id: string; trace_id: string; span_id: string };
    type Detail = { record: Record<string, unknown>; diff: { entries: { path: string; kind: string }[] }; seal: { status: string; digest: { id: string } | null }; traceUrl: string };
    const first = await api<Detail>(`/api/records/${row.id}`, TOKEN_A);
    const status = first.status;
    let body = first.body;
    expect(status).toBe(200);
    expect(body.record.id).toBe(row.id);
    expect(Object.keys(body.record)).toContain('change_after');
    expect(body.record.change_before).toMatchObject({ owner: 'ann' });
    expect(body.diff.entries.map((e) => `${e.kind} ${e.path}`).sort()).toEqual(['added note', 'changed amount', 'removed tags[1]']);
    expect(body.traceUrl).toBe(`http://apm.test/trace/${row.trace_id}?span=${row.span_id}`);
    expect(body.seal).toEqual({ status: 'unsealed', digest: null });

    await sealOnce(owner, { settleMs: 0 });
    ({ body } = await api<Detail>(`/api/records/${row.id}`, TOKEN_A));
    expect(body.seal.status).toBe('verified');
    expect(body.seal.digest?.id).toMatch(/^\d+$/);

    await owner.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query("UPDATE audit.records SET actor_id = 'mallory' WHERE id = $1::bigint", [row.id]);
    });
    ({ body } = await api<Detail>(`/api/records/${row.id}`, TOKEN_A));
    expect(body.seal.status).toBe('modified');
  });

  it('answers 404 for ids that are not records', async () => {
    expect((await api('/api/records/0')).status).toBe(404);
    expect((await api('/api/records/abc')).status).toBe(404);
    expect((await api('/api/records/%E0%A4%A')).status).toBe(404);
    expect((await api('/api/records/99999999')).status).toBe(404);
  });
});

describe('statistics', () => {
  it('counts per bucket, module, action and outcome', async () => {
    const { status, body } = await api<{ bucket: string; rows: { bucket: string; module: string; action: string; outcome: string; count: number }[] }>(
      '/api/stats?from=2026-11-20T11:00:00Z&to=2026-11-20T12:01:00Z&module=core&bucket=hour',
    );
    expect(status).toBe(200);
    expect(body.bucket).toBe('hour');
    const { rows } = await owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit.records WHERE module = 'core' AND occurred_at >= '2026-11-20T11:00:00Z' AND occurred_at < '2026-11-20T12:00:00Z'",
    );
    const inHour11 = body.rows.filter((r) => r.bucket.startsWith('2026-11-20T11:')).reduce((n, r) => n + r.count, 0);
    expect(inHour11).toBe(rows[0]?.n);
    expect(new Set(body.rows.map((r) => r.module))).toEqual(new Set(['core']));
  });
});

describe('statistics from the hourly counts', () => {
  type StatsBody = { rolledUp: boolean; rows: { bucket: string; module: string; action: string; outcome: string; count: number }[] };
  const FROM = '2026-11-22T11:40:00Z';
  const TO = '2026-11-22T13:05:00Z';

  /** What counting the records says, as the API lists it. */
  async function counted(where: string): Promise<string[]> {
    const { rows } = await owner.query<{ line: string }>(
      `SELECT concat_ws(' ', h, module, action, outcome, n) AS line FROM (
         SELECT to_char(date_trunc('hour', occurred_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24') AS h, module, action, outcome, count(*) AS n
           FROM audit.records WHERE occurred_at >= '${FROM}' AND occurred_at < '${TO}' AND ${where} GROUP BY 1, 2, 3, 4) s ORDER BY 1`,
    );
    return rows.map((r) => r.line);
  }
  async function served(query: string, token = TOKEN_ALL): Promise<{ rolledUp: boolean; lines: string[] }> {
    const { status, body } = await api<StatsBody>(`/api/stats?from=${FROM}&to=${TO}&bucket=hour${query}`, token);
    expect(status).toBe(200);
    const lines = body.rows.map((r) => [r.bucket.slice(0, 13), r.module, r.action, r.outcome, r.count].join(' ')).sort();
    return { rolledUp: body.rolledUp, lines };
  }

  it('equal the counted records before and after a roll-up, with records added since, for every tenant and filter', async () => {
    // 240 records from 11:10 to 13:10: part of hour 11, all of hour 12, part of hour 13.
    await seedViewerRecords(owner, 240, '2026-11-22T13:10:00Z');
    const check = async (): Promise<void> => {
      expect(await served('')).toEqual({ rolledUp: true, lines: await counted('true') });
      expect(await served('&module=core&outcome=success')).toEqual({ rolledUp: true, lines: await counted("module = 'core' AND outcome = 'success'") });
      expect(await served('', TOKEN_A)).toEqual({ rolledUp: true, lines: await counted("tenant_id = 't-a'") });
      expect(await served('&actor_id=u-2')).toEqual({ rolledUp: false, lines: await counted("actor_id = 'u-2'") });
    };
    await check();
    expect(await rollUpNow()).toMatch(/^\d+$/);
    const { rows } = await owner.query<{ n: number }>("SELECT count(*)::int AS n FROM audit.record_counts WHERE hour = '2026-11-22T12:00:00Z'");
    expect(rows[0]?.n).toBeGreaterThan(0);
    await check();
    // Records that arrive after the roll-up are counted from the table.
    await seedViewerRecords(owner, 30, '2026-11-22T12:45:00Z');
    await check();
    await rollUpNow();
    await check();
  });

  it('a reader reads only the counts of its tenants, even without the API', async () => {
    await rollUpNow();
    const { rows } = await owner.transaction(async (tx) => {
      await tx.query(`SET LOCAL ROLE ${ROLE_A}`);
      return tx.query<{ tenants: string[] }>('SELECT array_agg(DISTINCT tenant_id) AS tenants FROM audit.record_counts');
    });
    expect(rows[0]?.tenants).toEqual(['t-a']);
  });
});

describe('audit of views', () => {
  it('records every search, view and stats request, naming the token and the filters', async () => {
    const before = (await owner.query<{ n: number }>("SELECT count(*)::int AS n FROM audit.operations WHERE action = 'audit.view'")).rows[0]?.n ?? 0;
    await api('/api/records?actor_id=u-4&outcome=success', TOKEN_A);
    const { rows } = await owner.query<{ actor_id: string; resource_type: string; attributes: { filters: Record<string, string>; 'viewer.role': string } }>(
      "SELECT actor_id, resource_type, attributes FROM audit.records WHERE action = 'audit.view' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toMatchObject({ actor_id: 'alice', resource_type: 'records' });
    expect(rows[0]?.attributes.filters).toEqual({ actor_id: 'u-4', outcome: 'success' });
    expect(rows[0]?.attributes['viewer.role']).toBe(ROLE_A);
    const after = (await owner.query<{ n: number }>("SELECT count(*)::int AS n FROM audit.operations WHERE action = 'audit.view'")).rows[0]?.n ?? 0;
    expect(after).toBe(before + 1);
  });

  it('records a record view, also of a record the token may not see', async () => {
    const other = (await expectedIds("tenant_id = 't-b'"))[0] as string;
    await api(`/api/records/${other}`, TOKEN_A);
    const { rows } = await owner.query<{ actor_id: string; resource_id: string; outcome: string }>(
      "SELECT actor_id, resource_id, outcome FROM audit.records WHERE action = 'audit.view' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ actor_id: 'alice', resource_id: other, outcome: 'failure' });
  });

  it('a reader does not see the records of its own views (they belong to no tenant)', async () => {
    expect(await allIds('action=audit.view', TOKEN_A)).toEqual([]);
    expect((await allIds('action=audit.view', TOKEN_ALL)).length).toBeGreaterThan(0);
  });
});

describe('export', () => {
  it('exports the current filter with a manifest, as the token sees it, and records it', async () => {
    const res = await api<{ file: string; download: string; manifestDownload: string; manifest: { rows: number; filters: Record<string, string[]> } }>(
      '/api/exports?from=2026-11-19&to=2026-11-21&outcome=success&format=jsonl',
      TOKEN_A,
      { method: 'POST' },
    );
    expect(res.status).toBe(201);
    const expected = await expectedIds("tenant_id = 't-a' AND outcome = 'success' AND occurred_at >= '2026-11-19' AND occurred_at < '2026-11-21'");
    expect(res.body.manifest.rows).toBe(expected.length);
    const file = await fetch(`${server.url}${res.body.download}`, { headers: { Authorization: `Bearer ${TOKEN_A}` } });
    expect(file.status).toBe(200);
    const lines = (await file.text()).trim().split('\n').map((l) => JSON.parse(l) as { id: number; tenant_id: string });
    expect(lines.map((l) => String(l.id)).sort()).toEqual([...expected].sort());
    expect(new Set(lines.map((l) => l.tenant_id))).toEqual(new Set(['t-a']));
    const manifest = await readFile(`${server.exportDir}/${res.body.file}.manifest.json`, 'utf8');
    expect(JSON.parse(manifest)).toMatchObject({ exportedBy: 'alice', rows: expected.length });
    // Another token cannot download it.
    expect((await api(res.body.download, TOKEN_ALL)).status).toBe(404);
    const { rows } = await owner.query<{ actor_id: string }>("SELECT actor_id FROM audit.records WHERE action = 'audit.export' ORDER BY id DESC LIMIT 1");
    expect(rows[0]?.actor_id).toBe('alice');
  });

  it('removes an export once older than the export time-to-live: the download answers 404, both files are gone', async () => {
    const short = await startServe({ databaseUrl: database.url, env: {}, host: '127.0.0.1', port: 0, tokens, exportTtlMs: 1_500, migrate: false, log: () => undefined });
    try {
      const auth = { Authorization: `Bearer ${TOKEN_A}` };
      const made = (await (await fetch(`${short.url}/api/exports?from=2026-11-19&to=2026-11-21&format=csv`, { method: 'POST', headers: auth })).json()) as {
        file: string;
        manifestFile: string;
        download: string;
      };
      expect((await fetch(`${short.url}${made.download}`, { headers: auth })).status).toBe(200);
      const files = [made.file, made.manifestFile].map((f) => `${short.exportDir}/${f}`);
      expect(files.every((f) => existsSync(f))).toBe(true);
      const until = Date.now() + 15_000;
      while (files.some((f) => existsSync(f)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(files.filter((f) => existsSync(f))).toEqual([]);
      const gone = await fetch(`${short.url}${made.download}`, { headers: auth });
      expect(gone.status).toBe(404);
      expect(await gone.text()).toContain('expired');
    } finally {
      await short.close();
    }
  });

  it('refuses filters the export cannot apply, and a missing range', async () => {
    expect((await api('/api/exports?from=2026-11-19&to=2026-11-21&q=x', TOKEN_A, { method: 'POST' })).status).toBe(400);
    expect((await api('/api/exports?actor_id=u-1', TOKEN_A, { method: 'POST' })).status).toBe(400);
  });
});

describe('session', () => {
  it('names the token, its role and tenants, and the modules it sees', async () => {
    const { body } = await api<{ name: string; tenants: string[]; modules: string[]; allTenants: boolean }>('/api/session', TOKEN_A);
    expect(body).toMatchObject({ name: 'alice', tenants: ['t-a'], allTenants: false });
    // Tenant t-a holds the even records: modules core and auth only.
    expect(body.modules).toEqual(['auth', 'core']);
    expect((await api<{ modules: string[] }>('/api/session', TOKEN_ALL)).body.modules).toEqual(['auth', 'billing', 'compliance', 'core']);
  });
});
