/**
 * `otel-audit export`: CSV and JSON lines round trips with awkward values,
 * the half-open time range, filters, the manifest and its SHA-256, the
 * export's own audit record, failures that leave nothing behind, and the
 * verification of the digests covering the exported rows.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { EXPORT_COLUMNS, exportRecords, parseTimeBound, type ExportManifest, type ExportOptions } from '../../src/compliance/export.js';
import { sealOnce } from '../../src/compliance/seal.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { tempDir } from '../helpers/app-process.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';
import { runCommand } from '../helpers/cli-run.js';

// ---------------------------------------------------------------------------
// Fixtures

interface Fixture {
  trace_id: string;
  span_id: string;
  occurred_at: string;
  received_at: string;
  service_name: string;
  module: string | null;
  actor_id: string | null;
  actor_name: string | null;
  actor_type: 'user' | 'service' | 'anonymous';
  tenant_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: 'success' | 'failure' | 'denied';
  status_code: number | null;
  http_method: string | null;
  http_route: string | null;
  url_path: string | null;
  client_ip: string | null;
  user_agent: string | null;
  duration_ms: number | null;
  level: string | null;
  request: unknown;
  change_before: unknown;
  change_after: unknown;
  attributes: unknown;
  emitter_id: string | null;
  emitter_seq: number | null;
}

const FIXTURE_COLUMNS = EXPORT_COLUMNS.filter((c) => c !== 'id') as (keyof Fixture)[];
const JSON_COLUMNS = new Set(['request', 'change_before', 'change_after', 'attributes']);
const NUMBER_COLUMNS = new Set(['id', 'status_code', 'duration_ms', 'emitter_seq']);

let seq = 0;
function fixture(over: Partial<Fixture> = {}): Fixture {
  seq++;
  const hex = createHash('md5').update(`row ${seq}`).digest('hex');
  return {
    trace_id: hex,
    span_id: hex.slice(0, 16),
    occurred_at: '2025-03-10T12:00:00.000000Z',
    received_at: '2025-03-10T12:00:01.250000Z',
    service_name: 'user-api',
    module: 'core',
    actor_id: 'u-1',
    actor_name: 'alice',
    actor_type: 'user',
    tenant_id: 't-1',
    action: 'user.update',
    resource_type: 'user',
    resource_id: String(seq),
    outcome: 'success',
    status_code: 200,
    http_method: 'PUT',
    http_route: '/users/:id',
    url_path: `/users/${seq}`,
    client_ip: '10.0.0.7',
    user_agent: 'curl/8.5',
    duration_ms: 12.5,
    level: 'full',
    request: { body: { name: 'Alice' } },
    change_before: null,
    change_after: null,
    attributes: {},
    emitter_id: 'em-1',
    emitter_seq: seq,
    ...over,
  };
}

/** Rows whose values CSV must quote: commas, quotes, CR/LF, non-ASCII (astral too), empty strings, NULLs. */
function awkwardRows(): Fixture[] {
  return [
    fixture({
      occurred_at: '2025-03-10T08:00:00.123456Z',
      actor_name: 'Chloé, "the admin"',
      resource_id: 'line one\nline two',
      user_agent: 'Agent/1.0\r\nX-Injected: yes, "quoted"',
      request: { note: 'comma, "quote"\nnewline\ttab', emoji: '😀 👩‍💻', cjk: '日本語', nested: { a: [1, 2.5, { b: null }], t: true }, backslash: 'C:\\dir\\' },
      change_before: { name: 'Zoë' },
      change_after: { name: 'Zoë Ünal', roles: ['admin', 'viewer'] },
      attributes: { 'audit.meta.reason': 'fix, "typo"', resource: { 'service.name': 'user-api' } },
      duration_ms: 0.1,
    }),
    fixture({
      occurred_at: '2025-03-10T08:00:00.000001Z',
      module: '',
      tenant_id: null,
      actor_id: null,
      actor_name: null,
      actor_type: 'anonymous',
      resource_type: null,
      resource_id: null,
      outcome: 'denied',
      status_code: null,
      http_route: null,
      client_ip: '2001:db8::1',
      duration_ms: 1e-7,
      request: null,
      attributes: {},
      emitter_id: null,
      emitter_seq: null,
    }),
    fixture({
      occurred_at: '2025-03-10T08:00:01Z',
      actor_name: 'Дмитрий Иванов',
      url_path: '/search?q=a,b&x="y"',
      client_ip: '192.168.0.0/24',
      duration_ms: 123456.789,
      request: { q: '', list: [], empty: {} },
      user_agent: '',
    }),
  ];
}

