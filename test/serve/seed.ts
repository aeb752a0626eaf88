/**
 * Records for the viewer's tests: two tenants, several actors, actions,
 * modules, services, resources and outcomes, and pairs of records sharing
 * one occurred_at (the cursor must break those ties).
 */
import type { Database } from '../../src/db/database.js';

export const SEED_ROWS = 120;
/** occurred_at of record g is BASE minus (g div 2) minutes. */
export const SEED_BASE = '2026-11-20T12:00:00Z';

export async function seedViewerRecords(db: Database, rows = SEED_ROWS, base = SEED_BASE): Promise<void> {
  await db.query(
    `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type, tenant_id,
        action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, request, change_before, change_after)
     SELECT md5('trace' || g), substr(md5('span' || g), 1, 16), $2::timestamptz - (g / 2) * interval '1 minute',
        (ARRAY['api', 'worker', 'api'])[g % 3 + 1], (ARRAY['core', 'billing', 'auth', 'core'])[g % 4 + 1],
        'u-' || (g % 5), 'User ' || (ARRAY['Ann', 'Bob', 'Cleo', 'Dan', 'Eve'])[g % 5 + 1], 'user',
        CASE WHEN g % 2 = 0 THEN 't-a' ELSE 't-b' END,
        (ARRAY['invoice.update', 'invoice.read', 'user.delete'])[g % 3 + 1], 'invoice', 'inv-' || (g % 10),
        CASE WHEN g % 5 = 0 THEN 'denied' WHEN g % 7 = 0 THEN 'failure' ELSE 'success' END, 200, 'PUT', '/invoices/:id',
        '/invoices/inv-' || (g % 10) || '/v' || g,
        jsonb_build_object('body', jsonb_build_object('amount', g)),
        jsonb_build_object('amount', g, 'owner', 'ann', 'tags', jsonb_build_array('a', 'b')),
        jsonb_build_object('amount', g + 1, 'owner', 'ann', 'tags', jsonb_build_array('a'), 'note', 'raised')
       FROM generate_series(1, $1::int) AS g`,
    [rows, base],
  );
}

/**
 * `rows` plain records of one tenant and actor (`u-bulk`, module core), one
 * a minute back from `base`: a list longer than the viewer's table keeps.
 */
export async function seedBulkRecords(db: Database, rows: number, tenant: string, base: string): Promise<void> {
  await db.query(
    `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type, tenant_id,
        action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path)
     SELECT md5('bulk' || g), substr(md5('bulk-span' || g), 1, 16), $2::timestamptz - g * interval '1 minute', 'api', 'core',
        'u-bulk', 'Bulk', 'user', $3, 'invoice.read', 'invoice', 'inv-b' || g, 'success', 200, 'GET', '/invoices/:id', '/invoices/inv-b' || g
       FROM generate_series(1, $1::int) AS g`,
    [rows, base, tenant],
  );
}
