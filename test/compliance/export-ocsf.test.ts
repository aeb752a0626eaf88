/**
 * `otel-audit export --format ocsf`: every record of a known data set maps
 * to the OCSF 1.8.0 API Activity event it should (activities, outcomes,
 * actor types, attributes without value left out), every line passes the
 * schema subset in ocsf/api-activity-1.8.0.json, and the file goes the way
 * of the other formats: filters, manifest, digests.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../src/cli/export.js';
import { exportRecords, type ExportManifest } from '../../src/compliance/export.js';
import { sealOnce } from '../../src/compliance/seal.js';
import { VERSION } from '../../src/contract/version.js';
import type { Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { tempDir } from '../helpers/app-process.js';
import { openTestBackend, type TestBackend } from '../helpers/pg.js';
import { OCSF_SUBSET, validateOcsf } from './ocsf/validate.js';
import { runCommand } from '../helpers/cli-run.js';

interface Row {
  occurred_at: string;
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
  url_path: string | null;
  client_ip: string | null;
  user_agent: string | null;
}

const COLUMNS = ['trace_id', 'span_id', 'occurred_at', 'received_at', 'service_name', 'module', 'actor_id', 'actor_name', 'actor_type', 'tenant_id', 'action',
  'resource_type', 'resource_id', 'outcome', 'status_code', 'http_method', 'http_route', 'url_path', 'client_ip', 'user_agent', 'duration_ms', 'level',
  'request', 'change_before', 'change_after', 'attributes'];

const RECEIVED_AT = '2025-03-10T12:00:01.250000Z';
const traceOf = (i: number): string => createHash('md5').update(`ocsf ${i}`).digest('hex');

const http = { http_method: 'GET', url_path: '/users', client_ip: '10.0.0.7', user_agent: 'curl/8.5' };
const alice = { actor_id: 'u-1', actor_name: 'alice', actor_type: 'user', tenant_id: 't-1' } as const;

/** The data set: one record per case the mapping tells apart, in id order. */
const ROWS: Row[] = [
  { ...alice, ...http, occurred_at: '2025-03-10T08:00:00.123456Z', action: 'user.create', resource_type: 'user', resource_id: '7', outcome: 'success', status_code: 201, http_method: 'POST' },
  { ...http, occurred_at: '2025-03-10T08:00:01Z', actor_id: null, actor_name: null, actor_type: 'anonymous', tenant_id: null, action: 'user.read', resource_type: 'user', resource_id: '7', outcome: 'success', status_code: 200, url_path: '/users/7?fields=name,email', client_ip: '2001:db8::1' },
  { ...http, occurred_at: '2025-03-10T08:00:02Z', actor_id: 'svc-billing', actor_name: null, actor_type: 'service', tenant_id: 't-1', action: 'user.update', resource_type: 'user', resource_id: '7', outcome: 'failure', status_code: 500, http_method: 'PUT', url_path: '/users/7', user_agent: null },
  { ...http, occurred_at: '2025-03-10T08:00:03Z', actor_id: 'u-2', actor_name: 'bob', actor_type: 'user', tenant_id: 't-1', action: 'user.delete', resource_type: 'user', resource_id: '7', outcome: 'denied', status_code: 403, http_method: 'DELETE', url_path: '/users/7' },
  { ...alice, ...http, occurred_at: '2025-03-10T08:00:04Z', action: 'user.list', resource_type: 'user', resource_id: null, outcome: 'success', status_code: 200 },
  { ...alice, ...http, occurred_at: '2025-03-10T08:00:05Z', action: 'build.trigger', resource_type: 'build', resource_id: 'b-9', outcome: 'success', status_code: 202, http_method: 'POST', url_path: '/builds/b-9/trigger' },
  { ...http, occurred_at: '2025-03-10T08:00:06Z', actor_id: null, actor_name: 'nightly-job', actor_type: 'service', tenant_id: null, action: 'report.export', resource_type: null, resource_id: null, outcome: 'success', status_code: null, http_method: null, url_path: null, client_ip: null, user_agent: null },
  { ...http, occurred_at: '2025-03-10T08:00:07Z', actor_id: null, actor_name: 'mallory', actor_type: 'anonymous', tenant_id: null, action: 'session.create', resource_type: 'session', resource_id: null, outcome: 'denied', status_code: 401, http_method: 'POST', url_path: '/sessions' },
  { ...alice, ...http, occurred_at: '2025-03-10T08:00:08Z', action: 'file.propfind', resource_type: 'file', resource_id: 'a.txt', outcome: 'success', status_code: 207, http_method: 'PROPFIND', url_path: '/files/a.txt' },
  { ...alice, ...http, occurred_at: '2025-03-10T08:00:08.5Z', actor_name: 'Chloé, "the admin"\nline 2 😀', action: 'user.patch', resource_type: 'user', resource_id: 'a\\b"c\r\nd', outcome: 'success', status_code: 200, http_method: 'patch', url_path: '', user_agent: '' },
  { ...alice, occurred_at: '2025-03-10T08:00:09Z', action: 'Report.Delete', resource_type: 'report', resource_id: 'r 1', outcome: 'success', status_code: null, http_method: null, url_path: null, client_ip: '192.168.0.9', user_agent: null },
];

