/**
 * The records of the query benchmark: `rows` records spread evenly over the
 * last `days` days (the newest one now), in the partitioned table, with
 * 10,000 actors, 40 actions, 500,000 resources, 20 tenants, 8 modules and 5
 * services, so that each common filter matches what it would in a busy
 * deployment (an actor has ~11 records a day at 10 M rows over 90 days).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export const ACTORS = 10_000;
export const ACTIONS = 40;
export const RESOURCES = 500_000;
export const TENANTS = 20;
export const MODULES = ['core', 'billing', 'auth', 'jenkins', 'user_auth', 'reports', 'storage', 'search'] as const;
export const SERVICES = 5;
const VERBS = ['create', 'read', 'update', 'delete'] as const;

/** Records per INSERT: progress shows, and no statement holds millions of rows. */
const CHUNK_ROWS = 250_000;

/** The actor, action and resource of record g: the load's formulas, for picking filters that match. */
export function recordOf(g: number): { actor: string; action: string; resource: string; trace: string } {
  return {
    actor: `u-${(g * 7919) % ACTORS}`,
    action: `res${(g * 17) % 10}.${VERBS[g % 4]}`,
    resource: `inv-${(g * 31) % RESOURCES}`,
    trace: createHash('md5').update(`t${g}`).digest('hex'),
  };
}

const INSERT = `
INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type, tenant_id,
  action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip, user_agent,
  duration_ms, level, request, change_before, change_after, emitter_id, emitter_seq)
SELECT md5('t' || g), substr(md5('s' || g), 1, 16), $3::timestamptz + (g::float8 / $4::float8) * ($5::int * interval '1 day'),
  'svc-' || (g % ${SERVICES}), (ARRAY[${MODULES.map((m) => `'${m}'`).join(', ')}])[g % ${MODULES.length} + 1],
  'u-' || ((g * 7919) % ${ACTORS}), 'User ' || ((g * 7919) % ${ACTORS}), 'user', 't-' || ((g * 13) % ${TENANTS}),
  'res' || ((g * 17) % 10) || '.' || (ARRAY[${VERBS.map((v) => `'${v}'`).join(', ')}])[g % 4 + 1],
  'invoice', 'inv-' || ((g * 31) % ${RESOURCES}),
  CASE WHEN g % 23 = 0 THEN 'denied' WHEN g % 41 = 0 THEN 'failure' ELSE 'success' END, 200, 'PUT', '/invoices/:id',
  '/invoices/inv-' || ((g * 31) % ${RESOURCES}), '10.0.0.1'::inet, 'bench/1', 12.5, 'full',
  jsonb_build_object('body', jsonb_build_object('amount', g % 1000)), jsonb_build_object('amount', g % 1000),
  jsonb_build_object('amount', g % 1000 + 1), 'emitter-bench', g
FROM generate_series($1::bigint, $2::bigint) AS g`;

/** Load the records; the monthly partitions of the whole range are made first. Returns the load's start time. */
export async function loadRecords(c: pg.Client, rows: number, days: number, progress: (done: number) => void): Promise<Date> {
  const { rows: now } = await c.query<{ start: Date }>(`SELECT now() - $1::int * interval '1 day' AS start`, [days]);
  const start = now[0]?.start as Date;
  await c.query('SELECT audit.ensure_partitions(($1::timestamptz AT TIME ZONE \'UTC\')::date, $2::int)', [start, Math.ceil(days / 28) + 2]);
  for (let first = 1; first <= rows; first += CHUNK_ROWS) {
    const last = Math.min(rows, first + CHUNK_ROWS - 1);
    await c.query(INSERT, [first, last, start, rows, days]);
    progress(last);
  }
  await c.query('VACUUM ANALYZE audit.records');
  return start;
}