async function insert(db: Database, rows: readonly Fixture[]): Promise<string[]> {
  const ids: string[] = [];
  const placeholders = FIXTURE_COLUMNS.map((c, i) => `$${i + 1}${JSON_COLUMNS.has(c) ? '::jsonb' : c === 'client_ip' ? '::inet' : ''}`);
  for (const row of rows) {
    const params = FIXTURE_COLUMNS.map((c) => (JSON_COLUMNS.has(c) ? (row[c] === null ? null : JSON.stringify(row[c])) : row[c]));
    const { rows: out } = await db.query<{ id: string }>(
      `INSERT INTO audit.records (${FIXTURE_COLUMNS.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING id::text AS id`,
      params,
    );
    ids.push(out[0]?.id ?? '');
  }
  return ids;
}

// ---------------------------------------------------------------------------
// Reading exports back

interface CsvField {
  value: string;
  quoted: boolean;
}

/** A strict RFC 4180 parser: CRLF between records, quoted fields with doubled quotes, no bare quotes. */
function parseCsv(text: string): CsvField[][] {
  const records: CsvField[][] = [];
  let record: CsvField[] = [];
  let i = 0;
  for (;;) {
    let value = '';
    let quoted = false;
    if (text[i] === '"') {
      quoted = true;
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('unterminated quoted field');
        value += text.slice(i, q);
        i = q + 1;
        if (text[i] === '"') {
          value += '"';
          i++;
        } else break;
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`bare quote at ${i}`);
        value += text[i++];
      }
    }
    record.push({ value, quoted });
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text.startsWith('\r\n', i)) {
      i += 2;
      records.push(record);
      record = [];
      if (i === text.length) return records;
      continue;
    }
    throw new Error(`expected "," or CRLF at ${i}, found ${JSON.stringify(text.slice(i, i + 10))}`);
  }
}

/** How a fixture's value reads back: its text (CSV), with null for NULL. */
function expectedText(row: Fixture & { id: string }, column: string): string | null {
  const v = (row as unknown as Record<string, unknown>)[column];
  if (v === null || v === undefined) return null;
  if (column === 'occurred_at' || column === 'received_at') return parseTimeBound(v as string).iso;
  if (JSON_COLUMNS.has(column)) return JSON.stringify(v);
  return String(v);
}

function csvRows(text: string): Record<string, unknown>[] {
  const [header, ...records] = parseCsv(text);
  expect(header?.map((f) => f.value)).toEqual([...EXPORT_COLUMNS]);
  expect(header?.every((f) => !f.quoted)).toBe(true);
  return records.map((fields) => {
    expect(fields).toHaveLength(EXPORT_COLUMNS.length);
    const out: Record<string, unknown> = {};
    EXPORT_COLUMNS.forEach((c, i) => {
      const f = fields[i] as CsvField;
      // NULL: an empty unquoted field; text (even empty) is always quoted.
      if (!f.quoted && f.value === '') out[c] = null;
      else if (JSON_COLUMNS.has(c)) out[c] = JSON.parse(f.value);
      else out[c] = f.value;
    });
    return out;
  });
}

function expectCsvRow(got: Record<string, unknown>, want: Fixture & { id: string }): void {
  for (const c of EXPORT_COLUMNS) {
    const text = expectedText(want, c);
    if (JSON_COLUMNS.has(c)) expect(got[c], c).toEqual(text === null ? null : JSON.parse(text));
    else if (NUMBER_COLUMNS.has(c) && text !== null) expect(Number(got[c]), c).toBe(Number(text));
    else expect(got[c], c).toBe(text);
  }
}

