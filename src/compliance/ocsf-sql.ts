/**
 * The SQL that turns a row of `audit.records` into its OCSF API Activity
 * line (ocsf.ts has the numbers). Postgres builds each line, as it does for
 * the other formats: json_build_object keeps the attributes in this order,
 * and json_strip_nulls drops every attribute the record has no value for, so
 * optional attributes are left out rather than written as null. An object
 * whose attributes are all unknown is left out as a whole.
 */
import { VERSION } from '../contract/version.js';
import {
  ACTIVITY_BY_METHOD, ACTIVITY_BY_VERB, ANONYMOUS_USER_NAME, OCSF_ACTIVITIES, OCSF_CATEGORY, OCSF_CLASS, OCSF_HTTP_METHODS, OCSF_PRODUCT_NAME,
  OCSF_SEVERITY, OCSF_VENDOR_NAME, OCSF_VERSION, STATUSES, UNKNOWN_ENDPOINT_NAME, USER_TYPES,
} from './ocsf.js';

/** A SQL string literal. */
const lit = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** `CASE expr WHEN key THEN value … ELSE otherwise END` over a table of constants. */
function caseOf(expr: string, table: Readonly<Record<string, string | number | null>>, otherwise: string): string {
  const whens = Object.entries(table).map(([key, value]) => `WHEN ${lit(key)} THEN ${sqlValue(value)}`);
  return `CASE ${expr} ${whens.join(' ')} ELSE ${otherwise} END`;
}

function sqlValue(value: string | number | null): string {
  if (value === null) return 'NULL';
  return typeof value === 'number' ? String(value) : lit(value);
}

const mapValues = <T, V extends string | number | null>(table: Readonly<Record<string, T>>, f: (v: T) => V): Record<string, V> =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [k, f(v)]));

/** The verb of `r.action`: its last dotted segment. */
const VERB_SQL = "regexp_replace(r.action, '^.*\\.', '')";

/**
 * `o.activity_id`, `o.verb`: computed once per row in a LATERAL subquery,
 * then used by activity_id, activity_name, type_uid and type_name.
 */
export const OCSF_LATERAL_SQL = `CROSS JOIN LATERAL (SELECT ${caseOf(
  `lower(${VERB_SQL})`,
  ACTIVITY_BY_VERB,
  caseOf('upper(r.http_method)', ACTIVITY_BY_METHOD, '99'),
)} AS activity_id, ${VERB_SQL} AS verb) o`;

/** Milliseconds since the epoch (OCSF timestamp_t), the microseconds cut off. */
const epochMs = (col: string): string => `floor(extract(epoch FROM ${col}) * 1000)::int8`;

/** `NULL` when every one of `cols` is NULL, else `object`. */
const unlessAllNull = (cols: string[], object: string): string => `CASE WHEN num_nonnulls(${cols.join(', ')}) = 0 THEN NULL ELSE ${object} END`;

const obj = (pairs: [string, string][]): string => `json_build_object(${pairs.map(([k, v]) => `${lit(k)}, ${v}`).join(', ')})`;

/** The OCSF line of row `r` (with `o` from {@link OCSF_LATERAL_SQL}), ending in a line feed. */
export function ocsfLineSql(): string {
  const activityName = caseOf('o.activity_id::text', mapValues(OCSF_ACTIVITIES, (n) => n), 'NULL');
  const typeName = `${lit(`${OCSF_CLASS.name}: `)} || CASE WHEN o.activity_id = 99 THEN ${lit(OCSF_ACTIVITIES[99])} ELSE ${activityName} END`;
  const userTypes = (f: (t: { id: number; name: string }) => string | number): string => caseOf('r.actor_type', mapValues(USER_TYPES, f), 'NULL');
  const statuses = (f: (s: { id: number; name: string; detail: string | null }) => string | number | null): string =>
    caseOf('r.outcome', mapValues(STATUSES, f), 'NULL');
  const path = "split_part(r.url_path, '?', 1)";
  const query = "nullif(substring(r.url_path FROM position('?' IN r.url_path) + 1), r.url_path)";
  const method = `CASE WHEN upper(r.http_method) IN (${OCSF_HTTP_METHODS.map(lit).join(', ')}) THEN upper(r.http_method) END`;

  const event = obj([
    ['metadata', obj([
      ['uid', 'r.id::text'],
      ['correlation_uid', 'r.trace_id'],
      ['version', lit(OCSF_VERSION)],
      ['product', obj([['name', lit(OCSF_PRODUCT_NAME)], ['vendor_name', lit(OCSF_VENDOR_NAME)], ['version', lit(VERSION)]])],
      ['tenant_uid', 'r.tenant_id'],
      ['logged_time', epochMs('r.received_at')],
    ])],
    ['time', epochMs('r.occurred_at')],
    ['category_uid', String(OCSF_CATEGORY.uid)],
    ['category_name', lit(OCSF_CATEGORY.name)],
    ['class_uid', String(OCSF_CLASS.uid)],
    ['class_name', lit(OCSF_CLASS.name)],
    ['activity_id', 'o.activity_id'],
    ['activity_name', `CASE WHEN o.activity_id = 99 THEN o.verb ELSE ${activityName} END`],
    ['type_uid', `${OCSF_CLASS.uid * 100} + o.activity_id`],
    ['type_name', typeName],
    ['severity_id', String(OCSF_SEVERITY.id)],
    ['severity', lit(OCSF_SEVERITY.name)],
    ['status_id', statuses((s) => s.id)],
    ['status', statuses((s) => s.name)],
    ['status_code', 'r.status_code::text'],
    ['status_detail', statuses((s) => s.detail)],
    ['actor', obj([
      ['user', obj([
        ['uid', 'r.actor_id'],
        ['name', `CASE WHEN r.actor_id IS NULL AND r.actor_name IS NULL THEN ${lit(ANONYMOUS_USER_NAME)} ELSE r.actor_name END`],
        ['type_id', userTypes((t) => t.id)],
        ['type', userTypes((t) => t.name)],
      ])],
    ])],
    ['api', obj([['operation', 'r.action'], ['service', unlessAllNull(['r.service_name'], obj([['name', 'r.service_name']]))]])],
    ['src_endpoint', `CASE WHEN r.client_ip IS NULL THEN ${obj([['name', lit(UNKNOWN_ENDPOINT_NAME)]])} ELSE ${obj([['ip', 'host(r.client_ip)']])} END`],
    ['http_request', unlessAllNull([method, 'r.url_path', 'r.user_agent'], obj([
      ['http_method', method],
      ['url', unlessAllNull(['r.url_path'], obj([['path', path], ['query_string', query]]))],
      ['user_agent', 'r.user_agent'],
    ]))],
    ['http_response', unlessAllNull(['r.status_code'], obj([['code', 'r.status_code']]))],
    ['resources', unlessAllNull(['r.resource_id'], `json_build_array(${obj([['type', 'r.resource_type'], ['uid', 'r.resource_id']])})`)],
  ]);
  return `json_strip_nulls(${event})::text || E'\\n'`;
}
