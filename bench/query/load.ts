/**
 * The records of the query benchmark: `rows` records spread evenly over the
 * last `days` days (the newest one now), in the partitioned table, with
 * 10,000 actors, 40 actions, 500,000 resources, 20 tenants, 8 modules and 5
 * services, so that each common filter matches what it would in a busy
 * deployment (an actor has ~11 records a day at 10 M rows over 90 days).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
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

/** The secondary indexes of audit.records as the migrations made them: name and definition. */
async function secondaryIndexes(c: pg.Client): Promise<{ name: string; def: string }[]> {
  const { rows } = await c.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i WHERE i.indrelid = 'audit.records'::regclass AND NOT i.indisprimary ORDER BY 1`,
  );
  return rows;
}

/**
 * Load the records; the monthly partitions of the whole range are made
 * first. The secondary indexes are dropped for the load and built again
 * after it from their own definitions (pg_get_indexdef), the way a bulk
 * load is done: inserting 10 M rows into ten indexes, two of them keyed by
 * random hashes, runs at a few thousand rows/s once the indexes outgrow
 * shared_buffers; building each index from a sort is minutes. The primary
 * key stays (ids ascend, so it stays cheap). Returns the load's start time.
 */
export async function loadRecords(c: pg.Client, rows: number, days: number, progress: (done: number) => void, phase: (name: string, ms: number) => void): Promise<Date> {
  const { rows: now } = await c.query<{ start: Date }>(`SELECT now() - $1::int * interval '1 day' AS start`, [days]);
  const start = now[0]?.start as Date;
  await c.query('SELECT audit.ensure_partitions(($1::timestamptz AT TIME ZONE \'UTC\')::date, $2::int)', [start, Math.ceil(days / 28) + 2]);
  const indexes = await secondaryIndexes(c);
  for (const index of indexes) await c.query(`DROP INDEX ${index.name}`);
  await c.query('SET synchronous_commit = off');
  let t0 = performance.now();
  for (let first = 1; first <= rows; first += CHUNK_ROWS) {
    const last = Math.min(rows, first + CHUNK_ROWS - 1);
    await c.query(INSERT, [first, last, start, rows, days]);
    progress(last);
  }
  phase('insert', performance.now() - t0);
  t0 = performance.now();
  await c.query("SET maintenance_work_mem = '512MB'");
  // The parent's definition reads "ON ONLY audit.records"; without ONLY it builds every partition's index too.
  for (const index of indexes) await c.query(index.def.replace(' ON ONLY ', ' ON '));
  await c.query('RESET maintenance_work_mem');
  await c.query('RESET synchronous_commit');
  phase(`${indexes.length} indexes`, performance.now() - t0);
  t0 = performance.now();
  await c.query('VACUUM ANALYZE audit.records');
  phase('VACUUM ANALYZE', performance.now() - t0);
  return start;
}
