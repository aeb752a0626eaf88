import type { Database } from '../../src/db/database.js';

/** Insert n records with awkward content (quotes, newlines, non-ASCII, nested JSON, nulls). */
export async function seedRecords(db: Database, n: number, offset = 0, occurredAt = "now() - interval '1 hour'"): Promise<void> {
  await db.query(
    `INSERT INTO audit.records (trace_id, span_id, occurred_at, service_name, module, actor_id, actor_name, actor_type, tenant_id,
        action, resource_type, resource_id, outcome, status_code, http_method, http_route, url_path, client_ip, user_agent,
        duration_ms, level, request, change_before, change_after, attributes, emitter_id, emitter_seq)
     SELECT md5('t' || g), substr(md5('s' || g), 1, 16), ${occurredAt} + g * interval '1 millisecond',
        'billing', 'billing', 'u-' || (g % 3), E'Zoë "q", x\\n', 'user', CASE WHEN g % 2 = 0 THEN 't-1' ELSE 't-2' END,
        'invoice.update', 'invoice', 'inv-' || g, CASE WHEN g % 5 = 0 THEN 'denied' ELSE 'success' END, 200, 'PUT',
        '/invoices/:id', '/invoices/' || g, ('10.0.0.' || (g % 250))::inet, 'curl/8', g * 1.25, 'full',
        jsonb_build_object('body', jsonb_build_object('amount', g * 0.1, 'note', 'héllo €', 'none', null)),
        jsonb_build_object('amount', g), CASE WHEN g % 4 = 0 THEN NULL ELSE jsonb_build_object('amount', g + 1, 'tags', jsonb_build_array('a', 1, true)) END,
        jsonb_build_object('audit.meta.reason', 'correction ' || g), 'emitter-1', g
       FROM generate_series($1::int + 1, $1::int + $2::int) AS g`,
    [offset, n],
  );
}

