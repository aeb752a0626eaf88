import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardDb, type DashboardDb, type SqlResult } from './dashboard-db.js';
import { allPanels, loadDashboard, panel, panelSql, rowOf, variable, variableQuery } from './dashboard-model.js';
import { expandSql, type QueryOptions } from './grafana-query.js';
import { HOUR, insertSeeds, RANGE, traceOf } from './seed.js';
import { ALL } from './template-variables.js';

const d = loadDashboard('audit-modules.json');
let db: DashboardDb;
let ids: number[];

beforeAll(async () => {
  db = await openDashboardDb();
  ids = await insertSeeds(db.owner);
});
afterAll(async () => {
  await db?.teardown();
});

type Options = Omit<QueryOptions, 'range' | 'scopedVars'>;
const id = (n: number): number => ids[n - 1] as number;

/** A panel of the row repeated for `module`, as Grafana runs it there. */
async function run(title: string, module: string, o: Options = {}): Promise<SqlResult> {
  const sql = expandSql(d, panelSql(d, title).rawSql as string, { range: RANGE, interval: '1h', scopedVars: { module }, ...o });
  return db.read(sql);
}

const ROW_PANELS = ['Activity in $module', 'Fields of $module', 'Actions in $module', 'Records of $module'];

describe('audit-modules: layout', () => {
  it('one row per module: the row repeats over the module variable and holds every panel', () => {
    const rows = d.panels.filter((p) => p.type === 'row');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ title: 'Module $module', repeat: 'module', collapsed: false });
    expect(allPanels(d).filter((p) => p.type !== 'row').map((p) => p.title)).toEqual(ROW_PANELS);
    for (const title of ROW_PANELS) expect(rowOf(d, panel(d, title))).toBe(rows[0]);
    expect(variable(d, 'module')).toMatchObject({ multi: true, includeAll: true, current: { value: [ALL] } });
  });

  it('the module variable lists the modules of the range (narrowed by service)', async () => {
    const values = async (o: Options): Promise<unknown[]> =>
      (await db.read(expandSql(d, variableQuery(variable(d, 'module')) as string, { range: RANGE, ...o }))).rows.map((r) => r['module']);
    expect(await values({})).toEqual(['core', 'jenkins', 'user_auth']);
    expect(await values({ selection: { service: ['demo-api'] } })).toEqual(['core', 'user_auth']);
  });

  it('its filters are the overview\'s, and every variable query runs', async () => {
    const overview = loadDashboard('audit-overview.json');
    for (const v of d.templating.list) {
      const same = overview.templating.list.find((x) => x.name === v.name);
      expect(same, v.name).toEqual(v);
      if (v.type === 'query') {
        const selections: Record<string, string[]>[] = [{}, { service: ['ci'], module: ['jenkins'], tenant: ['globex'] }, { service: ['ci', 'billing'] }];
        for (const selection of selections) {
          await db.read(expandSql(d, variableQuery(v) as string, { range: RANGE, selection }));
        }
      }
    }
  });

  it('the records table turns the fields column into one column per field', () => {
    expect(panel(d, 'Records of $module').transformations).toEqual([
      { id: 'extractFields', options: { format: 'json', keepTime: false, replace: false, source: 'fields' } },
      { id: 'organize', options: { excludeByName: { fields: true }, includeByName: {}, indexByName: {}, renameByName: {} } },
    ]);
  });
});