function expectJsonRow(got: Record<string, unknown>, want: Fixture & { id: string }): void {
  expect(Object.keys(got)).toEqual([...EXPORT_COLUMNS]);
  for (const c of EXPORT_COLUMNS) {
    const text = expectedText(want, c);
    if (text === null) expect(got[c], c).toBeNull();
    else if (JSON_COLUMNS.has(c)) expect(got[c], c).toEqual(JSON.parse(text));
    else if (NUMBER_COLUMNS.has(c)) expect(got[c], c).toBe(Number(text));
    else expect(got[c], c).toBe(text);
  }
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const readManifest = (path: string): ExportManifest => JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as ExportManifest;

const runCli = (argv: string[]) => runCommand(exportCommand, argv);

const base = (out: string, over: Partial<ExportOptions> = {}): ExportOptions => ({
  from: '2025-03-10T00:00:00.000000Z',
  to: '2025-03-11T00:00:00.000000Z',
  format: 'csv',
  out,
  actor: 'test-auditor',
  ...over,
});

// ---------------------------------------------------------------------------

describe.each(['postgres', 'pglite'] as const)('export round trips (%s)', (backend) => {
  let b: TestBackend;
  let db: Database;
  let dir: ReturnType<typeof tempDir>;
  let rows: (Fixture & { id: string })[];

  beforeAll(async () => {
    b = await openTestBackend(backend);
    db = b.db;
    dir = tempDir('export');
    await migrate(db);
    const fixtures = awkwardRows();
    const ids = await insert(db, fixtures);
    rows = fixtures.map((f, i) => ({ ...f, id: ids[i] as string }));
  });
  afterAll(async () => {
    await b?.teardown();
    dir?.remove();
  });

  it('CSV: header, RFC 4180 quoting, NULL apart from the empty string, in id order', async () => {
    const out = join(dir.path, 'records.csv');
    const { manifest } = await exportRecords(db, base(out, { fetchRows: 2 }));
    const text = readFileSync(out, 'utf8');
    const got = csvRows(text);
    expect(got).toHaveLength(rows.length);
    got.forEach((g, i) => expectCsvRow(g, rows[i] as Fixture & { id: string }));
    expect(got.map((g) => g['id'])).toEqual(rows.map((r) => r.id));
    // Quoting as documented: text always quoted, numbers and timestamps bare.
    expect(text.split('\r\n')[1]).toMatch(/^\d+,"[0-9a-f]{32}","[0-9a-f]{16}",2025-03-10T08:00:00\.123456Z,2025-03-10T12:00:01\.250000Z,"user-api",/);
    expect(manifest.rows).toBe(rows.length);
    expect(manifest.sha256).toBe(sha256(out));
    expect(manifest.bytes).toBe(Buffer.byteLength(text));
  });

  it('JSON lines: one object per line, JSON columns as objects, round trip', async () => {
    const out = join(dir.path, 'records.jsonl');
    const { manifest } = await exportRecords(db, base(out, { format: 'jsonl', fetchRows: 1 }));
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(rows.length);
    lines.forEach((line, i) => expectJsonRow(JSON.parse(line) as Record<string, unknown>, rows[i] as Fixture & { id: string }));
    expect(manifest).toMatchObject({ rows: rows.length, format: 'jsonl', sha256: sha256(out), firstId: rows[0]?.id, lastId: rows[2]?.id });
  });

  it('an empty range gives a header-only CSV and an empty JSON lines file', async () => {
    const csv = join(dir.path, 'empty.csv');
    const r = await exportRecords(db, base(csv, { from: '2030-01-01', to: '2030-01-02T02:00+02:00' }));
    expect(readFileSync(csv, 'utf8')).toBe(`${EXPORT_COLUMNS.join(',')}\r\n`);
    expect(r.manifest).toMatchObject({ rows: 0, firstId: null, lastId: null });
    // Bounds are stated normalised, whatever form they were given in.
    expect(r.manifest.range).toEqual({ column: 'occurred_at', from: '2030-01-01T00:00:00.000000Z', to: '2030-01-02T00:00:00.000000Z' });
    await expect(exportRecords(db, base(join(dir.path, 'x.csv'), { from: '2030-01-02', to: '2030-01-01' }))).rejects.toThrow(/not before/);
    const jsonl = join(dir.path, 'empty.jsonl');
    await exportRecords(db, base(jsonl, { format: 'jsonl', from: '2030-01-01T00:00:00.000000Z', to: '2030-01-02T00:00:00.000000Z' }));
    expect(readFileSync(jsonl, 'utf8')).toBe('');
  });

  it('the command works on this backend too, and the export is audited', async () => {
    const out = join(dir.path, 'cli.csv');
    let args: string[];
    if (backend === 'postgres') {
      args = ['--database-url', `postgres://postgres@127.0.0.1:5432/${b.name ?? ''}`];
    } else {
      // One process at a time on an embedded database: the test lets go of it.
      await db.close();
      args = ['--data-dir', join(dataDirOf(db), '..')];
    }
    const r = await runCli(['--from', '2025-03-10', '--to', '2025-03-11', '--out', out, '--as', 'carol', ...args]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`exported 3 records (ids ${rows[0]?.id}..${rows[2]?.id})`);
    expect(csvRows(readFileSync(out, 'utf8'))).toHaveLength(3);
    if (backend === 'pglite') {
      b = await openTestBackendAt(b, join(dataDirOf(db), '..'));
      db = b.db;
    }
    const { rows: audit } = await db.query<{ actor_id: string; resource_id: string; outcome: string; attributes: Record<string, unknown> }>(
      "SELECT actor_id, resource_id, outcome, attributes FROM audit.records WHERE action = 'audit.export' AND actor_id = 'carol'",
    );
    expect(audit).toEqual([
      {
        actor_id: 'carol',
        resource_id: 'cli.csv',
        outcome: 'success',
        attributes: expect.objectContaining({
          from: '2025-03-10T00:00:00.000000Z',
          to: '2025-03-11T00:00:00.000000Z',
          filters: {},
          format: 'csv',
          rows: 3,
          sha256: sha256(out),
          manifest: `${out}.manifest.json`,
        }),
      },
    ]);
  });
});

/** The data directory PGlite's description names (`embedded PGlite in <dir>/pgdata`). */
function dataDirOf(db: Database): string {
  return db.description.replace(/^embedded PGlite in /, '');
}

/** Reopen an embedded database the test closed, keeping the original teardown (which removes the directory). */
async function openTestBackendAt(prev: TestBackend, dir: string): Promise<TestBackend> {
  const { openDatabase } = await import('../../src/db/database.js');
  const db = await openDatabase({ dataDir: dir, env: {} });
  return {
    db,
    async teardown() {
      await db.close();
      await prev.teardown();
    },
  };
}

describe('export on Postgres', () => {
  let b: TestBackend;
  let db: Database;
  let dir: ReturnType<typeof tempDir>;
  let url: string;

  beforeAll(async () => {
    b = await openTestBackend('postgres');
    db = b.db;
    url = `postgres://postgres@127.0.0.1:5432/${b.name ?? ''}`;
    dir = tempDir('export-pg');
    await migrate(db);
  });
  afterAll(async () => {
    await b?.teardown();
    dir?.remove();
  });

  it('the range is half-open on occurred_at, to the microsecond', async () => {
    const [inside1, inside2] = await insert(db, [
      fixture({ occurred_at: '2025-04-01T00:00:00.000000Z', tenant_id: 'range' }), // = from: in
      fixture({ occurred_at: '2025-04-01T23:59:59.999999Z', tenant_id: 'range' }), // to - 1 µs: in
      fixture({ occurred_at: '2025-04-02T00:00:00.000000Z', tenant_id: 'range' }), // = to: out
      fixture({ occurred_at: '2025-03-31T23:59:59.999999Z', tenant_id: 'range' }), // from - 1 µs: out
    ]);
    const out = join(dir.path, 'range.jsonl');
    const r = await runCli(['--from', '2025-04-01', '--to', '2025-04-02T02:00:00+02:00', '--tenant', 'range', '--out', out, '--database-url', url]);
    expect(r.code).toBe(0);
    const ids = readFileSync(out, 'utf8').trim().split('\n').map((l) => String((JSON.parse(l) as { id: number }).id));
    expect(ids).toEqual([inside1, inside2]);
    const m = readManifest(out);
    expect(m.range).toEqual({ column: 'occurred_at', from: '2025-04-01T00:00:00.000000Z', to: '2025-04-02T00:00:00.000000Z' });
    expect(m.format).toBe('jsonl');
  });

  it('filters: exact match, repeated flags and comma lists, combined with AND', async () => {
    const day = '2025-05-01T10:00:00Z';
    const ids = await insert(db, [
      fixture({ occurred_at: day, tenant_id: 'f-1', action: 'user.update', module: 'core', outcome: 'success', actor_id: 'a' }),
      fixture({ occurred_at: day, tenant_id: 'f-2', action: 'user.delete', module: 'core', outcome: 'denied', actor_id: 'b' }),
      fixture({ occurred_at: day, tenant_id: 'f-3', action: 'user.update', module: 'billing', outcome: 'failure', actor_id: 'a' }),
      fixture({ occurred_at: day, tenant_id: 'f-1', action: 'session.create', module: 'core', outcome: 'success', actor_id: 'c' }),
      fixture({ occurred_at: day, tenant_id: 'f-10', action: 'user.update', module: 'core', outcome: 'success', actor_id: 'a' }),
    ]);
    const run = async (name: string, flags: string[]): Promise<{ ids: string[]; manifest: ExportManifest }> => {
      const out = join(dir.path, `${name}.csv`);
      const r = await runCli(['--from', '2025-05-01', '--to', '2025-05-02', '--out', out, '--database-url', url, ...flags]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      return { ids: csvRows(readFileSync(out, 'utf8')).map((row) => row['id'] as string), manifest: readManifest(out) };
    };
    const pick = (...k: number[]): string[] => k.map((i) => ids[i] as string);
    expect((await run('tenant', ['--tenant', 'f-1'])).ids).toEqual(pick(0, 3));
    expect((await run('tenants', ['--tenant', 'f-1,f-2', '--tenant', 'f-3'])).ids).toEqual(pick(0, 1, 2, 3));
    const combined = await run('combined', ['--tenant', 'f-1,f-2,f-3,f-10', '--action', 'user.update', '--module', 'core', '--outcome', 'success']);
    expect(combined.ids).toEqual(pick(0, 4));
    expect(combined.manifest.filters).toEqual({ tenant_id: ['f-1', 'f-2', 'f-3', 'f-10'], action: ['user.update'], module: ['core'], outcome: ['success'] });
    expect((await run('actor', ['--actor', 'a', '--outcome', 'failure,denied'])).ids).toEqual(pick(2));
    expect((await run('none', ['--action', 'nothing.matches'])).ids).toEqual([]);
  });

  it('the manifest describes the file: count, SHA-256, ids, tool, database without password', async () => {
    const ids = await insert(db, [fixture({ occurred_at: '2025-06-01T01:00:00Z' }), fixture({ occurred_at: '2025-06-01T02:00:00Z' })]);
    const out = join(dir.path, 'manifest.csv');
    const r = await runCli(['--from', '2025-06-01', '--to', '2025-06-02', '--out', out, '--as', 'dave', '--database-url', url.replace('postgres@', 'postgres:s3cret@')]);
    expect(r.code).toBe(0);
    const m = readManifest(out);
    expect(m).toMatchObject({
      manifestVersion: 1,
      file: 'manifest.csv',
      format: 'csv',
      columns: [...EXPORT_COLUMNS],
      filters: {},
      order: 'id',
      rows: 2,
      bytes: readFileSync(out).length,
      sha256: sha256(out),
      firstId: ids[0],
      lastId: ids[1],
      exportedBy: 'dave',
      tool: { name: 'otel-audit', version: expect.stringMatching(/^\d+\.\d+\.\d+/) },
      database: url,
      verification: { checked: true, verified: true, digests: [], findings: [], unsealedRows: 2, sealedRows: 0 },
    });
    expect(JSON.stringify(m)).not.toContain('s3cret');
    expect(m.exportedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const { rows } = await db.query<{ id: string; attributes: Record<string, unknown> }>(
      "SELECT id::text AS id, attributes FROM audit.records WHERE action = 'audit.export' AND actor_id = 'dave'",
    );
    expect(rows).toHaveLength(1);
    expect(m.auditRecordId).toBe(rows[0]?.id);
    expect(rows[0]?.attributes).toMatchObject({ sha256: m.sha256, rows: 2, first_id: ids[0], last_id: ids[1], 'db.user': 'postgres' });
    expect(r.out).toContain(`sha256    ${m.sha256}`);
  });

  it('an existing file is kept unless --force', async () => {
    await insert(db, [fixture({ occurred_at: '2025-06-05T01:00:00Z' })]);
    const out = join(dir.path, 'exists.csv');
    writeFileSync(out, 'keep me');
    const args = ['--from', '2025-06-05', '--to', '2025-06-06', '--out', out, '--database-url', url];
    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/exists \(--force replaces it\)/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    const forced = await runCli([...args, '--force']);
    expect(forced.code).toBe(0);
    expect(csvRows(readFileSync(out, 'utf8'))).toHaveLength(1);
  });

  it('a failed export leaves no file, no temporary file, and is audited as a failure', async () => {
    await insert(db, [fixture({ occurred_at: '2025-07-01T01:00:00Z' }), fixture({ occurred_at: '2025-07-01T02:00:00Z' })]);
    const sub = join(dir.path, 'failing');
    mkdirSync(sub);
    const out = join(sub, 'broken.csv');
    await expect(
      exportRecords(db, {
        ...base(out, { from: '2025-07-01T00:00:00.000000Z', to: '2025-07-02T00:00:00.000000Z', fetchRows: 1, actor: 'erin' }),
        onProgress: () => {
          throw new Error('disk on fire');
        },
      }),
    ).rejects.toThrow('disk on fire');
    expect(readdirSync(sub)).toEqual([]);
    const { rows } = await db.query<{ outcome: string; attributes: Record<string, unknown> }>(
      "SELECT outcome, attributes FROM audit.records WHERE action = 'audit.export' AND actor_id = 'erin'",
    );
    expect(rows).toEqual([{ outcome: 'failure', attributes: expect.objectContaining({ error: 'disk on fire', format: 'csv' }) }]);

    // Interrupted (Ctrl-C) between batches: nothing either.
    const controller = new AbortController();
    await expect(
      exportRecords(db, {
        ...base(out, { from: '2025-07-01T00:00:00.000000Z', to: '2025-07-02T00:00:00.000000Z', fetchRows: 1 }),
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
    ).rejects.toThrow('interrupted');
    expect(readdirSync(sub)).toEqual([]);
  });

  it('an unwritable or missing directory fails with exit 1 and leaves nothing', async () => {
    const missing = await runCli(['--from', '2025-07-01', '--to', '2025-07-02', '--out', join(dir.path, 'no', 'such', 'x.csv'), '--database-url', url]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/does not exist; no file written/);
    // /proc takes no new files, not even from root.
    const unwritable = await runCli(['--from', '2025-07-01', '--to', '2025-07-02', '--out', '/proc/otel-audit-export.csv', '--database-url', url]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.err).toMatch(/no file written/);
    expect(readdirSync('/proc').some((f) => f.includes('otel-audit-export'))).toBe(false);
  });

  it('an unreachable database fails with exit 1', async () => {
    const out = join(dir.path, 'unreachable.csv');
    const r = await runCli(['--from', '2025-07-01', '--to', '2025-07-02', '--out', out, '--database-url', 'postgres://postgres@127.0.0.1:1/x']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot reach the database/);
    expect(readdirSync(dir.path).some((f) => f.includes('unreachable'))).toBe(false);
  });

  it('--progress draws a bar on stderr', async () => {
    await insert(db, [fixture({ occurred_at: '2025-08-01T01:00:00Z' }), fixture({ occurred_at: '2025-08-01T02:00:00Z' })]);
    const out = join(dir.path, 'progress.csv');
    const r = await runCli(['--from', '2025-08-01', '--to', '2025-08-02', '--out', out, '--progress', '--fetch-rows', '1', '--database-url', url]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/\[#+-*\] +\d+% +\d+\/2 rows/);
  });
});

describe('export and the tamper-evidence chain (postgres)', () => {
  let b: TestBackend;
  let db: Database;
  let dir: ReturnType<typeof tempDir>;
  let url: string;
  let ids: string[];

  beforeAll(async () => {
    b = await openTestBackend('postgres');
    db = b.db;
    url = `postgres://postgres@127.0.0.1:5432/${b.name ?? ''}`;
    dir = tempDir('export-chain');
    await migrate(db);
    ids = await insert(db, [
      ...Array.from({ length: 6 }, (_, i) => fixture({ occurred_at: `2025-09-01T0${i}:00:00Z`, received_at: '2025-09-01T10:00:00Z', tenant_id: i % 2 ? 't-odd' : 't-even' })),
      ...Array.from({ length: 4 }, (_, i) => fixture({ occurred_at: `2025-09-02T0${i}:00:00Z`, received_at: '2025-09-02T10:00:00Z' })),
    ]);
    // Sealed in digests of 4 rows: ids 1-4, 5-8, 9-10.
    await sealOnce(db, { settleMs: 0, maxRows: 4 });
  });
  afterAll(async () => {
    await b?.teardown();
    dir?.remove();
  });

  it('sealed rows: the manifest lists the covering digests, verified', async () => {
    const out = join(dir.path, 'sealed.csv');
    const r = await runCli(['--from', '2025-09-01', '--to', '2025-09-02', '--out', out, '--database-url', url]);
    expect(r.code).toBe(0);
    const v = readManifest(out).verification;
    expect(v).toMatchObject({ checked: true, verified: true, findings: [], sealedRows: 6, unsealedRows: 0, sealedUpToId: ids[9] });
    expect(v.digests.map((d) => [d.firstId, d.lastId, d.ok])).toEqual([
      [ids[0], ids[3], true],
      [ids[4], ids[7], true],
    ]);
    expect(r.out).toMatch(/digests +2 covering the exported rows, 2 verified/);
  });

  it('rows inserted after the last seal are counted as not sealed yet', async () => {
    const later = await insert(db, [fixture({ occurred_at: '2025-09-02T05:00:00Z' })]);
    const out = join(dir.path, 'unsealed.jsonl');
    const r = await runCli(['--from', '2025-09-02', '--to', '2025-09-03', '--out', out, '--database-url', url]);
    expect(r.code).toBe(0);
    const m = readManifest(out);
    expect(m.lastId).toBe(later[0]);
    expect(m.verification).toMatchObject({ verified: true, sealedRows: 4, unsealedRows: 1 });
    expect(r.out).toMatch(/1 exported row not sealed yet/);
  });

  it('a tampered row in the range: the export completes, exit 3, the manifest says verified: false', async () => {
    const victim = ids[2] as string;
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query("UPDATE audit.records SET actor_name = 'mallory' WHERE id = $1", [victim]);
    });
    const out = join(dir.path, 'tampered.csv');
    const r = await runCli(['--from', '2025-09-01', '--to', '2025-09-02', '--out', out, '--database-url', url]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/do not verify/);
    expect(r.err).toContain(`record ${victim}: edited after digest`);
    const m = readManifest(out);
    expect(m.rows).toBe(6);
    expect(m.sha256).toBe(sha256(out));
    expect(m.verification.verified).toBe(false);
    expect(m.verification.findings).toEqual([expect.objectContaining({ kind: 'edited_row', recordId: victim })]);
    expect(m.verification.digests.map((d) => d.ok)).toEqual([false, true]);
    // The tampered value is exported as it is now: the manifest is what warns.
    expect(csvRows(readFileSync(out, 'utf8')).find((row) => row['id'] === victim)?.['actor_name']).toBe('mallory');

    // A filtered export that leaves the tampered row out still relies on its digest.
    const odd = join(dir.path, 'odd.csv');
    const rOdd = await runCli(['--from', '2025-09-01', '--to', '2025-09-02', '--tenant', 't-odd', '--out', odd, '--database-url', url]);
    expect(rOdd.code).toBe(3);
    expect(readManifest(odd).rows).toBe(3);

    // Rows whose digests are intact still verify.
    const other = join(dir.path, 'other.csv');
    const rOther = await runCli(['--from', '2025-09-02', '--to', '2025-09-03', '--out', other, '--database-url', url]);
    expect(rOther.code).toBe(0);
    expect(readManifest(other).verification).toMatchObject({ verified: true, findings: [] });
    expect(readManifest(other).verification.otherFindings).toBeGreaterThan(0);

    // --no-verify: not checked, exit 0, and the manifest says so.
    const unchecked = join(dir.path, 'unchecked.csv');
    const rUnchecked = await runCli(['--from', '2025-09-01', '--to', '2025-09-02', '--no-verify', '--out', unchecked, '--database-url', url]);
    expect(rUnchecked.code).toBe(0);
    expect(readManifest(unchecked).verification).toMatchObject({ checked: false, verified: null });
  });
});

describe('otel-audit export usage', () => {
  it('--help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['--from', '--to', '--out', '--format', '--tenant', '--actor', '--action', '--module', '--outcome', '--as', '--force', '--no-verify', '--progress', 'DATABASE_URL', 'RFC 4180', 'Exit status']) {
      expect(r.out).toContain(word);
    }
  });

  it.each([
    [['--to', '2025-01-02', '--out', 'x.csv'], /--from is required/],
    [['--from', '2025-01-01', '--out', 'x.csv'], /--to is required/],
    [['--from', '2025-01-01', '--to', '2025-01-02'], /--out is required/],
    [['--from', 'yesterday', '--to', '2025-01-02', '--out', 'x.csv'], /--from "yesterday" is not an ISO 8601/],
    [['--from', '2025-02-30', '--to', '2025-03-02', '--out', 'x.csv'], /not a valid date/],
    [['--from', '2025-01-02', '--to', '2025-01-01', '--out', 'x.csv'], /is not before --to/],
    [['--from', '2025-01-01', '--to', '2025-01-01', '--out', 'x.csv'], /is not before --to/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.txt'], /--format is required/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--format', 'xml'], /--format xml: expected csv, jsonl, ocsf/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--outcome', 'maybe'], /--outcome maybe: expected success, failure, denied/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--tenant', 'a,,b'], /--tenant needs a value/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--fetch-rows', '0'], /--fetch-rows 0/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--bogus'], /Unknown option '--bogus'/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', 'extra'], /Unexpected argument 'extra'/],
    [['--from', '2025-01-01', '--to', '2025-01-02', '--out', 'x.csv', '--database-url', 'postgres://x', '--data-dir', 'd'], /exclude each other/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const r = await runCli(argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain('otel-audit export --help');
    expect(r.out).toBe('');
  });

  it('time bounds: dates, zones and microseconds normalise to UTC', () => {
    expect(parseTimeBound('2025-01-01').iso).toBe('2025-01-01T00:00:00.000000Z');
    expect(parseTimeBound('2025-01-01T10:30').iso).toBe('2025-01-01T10:30:00.000000Z');
    expect(parseTimeBound('2025-01-01 10:30:15.5+02:00').iso).toBe('2025-01-01T08:30:15.500000Z');
    expect(parseTimeBound('2025-01-01T00:00:00.000001-0130').iso).toBe('2025-01-01T01:30:00.000001Z');
    expect(parseTimeBound('2024-02-29T23:59:59.999999Z').iso).toBe('2024-02-29T23:59:59.999999Z');
    expect(parseTimeBound('2025-01-01T00:00:00.123456000Z').iso).toBe('2025-01-01T00:00:00.123456Z');
    expect(() => parseTimeBound('2025-01-01T00:00:00.1234567Z')).toThrow(/microseconds/);
    expect(() => parseTimeBound('2025-13-01')).toThrow(/not a valid date/);
    expect(() => parseTimeBound('2025-01-01T24:00')).toThrow(/not a valid date/);
  });
});
