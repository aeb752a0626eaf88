import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestSink, type TestSink } from '../helpers/sink.js';
import { connectReader } from './dashboard-db.js';
import {
  allPanels, DASHBOARD_FILES, dashboardFiles, DASHBOARDS_DIR, loadDashboard, panelSql, POSTGRES_TYPE, POSTGRES_UID, PROMETHEUS_TYPE,
  PROMETHEUS_UID, PROVISIONING_DIR, targetDatasource, variableQuery, type Dashboard,
} from './dashboard-model.js';
import { expandSql } from './grafana-query.js';
import { exposedSeries, promqlNames, variableQueryNames, type PromqlNames } from './promql.js';

const dashboards: [string, Dashboard][] = DASHBOARD_FILES.map((f) => [f, loadDashboard(f)]);
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const DASHBOARDS_README = readFileSync(join(DASHBOARDS_DIR, 'README.md'), 'utf8');

interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: string;
  url?: string;
  user?: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, unknown>;
}

const datasourcesFile = readFileSync(join(PROVISIONING_DIR, 'datasources', 'otel-audit.yaml'), 'utf8');
const providersFile = readFileSync(join(PROVISIONING_DIR, 'dashboards', 'otel-audit.yaml'), 'utf8');
const provisioned = (parse(datasourcesFile) as { datasources: ProvisionedDatasource[] }).datasources;

