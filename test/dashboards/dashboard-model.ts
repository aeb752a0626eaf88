/**
 * The parts of a Grafana dashboard JSON model that the dashboard tests read:
 * panels (rows included), their queries, and template variables.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARDS_DIR = new URL('../../dashboards/', import.meta.url).pathname;
export const PROVISIONING_DIR = join(DASHBOARDS_DIR, 'provisioning');

export const POSTGRES_UID = 'otel-audit-postgres';
export const PROMETHEUS_UID = 'otel-audit-prometheus';
export const POSTGRES_TYPE = 'grafana-postgresql-datasource';
export const PROMETHEUS_TYPE = 'prometheus';

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId: string;
  datasource?: DataSourceRef;
  /** SQL datasources. */
  rawSql?: string;
  format?: string;
  /** Prometheus. */
  expr?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DataSourceRef;
  targets?: Target[];
  /** Children of a collapsed row. */
  panels?: Panel[];
  repeat?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: Record<string, unknown>; overrides?: { matcher: { id: string; options: unknown }; properties: { id: string; value: unknown }[] }[] };
  transformations?: { id: string; options: Record<string, unknown> }[];
}

export interface VariableOption {
  text: string | string[];
  value: string | string[];
  selected?: boolean;
}

export interface Variable {
  type: string;
  name: string;
  label?: string;
  /** A string, or a datasource query object (Prometheus: `{ query }`). */
  query?: unknown;
  definition?: string;
  datasource?: DataSourceRef;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string | null;
  current?: VariableOption;
  options?: VariableOption[];
  hide?: number;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

export const DASHBOARD_FILES = ['audit-overview.json', 'audit-modules.json', 'audit-pipeline.json'] as const;
export type DashboardFile = (typeof DASHBOARD_FILES)[number];

/** Every *.json directly under dashboards/. */
export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function loadDashboard(file: string): Dashboard {
  const value: unknown = JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${file}: not a JSON object`);
  const d = value as Partial<Dashboard>;
  if (typeof d.uid !== 'string' || typeof d.title !== 'string' || !Array.isArray(d.panels) || !Array.isArray(d.templating?.list)) {
    throw new Error(`${file}: not a Grafana dashboard (uid, title, panels, templating.list)`);
  }
  return d as Dashboard;
}

/** Every panel, children of collapsed rows included, in file order. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function panel(d: Dashboard, title: string): Panel {
  const found = allPanels(d).filter((p) => p.title === title);
  if (found.length !== 1) throw new Error(`${d.uid}: ${found.length} panels titled ${JSON.stringify(title)}`);
  return found[0] as Panel;
}

/** The SQL of a panel's one Postgres query. */
export function panelSql(d: Dashboard, title: string): Target {
  const targets = (panel(d, title).targets ?? []).filter((t) => t.rawSql !== undefined);
  if (targets.length !== 1) throw new Error(`${d.uid} / ${title}: ${targets.length} SQL queries`);
  return targets[0] as Target;
}

/** The panel-level datasource, else the target's. */
export function targetDatasource(p: Panel, t: Target): DataSourceRef | undefined {
  return t.datasource ?? p.datasource;
}

/** The row (a `row` panel) each panel sits under, for repeated rows. */
export function rowOf(d: Dashboard, p: Panel): Panel | undefined {
  let row: Panel | undefined;
  for (const q of d.panels) {
    if (q.type === 'row') row = q;
    if (q === p) return row;
    if (q.panels?.includes(p)) return q;
  }
  return undefined;
}

export function variable(d: Dashboard, name: string): Variable {
  const v = d.templating.list.find((x) => x.name === name);
  if (!v) throw new Error(`${d.uid}: no variable ${name}`);
  return v;
}

/** The query text of a variable (a string, or the `query` of a query object). */
export function variableQuery(v: Variable): string | undefined {
  if (typeof v.query === 'string') return v.query;
  if (v.query !== null && typeof v.query === 'object') {
    const q = (v.query as Record<string, unknown>)['query'] ?? (v.query as Record<string, unknown>)['rawSql'];
    return typeof q === 'string' ? q : undefined;
  }
  return undefined;
}
