import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardDb, type DashboardDb, type ReadAs, type SqlResult } from './dashboard-db.js';
import { allPanels, loadDashboard, panelSql, variable, variableQuery } from './dashboard-model.js';
import { expandSql, type QueryOptions } from './grafana-query.js';
import { HOUR, insertSeeds, RANGE, traceOf } from './seed.js';
import { ALL } from './template-variables.js';

const d = loadDashboard('audit-overview.json');
let db: DashboardDb;
let ids: number[];

beforeAll(async () => {
  db = await openDashboardDb();
  ids = await insertSeeds(db.owner);
});
afterAll(async () => {
  await db?.teardown();
});

type Options = Omit<QueryOptions, 'range'>;

async function run(title: string, o: Options = {}, as?: ReadAs): Promise<SqlResult> {
  const sql = expandSql(d, panelSql(d, title).rawSql as string, { range: RANGE, interval: '1h', ...o });
  return db.read(sql, as);
}

async function variableValues(name: string, o: Options = {}): Promise<unknown[]> {
  const sql = expandSql(d, variableQuery(variable(d, name)) as string, { range: RANGE, ...o });
  const res = await db.read(sql);
  return res.rows.map((r) => (res.columns.length === 1 ? r[res.columns[0] as string] : r));
}

const id = (n: number): number => ids[n - 1] as number;
const summaryOf = async (o: Options, as?: ReadAs): Promise<unknown> => (await run('Summary', o, as)).rows[0];
const JAEGER = (n: number): string => `http://localhost:16686/trace/${traceOf(n)}`;

describe('audit-overview: variables', () => {
  it('list the values in the time range, narrowed by the service filter', async () => {
    expect(await variableValues('service')).toEqual(['billing', 'ci', 'demo-api']);
    expect(await variableValues('module')).toEqual(['core', 'jenkins', 'user_auth']);
    expect(await variableValues('module', { selection: { service: ['ci'] } })).toEqual(['jenkins']);
    expect(await variableValues('tenant')).toEqual(['acme', 'globex']);
    expect(await variableValues('tenant', { selection: { service: ['billing', 'ci'] } })).toEqual(['globex']);
    expect(await variableValues('actor')).toEqual([
      { __value: 'u-1', __text: 'alice (u-1)' },
      { __value: 'u-2', __text: 'bob (u-2)' },
      { __value: 'ci-bot', __text: 'ci-bot' },
      { __value: 'u-3', __text: 'dave (u-3)' },
    ]);
    expect(await variableValues('action', { selection: { module: ['jenkins'] } })).toEqual(['build.cancel', 'build.trigger']);
  });

  it('are multi-value with All as a custom all value, except the text boxes', () => {
    for (const name of ['service', 'module', 'tenant', 'actor', 'action', 'outcome']) {
      expect(variable(d, name)).toMatchObject({ multi: true, includeAll: true, allValue: "'__all'", current: { value: [ALL] } });
    }
    for (const name of ['resource', 'trace', 'record', 'apm_url']) expect(variable(d, name).type).toBe('textbox');
    expect(variable(d, 'outcome').query).toBe('success,failure,denied');
  });
});