/** What every line holds whatever the record. */
function common(i: number, id: string, tenant: string | null): Record<string, unknown> {
  return {
    metadata: {
      uid: id,
      correlation_uid: traceOf(i),
      version: '1.8.0',
      product: { name: 'otel-audit', vendor_name: 'otel-audit', version: VERSION },
      ...(tenant === null ? {} : { tenant_uid: tenant }),
      logged_time: Date.parse('2025-03-10T12:00:01.250Z'),
    },
    category_uid: 6,
    category_name: 'Application Activity',
    class_uid: 6003,
    class_name: 'API Activity',
    severity_id: 1,
    severity: 'Informational',
    api: { operation: ROWS[i]?.action, service: { name: 'user-api' } },
  };
}

const activity = (id: number, name: string): Record<string, unknown> => ({
  activity_id: id,
  activity_name: name,
  type_uid: 600300 + id,
  type_name: `API Activity: ${id === 99 ? 'Other' : name}`,
});
const SUCCESS = { status_id: 1, status: 'Success' };
const FAILURE = { status_id: 2, status: 'Failure' };
const DENIED = { status_id: 2, status: 'Failure', status_detail: 'denied' };
const ALICE = { user: { uid: 'u-1', name: 'alice', type_id: 1, type: 'User' } };
const at = (iso: string): number => Date.parse(iso);