/** Every value under a `datasource` key anywhere in the model (panels, targets, variables, annotations). */
function datasourceRefs(node: unknown, path: string, out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(node)) node.forEach((n, i) => datasourceRefs(n, `${path}[${i}]`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource') out.push([`${path}.${k}`, v]);
      datasourceRefs(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/** Every string in the model with the JSON path to it. */
function strings(node: unknown, path: string, out: [string, string][] = []): [string, string][] {
  if (typeof node === 'string') out.push([path, node]);
  else if (Array.isArray(node)) node.forEach((n, i) => strings(n, `${path}[${i}]`, out));
  else if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) strings(v, `${path}.${k}`, out);
  return out;
}

/** Grafana's global variables, data-link variables and the SQL macros, which need no dashboard variable. */
const BUILT_IN = new Set([
  '__interval', '__interval_ms', '__rate_interval', '__range', '__range_s', '__range_ms', '__from', '__to', '__all', '__url_time_range',
  '__value', '__data', '__field', '__series', '__org', '__user', '__dashboard', '__timeFilter', '__timeGroupAlias', '__timeGroup',
  '__timeFrom', '__timeTo', '__time', '__timeEpoch',
]);
const VARIABLE_REFERENCE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

describe('dashboard files', () => {
  it('are the three dashboards, each valid JSON with its own uid and the same schemaVersion', () => {
    expect(dashboardFiles()).toEqual([...DASHBOARD_FILES].sort());
    expect(dashboards.map(([, d]) => d.uid)).toEqual(['otel-audit-overview', 'otel-audit-modules', 'otel-audit-pipeline']);
    expect(new Set(dashboards.map(([, d]) => d.schemaVersion))).toEqual(new Set([41]));
    for (const [file] of dashboards) {
      const raw = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')) as Record<string, unknown>;
      expect(raw['id'], file).toBeNull();
      expect(raw['__inputs'], `${file}: an export for sharing, with data source inputs`).toBeUndefined();
      expect(raw['tags'], file).toContain('otel-audit');
    }
  });

  it('lay out their panels on the 24-column grid without overlaps, with unique ids', () => {
    for (const [file, d] of dashboards) {
      const panels = allPanels(d);
      expect(new Set(panels.map((p) => p.id)).size, file).toBe(panels.length);
      for (const p of panels) {
        expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
        expect(p.gridPos.w * p.gridPos.h, `${file}: ${p.title}`).toBeGreaterThan(0);
      }
      for (const [i, a] of d.panels.entries()) {
        for (const b of d.panels.slice(i + 1)) {
          const overlap =
            a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w &&
            a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
          expect(overlap, `${file}: ${a.title} overlaps ${b.title}`).toBe(false);
        }
      }
    }
  });

  it('reference only the provisioned data sources, by uid and type', () => {
    const byUid = new Map(provisioned.map((ds) => [ds.uid, ds.type]));
    expect([...byUid]).toEqual([[POSTGRES_UID, POSTGRES_TYPE], [PROMETHEUS_UID, PROMETHEUS_TYPE]]);
    for (const [file, d] of dashboards) {
      const refs = datasourceRefs(d, file);
      expect(refs.length, file).toBeGreaterThan(0);
      for (const [path, ref] of refs) {
        expect(ref, path).toEqual({ type: expect.any(String), uid: expect.any(String) });
        const { type, uid } = ref as { type: string; uid: string };
        expect(byUid.get(uid), `${path}: ${uid}`).toBe(type);
      }
      // Every query names its data source, or its panel does.
      for (const p of allPanels(d)) for (const t of p.targets ?? []) expect(targetDatasource(p, t), `${file}: ${p.title}`).toBeDefined();
    }
  });

  it('write SQL queries in code mode, as tables or time series with a time column', () => {
    for (const [file, d] of dashboards) {
      for (const p of allPanels(d)) {
        for (const t of p.targets ?? []) {
          if (targetDatasource(p, t)?.uid !== POSTGRES_UID) continue;
          expect(t, `${file}: ${p.title}`).toMatchObject({ editorMode: 'code', rawQuery: true, rawSql: expect.any(String) });
          expect(['table', 'time_series'], `${file}: ${p.title}`).toContain(t.format);
          if (t.format === 'time_series') expect(t.rawSql, `${file}: ${p.title}`).toMatch(/\$__timeGroupAlias\(/);
        }
      }
    }
  });

  it('use only variables they define (or Grafana built-ins)', () => {
    for (const [file, d] of dashboards) {
      const names = new Set(d.templating.list.map((v) => v.name));
      for (const [path, text] of strings(d, file)) {
        for (const m of text.matchAll(VARIABLE_REFERENCE)) {
          const name = (m[1] ?? m[2] ?? m[4]) as string;
          expect(names.has(name) || BUILT_IN.has(name), `${path}: $${name}`).toBe(true);
        }
      }
    }
  });
});

describe('provisioning', () => {
  /** Environment variables named by the values of a provisioning file (Grafana expands $NAME and ${NAME} in values). */
  const placeholders = (...files: string[]): string[] => {
    const names = files.flatMap((f) => strings(parse(f), '').flatMap(([, v]) => [...v.matchAll(/\$\{(\w+)\}|\$(\w+)/g)].map((m) => (m[1] ?? m[2]) as string)));
    return [...new Set(names)].sort();
  };

  it('data sources: fixed uids, connection settings from the environment, no secret in the file', () => {
    const [postgres, prometheus] = provisioned;
    expect(postgres).toMatchObject({
      uid: POSTGRES_UID, type: POSTGRES_TYPE, url: '${OTEL_AUDIT_GRAFANA_PG_HOST}', user: '${OTEL_AUDIT_GRAFANA_PG_USER}',
      jsonData: { database: '${OTEL_AUDIT_GRAFANA_PG_DATABASE}', sslmode: '${OTEL_AUDIT_GRAFANA_PG_SSLMODE}', timescaledb: false },
      secureJsonData: { password: '${OTEL_AUDIT_GRAFANA_PG_PASSWORD}' },
    });
    expect(prometheus).toMatchObject({ uid: PROMETHEUS_UID, type: PROMETHEUS_TYPE, url: '${OTEL_AUDIT_GRAFANA_PROMETHEUS_URL}' });
  });

  it('dashboards: a file provider reading the directory named by the environment', () => {
    const { providers } = parse(providersFile) as { providers: { type: string; options: { path: string } }[] };
    expect(providers).toHaveLength(1);
    expect(providers[0]).toMatchObject({ type: 'file', options: { path: '${OTEL_AUDIT_GRAFANA_DASHBOARDS_DIR}' } });
  });

  it('every environment placeholder is documented in both READMEs', () => {
    const vars = placeholders(datasourcesFile, providersFile);
    expect(vars).toEqual([
      'OTEL_AUDIT_GRAFANA_DASHBOARDS_DIR', 'OTEL_AUDIT_GRAFANA_PG_DATABASE', 'OTEL_AUDIT_GRAFANA_PG_HOST', 'OTEL_AUDIT_GRAFANA_PG_PASSWORD',
      'OTEL_AUDIT_GRAFANA_PG_SSLMODE', 'OTEL_AUDIT_GRAFANA_PG_USER', 'OTEL_AUDIT_GRAFANA_PROMETHEUS_URL',
    ]);
    const start = README.indexOf('\n## Dashboards\n');
    expect(start, 'README.md has a "## Dashboards" section').toBeGreaterThanOrEqual(0);
    const end = README.indexOf('\n## ', start + 1);
    const section = README.slice(start, end < 0 ? undefined : end);
    for (const v of vars) {
      expect(section, `README.md Dashboards: ${v}`).toContain(`\`${v}\``);
      expect(DASHBOARDS_README, `dashboards/README.md: ${v}`).toContain(`\`${v}\``);
    }
  });
});

describe('Prometheus queries against a live sink', () => {
  let t: TestSink;
  let series: Map<string, Set<string>>;

  const attr = (key: string, value: string): Record<string, unknown> => ({ key, value: { stringValue: value } });
  const logs = (records: Record<string, unknown>[]): string =>
    JSON.stringify({ resourceLogs: [{ resource: { attributes: [attr('service.name', 'dashboards-test')] }, scopeLogs: [{ scope: { name: 'otel-audit' }, logRecords: records }] }] });
  const now = `${Date.now()}000000`;
  const audit = (n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    timeUnixNano: now, eventName: 'audit', traceId: n.toString(16).padStart(32, 'd'), spanId: n.toString(16).padStart(16, 'e'),
    attributes: [attr('audit.action', 'report.read'), attr('audit.resource.type', 'report'), attr('audit.resource.id', String(n)), attr('audit.module', 'reports')],
    ...extra,
  });
  const post = async (body: string): Promise<number> =>
    (await fetch(`${t.httpEndpoint}/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;

  beforeAll(async () => {
    t = await startTestSink('postgres');
    // Written, redelivered (a duplicate), not an audit record (ignored) and invalid (rejected): every labelled series exists.
    const body = logs([audit(1), audit(2), { timeUnixNano: now, body: { stringValue: 'an application log line' } }, audit(3, { traceId: '' })]);
    expect(await post(body)).toBe(200);
    expect(await post(body)).toBe(200);
    series = exposedSeries(await (await fetch(t.metricsUrl)).text());
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('the sink counted what the queries show', async () => {
    expect(await t.metric('otel_audit_sink_records_written_total')).toBe(2);
    expect(await t.metric('otel_audit_sink_records_duplicate_total')).toBe(2);
    expect(await t.metric('otel_audit_sink_records_rejected_total')).toBe(2);
    expect(await t.metric('otel_audit_sink_non_audit_ignored_total')).toBe(2);
  });

  it('every metric a Prometheus query or variable reads is exposed, with the labels it groups by', () => {
    const checked: string[] = [];
    const check = (where: string, names: PromqlNames): void => {
      expect(names.metrics.length, `${where}: names no metric`).toBeGreaterThan(0);
      const labels = new Set<string>();
      for (const m of names.metrics) {
        expect(series.has(m), `${where}: ${m} is not exposed by the sink`).toBe(true);
        for (const l of series.get(m) ?? []) labels.add(l);
        checked.push(m);
      }
      // instance and job are added by Prometheus when it scrapes.
      for (const l of names.labels) if (l !== 'instance' && l !== 'job') expect(labels.has(l), `${where}: label ${l}`).toBe(true);
    };
    for (const [file, d] of dashboards) {
      for (const p of allPanels(d)) {
        for (const t of p.targets ?? []) if (targetDatasource(p, t)?.uid === PROMETHEUS_UID) check(`${file}: ${p.title} ${t.refId}`, promqlNames(t.expr as string));
      }
      for (const v of d.templating.list) if (v.datasource?.uid === PROMETHEUS_UID) check(`${file}: $${v.name}`, variableQueryNames(variableQuery(v) as string));
    }
    expect(new Set(checked)).toEqual(
      new Set([
        'otel_audit_sink_records_received_total', 'otel_audit_sink_records_written_total', 'otel_audit_sink_records_duplicate_total',
        'otel_audit_sink_records_rejected_total', 'otel_audit_sink_non_audit_ignored_total', 'otel_audit_sink_batch_seconds_bucket',
        'otel_audit_sink_batch_seconds_sum', 'otel_audit_sink_batch_seconds_count', 'otel_audit_sink_batch_rows_bucket',
        'otel_audit_sink_batch_rows_sum', 'otel_audit_sink_batch_rows_count', 'otel_audit_sink_queue_depth',
        'otel_audit_sink_open_sequence_gaps', 'otel_audit_sink_missing_records', 'otel_audit_sink_process_nodejs_eventloop_lag_p99_seconds',
        'otel_audit_sink_process_process_resident_memory_bytes', 'otel_audit_sink_conflicts_total',
      ]),
    );
  });

  it("the sink's own rows show in the overview and modules dashboards", async () => {
    const reader = await connectReader(t.url as string);
    try {
      const range = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
      const [, overview] = dashboards[0] as [string, Dashboard];
      const recent = await reader.read(expandSql(overview, panelSql(overview, 'Recent records').rawSql as string, { range }));
      expect(recent.rows.map((r) => [r['service'], r['module'], r['action'], r['resource'], r['trace_id']])).toEqual([
        ['dashboards-test', 'reports', 'report.read', 'report/2', '2'.padStart(32, 'd')],
        ['dashboards-test', 'reports', 'report.read', 'report/1', '1'.padStart(32, 'd')],
      ]);
      const [, modules] = dashboards[1] as [string, Dashboard];
      const fields = await reader.read(expandSql(modules, panelSql(modules, 'Records of $module').rawSql as string, { range, scopedVars: { module: 'reports' } }));
      expect(fields.rows).toHaveLength(2);
    } finally {
      await reader.end();
    }
  });
});