describe('audit-overview: panels with every filter on All', () => {
  it('Records over time by outcome: one row per hour', async () => {
    const res = await run('Records over time by outcome');
    expect(res.columns).toEqual(['time', 'success', 'denied', 'failure']);
    expect(res.rows).toEqual([
      { time: HOUR(10), success: 3, denied: 1, failure: 1 },
      { time: HOUR(11), success: 3, denied: 1, failure: 0 },
      { time: HOUR(12), success: 1, denied: 0, failure: 0 },
    ]);
  });

  it('Summary', async () => {
    const res = await run('Summary');
    expect(res.columns).toEqual(['records', 'denied', 'failed', 'actors', 'services']);
    expect(res.rows).toEqual([{ records: 10, denied: 2, failed: 1, actors: 4, services: 3 }]);
  });

  it('Top actions', async () => {
    const res = await run('Top actions');
    expect(res.columns).toEqual(['action', 'records', 'denied', 'failed']);
    expect(res.rows).toEqual([
      { action: 'build.trigger', records: 2, denied: 0, failed: 0 },
      { action: 'session.create', records: 2, denied: 1, failed: 0 },
      { action: 'build.cancel', records: 1, denied: 1, failed: 0 },
      { action: 'invoice.pay', records: 1, denied: 0, failed: 1 },
      { action: 'report.export', records: 1, denied: 0, failed: 0 },
      { action: 'user.create', records: 1, denied: 0, failed: 0 },
      { action: 'user.delete', records: 1, denied: 0, failed: 0 },
      { action: 'user.update', records: 1, denied: 0, failed: 0 },
    ]);
  });

  it('Top actors: anonymous callers count as one actor', async () => {
    const res = await run('Top actors');
    expect(res.columns).toEqual(['actor', 'actor_id', 'actor_type', 'records', 'denied', 'failed']);
    expect(res.rows).toEqual([
      { actor: 'alice (u-1)', actor_id: 'u-1', actor_type: 'user', records: 4, denied: 0, failed: 0 },
      { actor: 'bob (u-2)', actor_id: 'u-2', actor_type: 'user', records: 2, denied: 1, failed: 1 },
      { actor: 'ci-bot', actor_id: 'ci-bot', actor_type: 'service', records: 2, denied: 0, failed: 0 },
      { actor: 'anonymous', actor_id: null, actor_type: 'anonymous', records: 1, denied: 1, failed: 0 },
      { actor: 'dave (u-3)', actor_id: 'u-3', actor_type: 'user', records: 1, denied: 0, failed: 0 },
    ]);
  });

  it('Denied and failed operations: newest first, with the trace link', async () => {
    const res = await run('Denied and failed operations');
    expect(res.columns).toEqual([
      'time', 'id', 'service', 'actor', 'attempted_principal', 'tenant', 'action', 'resource', 'outcome', 'status', 'client_ip', 'error', 'trace_id', 'trace_url',
    ]);
    expect(res.rows).toEqual([
      {
        time: '2026-05-04T11:15:00.000Z', id: id(7), service: 'ci', actor: 'bob (u-2)', attempted_principal: null, tenant: 'globex',
        action: 'build.cancel', resource: 'build/17', outcome: 'denied', status: 403, client_ip: null, error: null,
        trace_id: traceOf(7), trace_url: JAEGER(7),
      },
      {
        time: '2026-05-04T10:40:00.000Z', id: id(5), service: 'billing', actor: 'bob (u-2)', attempted_principal: null, tenant: 'globex',
        action: 'invoice.pay', resource: 'invoice/INV-7', outcome: 'failure', status: 500, client_ip: '2001:db8::7', error: 'card declined',
        trace_id: traceOf(5), trace_url: JAEGER(5),
      },
      {
        time: '2026-05-04T10:20:00.000Z', id: id(3), service: 'demo-api', actor: 'anonymous', attempted_principal: 'mallory', tenant: 'acme',
        action: 'session.create', resource: 'session', outcome: 'denied', status: 401, client_ip: '203.0.113.9', error: null,
        trace_id: traceOf(3), trace_url: JAEGER(3),
      },
    ]);
  });

  it('Recent records: every record of the range, newest first', async () => {
    const res = await run('Recent records');
    expect(res.columns).toEqual([
      'time', 'id', 'service', 'module', 'tenant', 'actor', 'action', 'resource', 'outcome', 'status', 'method', 'path', 'client_ip', 'duration_ms', 'trace_id', 'trace_url',
    ]);
    expect(res.rows.map((r) => r['id'])).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map(id));
    expect(res.rows.at(-1)).toEqual({
      time: '2026-05-04T10:05:00.000Z', id: id(1), service: 'demo-api', module: 'core', tenant: 'acme', actor: 'alice (u-1)',
      action: 'user.create', resource: 'user/3', outcome: 'success', status: 201, method: 'POST', path: '/users', client_ip: '10.0.0.1',
      duration_ms: 12.5, trace_id: traceOf(1), trace_url: JAEGER(1),
    });
    expect(res.rows[0]).toMatchObject({ module: null, tenant: null, actor: 'dave (u-3)', resource: "report/q2'26" });
    expect(res.rows.find((r) => r['id'] === id(6))).toMatchObject({ actor: 'ci-bot', resource: 'build/17' });
  });
});