/** The expected event of ROWS[i], written out by hand. */
function expected(i: number, id: string): Record<string, unknown> {
  const row = ROWS[i] as Row;
  const base = common(i, id, row.tenant_id);
  const cases: Record<string, unknown>[] = [
    {
      time: at('2025-03-10T08:00:00.123Z'), ...activity(1, 'Create'), ...SUCCESS, status_code: '201', actor: ALICE,
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'POST', url: { path: '/users' }, user_agent: 'curl/8.5' },
      http_response: { code: 201 },
      resources: [{ type: 'user', uid: '7' }],
    },
    {
      time: at('2025-03-10T08:00:01Z'), ...activity(2, 'Read'), ...SUCCESS, status_code: '200',
      actor: { user: { name: 'anonymous', type_id: 99, type: 'Anonymous' } },
      src_endpoint: { ip: '2001:db8::1' },
      http_request: { http_method: 'GET', url: { path: '/users/7', query_string: 'fields=name,email' }, user_agent: 'curl/8.5' },
      http_response: { code: 200 },
      resources: [{ type: 'user', uid: '7' }],
    },
    {
      time: at('2025-03-10T08:00:02Z'), ...activity(3, 'Update'), ...FAILURE, status_code: '500',
      actor: { user: { uid: 'svc-billing', type_id: 4, type: 'Service' } },
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'PUT', url: { path: '/users/7' } },
      http_response: { code: 500 },
      resources: [{ type: 'user', uid: '7' }],
    },
    {
      time: at('2025-03-10T08:00:03Z'), ...activity(4, 'Delete'), ...DENIED, status_code: '403',
      actor: { user: { uid: 'u-2', name: 'bob', type_id: 1, type: 'User' } },
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'DELETE', url: { path: '/users/7' }, user_agent: 'curl/8.5' },
      http_response: { code: 403 },
      resources: [{ type: 'user', uid: '7' }],
    },
    {
      // A collection read names no resource id: no resources.
      time: at('2025-03-10T08:00:04Z'), ...activity(2, 'Read'), ...SUCCESS, status_code: '200', actor: ALICE,
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'GET', url: { path: '/users' }, user_agent: 'curl/8.5' },
      http_response: { code: 200 },
    },
    {
      // A verb of its own: the method decides.
      time: at('2025-03-10T08:00:05Z'), ...activity(1, 'Create'), ...SUCCESS, status_code: '202', actor: ALICE,
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'POST', url: { path: '/builds/b-9/trigger' }, user_agent: 'curl/8.5' },
      http_response: { code: 202 },
      resources: [{ type: 'build', uid: 'b-9' }],
    },
    {
      // No HTTP at all: Other, with the action's verb; no request, response, status code or resources.
      time: at('2025-03-10T08:00:06Z'), ...activity(99, 'export'), ...SUCCESS,
      actor: { user: { name: 'nightly-job', type_id: 4, type: 'Service' } },
      src_endpoint: { name: 'unknown' },
    },
    {
      // A failed login: the attempted principal, denied.
      time: at('2025-03-10T08:00:07Z'), ...activity(1, 'Create'), ...DENIED, status_code: '401',
      actor: { user: { name: 'mallory', type_id: 99, type: 'Anonymous' } },
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'POST', url: { path: '/sessions' }, user_agent: 'curl/8.5' },
      http_response: { code: 401 },
    },
    {
      // A method OCSF does not list: Other, and no http_method.
      time: at('2025-03-10T08:00:08Z'), ...activity(99, 'propfind'), ...SUCCESS, status_code: '207', actor: ALICE,
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { url: { path: '/files/a.txt' }, user_agent: 'curl/8.5' },
      http_response: { code: 207 },
      resources: [{ type: 'file', uid: 'a.txt' }],
    },
    {
      // Values JSON must escape stay on one line; empty strings are values; a method in lower case decides.
      time: at('2025-03-10T08:00:08.5Z'), ...activity(3, 'Update'), ...SUCCESS, status_code: '200',
      actor: { user: { uid: 'u-1', name: 'Chloé, "the admin"\nline 2 😀', type_id: 1, type: 'User' } },
      src_endpoint: { ip: '10.0.0.7' },
      http_request: { http_method: 'PATCH', url: { path: '' }, user_agent: '' },
      http_response: { code: 200 },
      resources: [{ type: 'user', uid: 'a\\b"c\r\nd' }],
    },
    {
      // The verb in any case; no HTTP request or response.
      time: at('2025-03-10T08:00:09Z'), ...activity(4, 'Delete'), ...SUCCESS, actor: ALICE,
      src_endpoint: { ip: '192.168.0.9' },
      resources: [{ type: 'report', uid: 'r 1' }],
    },
  ];
  return { ...base, ...cases[i] };
}