describe('audit-modules: a row per module', () => {
  it('Fields of jenkins: its attribute keys, how often, a few values', async () => {
    const res = await run('Fields of $module', 'jenkins');
    expect(res.columns).toEqual(['field', 'attribute', 'records', 'distinct_values', 'examples']);
    expect(res.rows).toEqual([
      { field: 'build_number', attribute: 'audit.meta.build_number', records: 3, distinct_values: 2, examples: '17, 18' },
      { field: 'job', attribute: 'audit.meta.job', records: 3, distinct_values: 2, examples: 'deploy-api, nightly' },
      { field: 'branch', attribute: 'audit.meta.branch', records: 2, distinct_values: 1, examples: 'main' },
    ]);
  });

  it('Fields of user_auth and core: their own keys only, never resource or scope', async () => {
    expect((await run('Fields of $module', 'user_auth')).rows).toEqual([
      { field: 'mfa', attribute: 'audit.meta.mfa', records: 2, distinct_values: 2, examples: 'false, true' },
      { field: 'attempted_principal', attribute: 'audit.meta.attempted_principal', records: 1, distinct_values: 1, examples: 'mallory' },
      { field: 'method', attribute: 'audit.meta.method', records: 1, distinct_values: 1, examples: 'password' },
    ]);
    expect((await run('Fields of $module', 'core')).rows).toEqual([
      { field: 'audit.error.message', attribute: 'audit.error.message', records: 1, distinct_values: 1, examples: 'card declined' },
      { field: 'reason', attribute: 'audit.meta.reason', records: 1, distinct_values: 1, examples: 'promotion' },
    ]);
  });

  it("Records of jenkins: newest first, the module's fields as JSON for the extract transformation", async () => {
    const res = await run('Records of $module', 'jenkins');
    expect(res.columns).toEqual(['time', 'id', 'service', 'tenant', 'actor', 'action', 'resource', 'outcome', 'status', 'fields', 'trace_id', 'trace_url']);
    expect(res.rows.map((r) => ({ ...r, fields: JSON.parse(r['fields'] as string) }))).toEqual([
      {
        time: '2026-05-04T11:30:00.000Z', id: id(8), service: 'ci', tenant: null, actor: 'ci-bot', action: 'build.trigger', resource: 'build/18',
        outcome: 'success', status: 201, fields: { job: 'nightly', build_number: 18, branch: 'main' },
        trace_id: traceOf(8), trace_url: `http://localhost:16686/trace/${traceOf(8)}`,
      },
      {
        time: '2026-05-04T11:15:00.000Z', id: id(7), service: 'ci', tenant: 'globex', actor: 'bob (u-2)', action: 'build.cancel', resource: 'build/17',
        outcome: 'denied', status: 403, fields: { job: 'deploy-api', build_number: 17 },
        trace_id: traceOf(7), trace_url: `http://localhost:16686/trace/${traceOf(7)}`,
      },
      {
        time: '2026-05-04T11:05:00.000Z', id: id(6), service: 'ci', tenant: 'globex', actor: 'ci-bot', action: 'build.trigger', resource: 'build/17',
        outcome: 'success', status: 201, fields: { job: 'deploy-api', build_number: 17, branch: 'main' },
        trace_id: traceOf(6), trace_url: `http://localhost:16686/trace/${traceOf(6)}`,
      },
    ]);
    const core = await run('Records of $module', 'core');
    expect(core.rows.map((r) => [r['id'], JSON.parse(r['fields'] as string)])).toEqual([
      [id(9), {}],
      [id(5), { 'audit.error.message': 'card declined' }],
      [id(2), { reason: 'promotion' }],
      [id(1), {}],
    ]);
  });

  it('Actions in jenkins and Activity in jenkins', async () => {
    const actions = await run('Actions in $module', 'jenkins');
    expect(actions.columns).toEqual(['action', 'records', 'denied', 'failed']);
    expect(actions.rows).toEqual([
      { action: 'build.trigger', records: 2, denied: 0, failed: 0 },
      { action: 'build.cancel', records: 1, denied: 1, failed: 0 },
    ]);
    const activity = await run('Activity in $module', 'jenkins');
    expect(activity.columns).toEqual(['time', 'success', 'denied', 'failure']);
    expect(activity.rows).toEqual([{ time: HOUR(11), success: 2, denied: 1, failure: 0 }]);
  });

  it('the other filters apply inside each row, single and multi-valued', async () => {
    const count = async (module: string, o: Options): Promise<number> => (await run('Records of $module', module, o)).rows.length;
    expect(await count('jenkins', { selection: { tenant: ['globex'] } })).toBe(2);
    expect(await count('jenkins', { selection: { actor: ['u-2', 'u-1'] } })).toBe(1);
    expect(await count('jenkins', { selection: { outcome: ['success'], action: ['build.trigger', 'build.cancel'] } })).toBe(2);
    expect(await count('user_auth', { selection: { service: ['billing', 'ci'] } })).toBe(0);
    const fields = await run('Fields of $module', 'jenkins', { selection: { tenant: ['globex'] } });
    expect(fields.rows.map((r) => [r['field'], r['records']])).toEqual([['build_number', 2], ['job', 2], ['branch', 1]]);
  });
});