describe('audit-overview: filters', () => {
  const records = async (o: Options): Promise<unknown> => ((await summaryOf(o)) as { records: number }).records;

  it('single and multiple values of each variable', async () => {
    expect(await summaryOf({ selection: { service: ['ci'] } })).toEqual({ records: 3, denied: 1, failed: 0, actors: 2, services: 1 });
    expect(await records({ selection: { service: ['billing', 'ci'] } })).toBe(4);
    expect(await records({ selection: { tenant: ['acme'] } })).toBe(5);
    expect(await records({ selection: { tenant: ['acme', 'globex'] } })).toBe(8);
    expect(await records({ selection: { module: ['jenkins', 'user_auth'] } })).toBe(5);
    expect(await records({ selection: { actor: ['u-1'] } })).toBe(4);
    expect(await records({ selection: { actor: ['u-2', 'ci-bot'] } })).toBe(4);
    expect(await records({ selection: { action: ['session.create'] } })).toBe(2);
    expect(await records({ selection: { outcome: ['denied', 'failure'] } })).toBe(3);
    expect(await records({ selection: { outcome: ['success'] } })).toBe(7);
    expect(await records({ selection: { service: ['demo-api'], tenant: ['acme'], outcome: ['success'] } })).toBe(4);
    expect(await records({ selection: { service: ['ci'], tenant: ['acme'] } })).toBe(0);
  });

  it('All keeps the records whose column is empty (no tenant, no module, anonymous)', async () => {
    expect(await records({ selection: { tenant: ALL, module: ALL, actor: ALL } })).toBe(10);
    expect(await records({ selection: { tenant: ['acme', 'globex'], module: ['core', 'jenkins', 'user_auth'] } })).toBe(8);
  });

  it('resource: an id or type/id, quotes taken literally', async () => {
    expect(await records({ selection: { resource: 'user/3' } })).toBe(3);
    expect(await records({ selection: { resource: '17' } })).toBe(2);
    expect(await records({ selection: { resource: "report/q2'26" } })).toBe(1);
    expect(await records({ selection: { resource: "x' OR '1'='1" } })).toBe(0);
  });

  it('trace id, in any case', async () => {
    const res = await run('Recent records', { selection: { trace: ` ${traceOf(5).toUpperCase()} ` } });
    expect(res.rows.map((r) => r['id'])).toEqual([id(5)]);
  });

  it('outcome shapes the series and the tables', async () => {
    const series = await run('Records over time by outcome', { selection: { outcome: ['denied'] } });
    expect(series.rows).toEqual([
      { time: HOUR(10), success: 0, denied: 1, failure: 0 },
      { time: HOUR(11), success: 0, denied: 1, failure: 0 },
    ]);
    const actors = await run('Top actors', { selection: { outcome: ['success'], service: ['demo-api'] } });
    expect(actors.rows.map((r) => [r['actor'], r['records']])).toEqual([['alice (u-1)', 4], ['dave (u-3)', 1]]);
  });

  it('a 5-minute interval buckets by 5 minutes', async () => {
    const res = await run('Records over time by outcome', { interval: '5m', selection: { service: ['ci'] } });
    expect(res.rows).toEqual([
      { time: HOUR(11) + 300, success: 1, denied: 0, failure: 0 },
      { time: HOUR(11) + 900, success: 0, denied: 1, failure: 0 },
      { time: HOUR(11) + 1800, success: 1, denied: 0, failure: 0 },
    ]);
  });

  it('a reader limited to one tenant by row-level security sees that tenant only', async () => {
    expect(await summaryOf({}, { role: 'audit_reader', tenant: 'globex' })).toEqual({ records: 3, denied: 1, failed: 1, actors: 2, services: 2 });
  });
});

describe('audit-overview: every query', () => {
  const SELECTIONS: Options[] = [
    {},
    { selection: { service: ['demo-api'], module: ['core'], tenant: ['acme'], actor: ['u-1'], action: ['user.update'], outcome: ['success'], record: '2' } },
    { selection: { service: ['demo-api', 'ci'], module: ['core', 'jenkins'], tenant: ['acme', 'globex'], actor: ['u-1', 'u-2'], outcome: ['success', 'denied'], resource: 'user/3' } },
  ];

  it('runs with All, single and multiple values, giving the same columns', async () => {
    const sqlPanels = allPanels(d).filter((p) => (p.targets ?? []).some((t) => t.rawSql !== undefined));
    expect(sqlPanels.map((p) => p.title)).toEqual([
      'Records over time by outcome', 'Summary', 'Top actions', 'Top actors', 'Denied and failed operations', 'Recent records', 'Record',
      'Change: before → after', 'Request, change and attributes',
    ]);
    for (const p of sqlPanels) {
      const columns = await Promise.all(SELECTIONS.map(async (o) => (await run(p.title, o)).columns));
      for (const c of columns) expect(c, p.title).toEqual(columns[0]);
    }
    for (const v of d.templating.list.filter((x) => x.type === 'query')) {
      for (const o of SELECTIONS) await variableValues(v.name, o);
    }
  });
});

describe('audit-overview: trace links', () => {
  const urlOf = async (apm: string): Promise<unknown> =>
    (await run('Recent records', { selection: { apm_url: apm, trace: traceOf(2) } })).rows[0]?.['trace_url'];

  it('a base URL gets /trace/<id> (Jaeger); a {trace_id} template is filled in (Tempo in Grafana Explore)', async () => {
    expect(await urlOf('https://jaeger.example.com/')).toBe(`https://jaeger.example.com/trace/${traceOf(2)}`);
    const tempo =
      'https://grafana.example.com/explore?schemaVersion=1&panes=%7B%22t%22:%7B%22datasource%22:%22tempo%22,%22queries%22:%5B%7B%22refId%22:%22A%22,%22queryType%22:%22traceql%22,%22query%22:%22{trace_id}%22%7D%5D%7D%7D&orgId=1';
    expect(await urlOf(tempo)).toBe(tempo.replace('{trace_id}', traceOf(2)));
  });

  it('the trace_id columns link to trace_url, which is hidden', () => {
    for (const title of ['Denied and failed operations', 'Recent records']) {
      const overrides = allPanels(d).find((p) => p.title === title)?.fieldConfig?.overrides ?? [];
      const link = overrides.find((o) => o.matcher.options === 'trace_id')?.properties.find((p) => p.id === 'links');
      expect(link?.value).toEqual([{ targetBlank: true, title: 'Open the trace in the APM', url: '${__data.fields.trace_url}' }]);
      const hidden = overrides.find((o) => o.matcher.options === 'trace_url')?.properties;
      expect(hidden).toEqual([{ id: 'custom.hidden', value: true }]);
    }
  });
});