async function insert(db: Database, rows: readonly Row[]): Promise<string[]> {
  const ids: string[] = [];
  const casts: Record<string, string> = { client_ip: '::inet', request: '::jsonb', change_before: '::jsonb', change_after: '::jsonb', attributes: '::jsonb' };
  const placeholders = COLUMNS.map((c, i) => `$${i + 1}${casts[c] ?? ''}`);
  for (const [i, row] of rows.entries()) {
    const full: Record<string, unknown> = {
      trace_id: traceOf(i), span_id: traceOf(i).slice(0, 16), received_at: RECEIVED_AT, service_name: 'user-api', module: 'core', http_route: null,
      duration_ms: 3.5, level: 'full', request: '{"body":{"password":"x"}}', change_before: null, change_after: null, attributes: '{}', ...row,
    };
    const { rows: out } = await db.query<{ id: string }>(
      `INSERT INTO audit.records (${COLUMNS.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING id::text AS id`,
      COLUMNS.map((c) => full[c]),
    );
    ids.push(out[0]?.id ?? '');
  }
  return ids;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const readLines = (path: string): Record<string, unknown>[] => {
  const text = readFileSync(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
};
const readManifest = (path: string): ExportManifest => JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')) as ExportManifest;

const runCli = (argv: string[]) => runCommand(exportCommand, argv);

describe('the OCSF schema subset', () => {
  it('is OCSF 1.8.0 API Activity, and the checker finds what is wrong', () => {
    expect(OCSF_SUBSET).toMatchObject({ ocsfVersion: '1.8.0', event: 'api_activity' });
    const good = expected(0, '1');
    expect(validateOcsf(good)).toEqual([]);
    const { actor: _actor, ...noActor } = good;
    expect(validateOcsf(noActor)).toEqual(['actor: required by api_activity, missing']);
    expect(validateOcsf({ ...good, class_uid: 3005 })).toEqual(['class_uid: 3005 is not one of 6003']);
    expect(validateOcsf({ ...good, time: '2025-03-10' })).toEqual(['time: expected a timestamp, got "2025-03-10"']);
    expect(validateOcsf({ ...good, src_endpoint: {} })).toEqual(['src_endpoint.: network_endpoint needs one of ip, uid, name, hostname, svc_name, instance_uid, interface_uid, interface_name, domain']);
    expect(validateOcsf({ ...good, src_endpoint: { ip: '10.0.0.0/8' } })).toEqual(['src_endpoint.ip: expected an IP address, got "10.0.0.0/8"']);
    expect(validateOcsf({ ...good, status_detail: null })).toEqual(['status_detail: null (leave an attribute without value out)']);
    expect(validateOcsf({ ...good, resources: [{ type: 'user' }] })).toEqual(['resources[0].: resource_details needs one of name, uid']);
    expect(validateOcsf({ ...good, actor: { user: { uid: 'u', type_id: 5 } } })).toEqual(['actor.user.type_id: 5 is not one of 0, 1, 2, 3, 4, 99']);
    expect(validateOcsf({ ...good, outcome: 'success' })).toEqual(['outcome: not an attribute of api_activity']);
  });
});

describe.each(['postgres', 'pglite'] as const)('export --format ocsf (%s)', (backend) => {
  let b: TestBackend;
  let db: Database;
  let dir: ReturnType<typeof tempDir>;
  let ids: string[];

  beforeAll(async () => {
    b = await openTestBackend(backend);
    db = b.db;
    dir = tempDir('export-ocsf');
    await migrate(db);
    ids = await insert(db, ROWS);
  });
  afterAll(async () => {
    await b?.teardown();
    dir?.remove();
  });

  it('every record maps to the API Activity event it should, and every line passes the schema subset', async () => {
    const out = join(dir.path, 'records.ocsf.jsonl');
    const { manifest } = await exportRecords(db, { from: '2025-03-10', to: '2025-03-11', format: 'ocsf', out, actor: 'test-auditor', fetchRows: 2 });
    const lines = readLines(out);
    expect(lines).toHaveLength(ROWS.length);
    lines.forEach((line, i) => {
      expect(validateOcsf(line), `line ${i + 1}`).toEqual([]);
      expect(line, `line ${i + 1}`).toEqual(expected(i, ids[i] as string));
    });
    expect(manifest).toMatchObject({
      format: 'ocsf',
      columns: [],
      ocsf: { version: '1.8.0', class_uid: 6003, class_name: 'API Activity' },
      rows: ROWS.length,
      sha256: sha256(out),
      firstId: ids[0],
      lastId: ids[ROWS.length - 1],
    });
  });

  it('filters apply as for the other formats', async () => {
    const out = join(dir.path, 'denied.ocsf.jsonl');
    const { manifest } = await exportRecords(db, {
      from: '2025-03-10', to: '2025-03-11', format: 'ocsf', out, actor: 'test-auditor', filters: { outcome: ['denied'] },
    });
    const lines = readLines(out);
    expect(lines.map((l) => (l['metadata'] as { uid: string }).uid)).toEqual([ids[3], ids[7]]);
    expect(lines.every((l) => l['status_detail'] === 'denied' && l['status_id'] === 2)).toBe(true);
    expect(manifest).toMatchObject({ rows: 2, filters: { outcome: ['denied'] }, firstId: ids[3], lastId: ids[7] });
  });
});

describe('export --format ocsf: the command, the manifest and the digests (postgres)', () => {
  let b: TestBackend;
  let db: Database;
  let dir: ReturnType<typeof tempDir>;
  let url: string;
  let ids: string[];

  beforeAll(async () => {
    b = await openTestBackend('postgres');
    db = b.db;
    url = `postgres://postgres@127.0.0.1:5432/${b.name ?? ''}`;
    dir = tempDir('export-ocsf-cli');
    await migrate(db);
    ids = await insert(db, ROWS);
    await sealOnce(db, { settleMs: 0, maxRows: 4 });
  });
  afterAll(async () => {
    await b?.teardown();
    dir?.remove();
  });

  it('writes the file and a manifest that verifies, like the other formats', async () => {
    const out = join(dir.path, 'audit.jsonl');
    const r = await runCli(['--from', '2025-03-10', '--to', '2025-03-11', '--format', 'ocsf', '--action', 'user.read,user.update', '--out', out, '--database-url', url, '--as', 'carol']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`exported 2 records (ids ${ids[1]}..${ids[2]})`);
    const lines = readLines(out);
    expect(lines.map((l) => (l['api'] as { operation: string }).operation)).toEqual(['user.read', 'user.update']);
    for (const line of lines) expect(validateOcsf(line)).toEqual([]);
    const m = readManifest(out);
    expect(m).toMatchObject({ format: 'ocsf', rows: 2, bytes: readFileSync(out).length, sha256: sha256(out), filters: { action: ['user.read', 'user.update'] } });
    expect(m.verification).toMatchObject({ checked: true, verified: true, findings: [], sealedRows: 2, unsealedRows: 0 });
    expect(m.verification.digests.map((d) => d.ok)).toEqual([true]);
    const { rows: audit } = await db.query<{ attributes: Record<string, unknown> }>(
      "SELECT attributes FROM audit.records WHERE action = 'audit.export' AND actor_id = 'carol'",
    );
    expect(audit.map((a) => a.attributes)).toEqual([expect.objectContaining({ format: 'ocsf', rows: 2, sha256: sha256(out) })]);
  });

  it('a tampered row: the OCSF export completes, exit 3, the manifest says so', async () => {
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query("UPDATE audit.records SET actor_name = 'eve' WHERE id = $1::bigint", [ids[3]]);
    });
    const out = join(dir.path, 'tampered.jsonl');
    const r = await runCli(['--from', '2025-03-10', '--to', '2025-03-11', '--format', 'ocsf', '--out', out, '--database-url', url]);
    expect(r.code).toBe(3);
    expect(readManifest(out).verification.verified).toBe(false);
    expect(readLines(out)[3]).toMatchObject({ actor: { user: { name: 'eve' } } });
  });

  it('a FILE ending in .ocsf.jsonl is OCSF without --format', async () => {
    const out = join(dir.path, 'audit.ocsf.jsonl');
    // (--no-verify: the row tampered with above lies in the digest that covers this one.)
    const r = await runCli(['--from', '2025-03-10', '--to', '2025-03-11', '--actor', 'u-2', '--no-verify', '--out', out, '--database-url', url]);
    expect(r.code).toBe(0);
    expect(readManifest(out).format).toBe('ocsf');
    expect(readLines(out).map((l) => l['class_uid'])).toEqual([6003]);
  });

  it('--help names the format, and an unknown one is refused', async () => {
    const help = await runCli(['--help']);
    expect(help.out).toMatch(/--format FORMAT +csv, jsonl, or ocsf \(OCSF 1\.8\.0 API Activity events/);
    const bad = await runCli(['--from', '2025-03-10', '--to', '2025-03-11', '--format', 'cef', '--out', join(dir.path, 'x'), '--database-url', url]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--format cef: expected csv, jsonl, ocsf');
  });
});
