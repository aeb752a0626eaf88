/**
 * Grafana's front-end template interpolation as it applies to SQL data
 * sources (the step before the query reaches the data source's back end):
 *
 * - `$var`, `${var}`, `${var:format}` and `[[var]]` are replaced; names that
 *   are not variables (`$__timeFilter`, ...) are left for the back end.
 * - Values are formatted by the SQL data source's `interpolateVariable`: a
 *   multi-value or include-All variable becomes a comma-separated list of
 *   quoted literals (`'a','b'`, quotes doubled inside); a plain single-value
 *   variable (textbox, custom without multi) is inserted with its single
 *   quotes doubled and no quotes around it.
 * - "All" selected: a custom all value (`allValue`) is inserted as it is
 *   (not formatted, itself interpolated once more); without one, every
 *   option's value is inserted, formatted as a multi-value.
 * - Scoped variables (a repeated row's or panel's value) win over the
 *   dashboard's current value and are formatted the same way.
 * - Built-ins such as `$__interval` come from the query request.
 *
 * Sources: Grafana's TemplateSrv (`replace`, custom all values) and
 * SqlDatasource.interpolateVariable (PostgreSQL data source).
 */
import type { Variable } from './dashboard-model.js';

export const ALL = '$__all';

/** Grafana's variable reference pattern (TemplateSrv `variableRegex`). */
const VARIABLE_REGEX = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

export type VariableValue = string | string[];

export interface TemplateContext {
  variables: Variable[];
  /** Current values by variable name; a variable not named here keeps the `current` of the dashboard. `ALL` selects All. */
  selection?: Record<string, VariableValue>;
  /** Values of a repeated row or panel, by variable name. */
  scopedVars?: Record<string, string>;
  /** The values a query variable offers (for All without a custom all value). */
  options?: Record<string, string[]>;
  /** Built-in variables of the request: `__interval`, `__interval_ms`, `__range`, ... */
  builtins?: Record<string, string>;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** SqlDatasource.interpolateVariable, or an explicit `${var:format}`. */
function format(value: VariableValue, v: Variable | undefined, fmt: string | undefined): string {
  const list = Array.isArray(value) ? value : [value];
  switch (fmt) {
    case undefined:
      if (!Array.isArray(value)) return v?.multi || v?.includeAll ? quoteLiteral(value) : value.replace(/'/g, "''");
      return value.map(quoteLiteral).join(',');
    case 'raw':
    case 'csv':
      return list.join(',');
    case 'sqlstring':
      return list.map(quoteLiteral).join(',');
    case 'singlequote':
      return list.map((s) => `'${s.replace(/'/g, "\\'")}'`).join(',');
    case 'doublequote':
      return list.map((s) => `"${s.replace(/"/g, '\\"')}"`).join(',');
    default:
      throw new Error(`variable format ${fmt} is not supported by this test tool`);
  }
}

function isAll(value: VariableValue): boolean {
  return value === ALL || (Array.isArray(value) && value[0] === ALL);
}

function currentValue(v: Variable, ctx: TemplateContext): VariableValue {
  const selected = ctx.selection?.[v.name];
  if (selected !== undefined) return selected;
  const current = v.current?.value;
  if (current === undefined) throw new Error(`variable ${v.name} has no current value`);
  return current;
}

function allValues(v: Variable, ctx: TemplateContext): string[] {
  const given = ctx.options?.[v.name];
  if (given) return given;
  const fromModel = (v.options ?? []).map((o) => o.value).filter((x): x is string => typeof x === 'string' && x !== ALL);
  if (fromModel.length === 0) throw new Error(`variable ${v.name}: All needs its options (pass them in options)`);
  return fromModel;
}

/** Replace the template variables of `text` as Grafana's front end does for a SQL data source. */
export function interpolateVariables(text: string, ctx: TemplateContext): string {
  return text.replace(VARIABLE_REGEX, (match: string, var1?: string, var2?: string, fmt2?: string, var3?: string, fieldPath?: string, fmt3?: string) => {
    const name = (var1 ?? var2 ?? var3) as string;
    const fmt = fmt2 ?? fmt3;
    if (fieldPath !== undefined) throw new Error(`\${${name}.${fieldPath}}: field paths are not supported by this test tool`);
    const builtin = ctx.builtins?.[name];
    if (builtin !== undefined) return builtin;
    const v = ctx.variables.find((x) => x.name === name);
    const scoped = ctx.scopedVars?.[name];
    if (scoped !== undefined) return format(scoped, v, fmt);
    if (!v) return match;
    let value = currentValue(v, ctx);
    if (isAll(value)) {
      if (v.allValue && fmt !== 'text' && fmt !== 'percentencode') return interpolateVariables(v.allValue, ctx);
      value = allValues(v, ctx);
    }
    return format(value, v, fmt);
  });
}