describe('audit-overview: record detail', () => {
  it('shows nothing until a record id is chosen, and nothing for a malformed id', async () => {
    for (const record of ['', 'abc', "1' OR '1'='1", '99999999999999999999']) {
      for (const title of ['Record', 'Change: before → after', 'Request, change and attributes']) {
        expect((await run(title, { selection: { record } })).rows).toEqual([]);
      }
    }
  });

  it('Record: every column, times in UTC, the trace id linked', async () => {
    const res = await run('Record', { selection: { record: String(id(2)) } });
    expect(res.columns).toEqual(['field', 'value', 'link']);
    const byField = Object.fromEntries(res.rows.map((r) => [r['field'], r['value']]));
    expect(Object.keys(byField)).toEqual([
      'id', 'occurred_at', 'received_at', 'service_name', 'module', 'actor_id', 'actor_name', 'actor_type', 'tenant_id', 'action',
      'resource_type', 'resource_id', 'outcome', 'status_code', 'http_method', 'http_route', 'url_path', 'client_ip', 'user_agent',
      'duration_ms', 'level', 'trace_id', 'span_id', 'emitter_id', 'emitter_seq',
    ]);
    expect(byField).toMatchObject({
      id: String(id(2)), occurred_at: '2026-05-04 10:10:00.000000 UTC', service_name: 'demo-api', module: 'core', actor_id: 'u-1',
      actor_name: 'alice', actor_type: 'user', tenant_id: 'acme', action: 'user.update', resource_type: 'user', resource_id: '3',
      outcome: 'success', status_code: '200', http_method: 'PUT', http_route: '/users/:id', url_path: '/users/3', client_ip: '10.0.0.1',
      user_agent: null, duration_ms: '8', level: 'full', trace_id: traceOf(2), emitter_id: 'e-1', emitter_seq: '2',
    });
    expect(res.rows.filter((r) => r['link'] !== null)).toEqual([{ field: 'trace_id', value: traceOf(2), link: JAEGER(2) }]);
  });

  it('Change: field by field', async () => {
    const change = async (n: number): Promise<unknown> => (await run('Change: before → after', { selection: { record: String(id(n)) } })).rows;
    const res = await run('Change: before → after', { selection: { record: String(id(2)) } });
    expect(res.columns).toEqual(['field', 'before', 'after', 'change']);
    expect(res.rows).toEqual([
      { field: 'name', before: '"carol"', after: '"carol"', change: 'unchanged' },
      { field: 'role', before: '"viewer"', after: '"admin"', change: 'changed' },
      { field: 'team', before: null, after: '"ops"', change: 'added' },
    ]);
    expect(await change(1)).toEqual([
      { field: 'name', before: null, after: '"carol"', change: 'added' },
      { field: 'role', before: null, after: '"viewer"', change: 'added' },
    ]);
    expect(await change(9)).toEqual([
      { field: 'name', before: '"carol"', after: null, change: 'removed' },
      { field: 'role', before: '"admin"', after: null, change: 'removed' },
      { field: 'team', before: '"ops"', after: null, change: 'removed' },
    ]);
    expect(await change(10)).toEqual([{ field: '(whole value)', before: '[1, 2]', after: '[1, 2, 3]', change: 'changed' }]);
    expect(await change(3)).toEqual([]);
  });

  it('Request, change and attributes: the JSON columns', async () => {
    const res = await run('Request, change and attributes', { selection: { record: String(id(2)) } });
    expect(res.columns).toEqual(['part', 'value']);
    expect(res.rows.map((r) => [r['part'], r['value'] === null ? null : JSON.parse(r['value'] as string)])).toEqual([
      ['request', { body: { role: 'admin', team: 'ops' } }],
      ['change_before', { name: 'carol', role: 'viewer' }],
      ['change_after', { name: 'carol', role: 'admin', team: 'ops' }],
      ['attributes', { 'audit.meta.reason': 'promotion', resource: { 'host.name': 'web-1', 'process.pid': 4242 }, scope: { name: 'otel-audit', version: '0.1.0' } }],
    ]);
  });
});
