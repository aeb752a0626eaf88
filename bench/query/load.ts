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

/** Where the definitions of the indexes dropped for the load wait, until they are built again. */
const SET_ASIDE = 'public.bench_query_indexes';

/**
 * The secondary indexes of audit.records as the migrations made them (name
 * and definition), set aside in a table of their own and then dropped when
 * `drop`; an interrupted load finds them there.
 */
async function setIndexesAside(c: pg.Client, drop: boolean): Promise<{ name: string; def: string }[]> {
  await c.query(`CREATE TABLE IF NOT EXISTS ${SET_ASIDE} (name text PRIMARY KEY, def text NOT NULL)`);
  await c.query(
    `INSERT INTO ${SET_ASIDE} (name, def)
     SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
       FROM pg_index i WHERE i.indrelid = 'audit.records'::regclass AND NOT i.indisprimary
     ON CONFLICT (name) DO NOTHING`,
  );
  const { rows } = await c.query<{ name: string; def: string }>(`SELECT name, def FROM ${SET_ASIDE} ORDER BY name`);
  if (drop) for (const index of rows) await c.query(`DROP INDEX IF EXISTS ${index.name}`);
  return rows;
}

/**
 * Load the records; the monthly partitions of the whole range are made
 * first. The secondary indexes are dropped for the load and built again
 * after it from their own definitions (pg_get_indexdef), the way a bulk
 * load is done: inserting 10 M rows into nine indexes, two of them keyed by
 * random hashes, runs at a few thousand rows/s once the indexes outgrow
 * shared_buffers; building each index from a sort is minutes. The primary
 * key stays (ids ascend, so it stays cheap).
 *
 * With `resume`, a load that was interrupted (a restart of the server, say)
 * goes on after the last whole chunk it committed, with the same times.
 */
export async function loadRecords(
  c: pg.Client,
  rows: number,
  days: number,
  progress: (done: number) => void,
  phase: (name: string, ms: number) => void,
  resume = false,
): Promise<void> {
  let start: Date;
  let from = 1;
  const { rows: loaded } = resume
    ? await c.query<{ last: string | null; first: Date | null }>("SELECT max(emitter_seq)::text AS last, min(occurred_at) AS first FROM audit.records WHERE emitter_id = 'emitter-bench'")
    : { rows: [] };
  const done = loaded[0];
  if (done?.first && done.last !== null) {
    // Record g is at start + g/rows of the range: back from record 1.
    start = new Date(done.first.getTime() - (days * 86_400_000) / rows);
    from = Number(done.last) + 1;
  } else {
    const { rows: now } = await c.query<{ start: Date }>(`SELECT now() - $1::int * interval '1 day' AS start`, [days]);
    start = now[0]?.start as Date;
  }
  await c.query('SELECT audit.ensure_partitions(($1::timestamptz AT TIME ZONE \'UTC\')::date, $2::int)', [start, Math.ceil(days / 28) + 2]);
  // Once every row is in, a resumed load keeps the indexes already built again.
  const indexes = await setIndexesAside(c, from <= rows);
  await c.query('SET synchronous_commit = off');
  let t0 = performance.now();
  for (let first = from; first <= rows; first += CHUNK_ROWS) {
    const last = Math.min(rows, first + CHUNK_ROWS - 1);
    await c.query(INSERT, [first, last, start, rows, days]);
    progress(last);
  }
  phase(from > 1 ? `insert of ${rows - from + 1} more` : 'insert', performance.now() - t0);
  t0 = performance.now();
  await c.query("SET maintenance_work_mem = '512MB'");
  // The parent's definition reads "ON ONLY audit.records"; without ONLY it builds every partition's index too.
  // IF NOT EXISTS: a resumed load builds only those an interruption left out (a build that fails leaves none).
  for (const index of indexes) await c.query(index.def.replace(' ON ONLY ', ' ON ').replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
  await c.query(`DROP TABLE ${SET_ASIDE}`);
  await c.query('RESET maintenance_work_mem');
  await c.query('RESET synchronous_commit');
  phase(`${indexes.length} indexes`, performance.now() - t0);
  t0 = performance.now();
  await c.query('VACUUM ANALYZE audit.records');
  phase('VACUUM ANALYZE', performance.now() - t0);
}
