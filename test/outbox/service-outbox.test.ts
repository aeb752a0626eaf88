/**
 * A real service (express + pg under `--import otel-audit/register`) that
 * records its changes with audit.inTransaction(), a real `otel-audit relay`
 * and a real `otel-audit sink`: the audit row exists if and only if the
 * change committed, and one operation is one row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, startApp, tempDir, type AppProcess } from '../helpers/app-process.js';
import { createOutboxDatabase, outboxCount, queryOnce, startOutboxSink, startRelayProcess, type SinkUnderTest } from '../helpers/outbox.js';
import { waitFor, type Service } from '../helpers/processes.js';

/**
 * The relay leaves rows for half a second (its grace period, 2 s by
 * default), so that the request's own record usually reaches the sink
 * first; the sink waits 5 s for a partner (30 s by default): on a loaded
 * machine a request's record can trail its outbox row by more than a
 * second, and each would then be written alone.
 */
const RELAY_GRACE = '500ms';
const MERGE_WINDOW = '5s';
const WINDOW_MS = 5_000;

let biz: { url: string; drop(): Promise<void> };
let sink: SinkUnderTest;
let relay: Service | undefined;
const spool = tempDir('outbox-spool');
const apps: AppProcess[] = [];

async function startService(): Promise<AppProcess> {
  const app = await startApp('outbox-app.mjs', { env: { ...baseEnv(sink.endpoint, spool.path), DATABASE_URL: biz.url } });
  apps.push(app);
  return app;
}

function put(app: AppProcess, id: string, query: string, body: unknown, user: string): Promise<Response> {
  return fetch(`${app.url}/accounts/${id}${query}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-test-user': user },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  biz = await createOutboxDatabase();
  sink = await startOutboxSink('sink', MERGE_WINDOW);
});

afterAll(async () => {
  for (const app of apps) await app.stop('SIGKILL').catch(() => undefined);
  await relay?.stop();
  await sink?.stop();
  await biz?.drop();
  spool.remove();
});

describe('transactional outbox, service to sink', () => {
  it('a service killed with kill -9 right after COMMIT: the relay delivers the record, with its change, actor and trace', async () => {
    const app = await startService();
    void put(app, 'a-1', '?crash=after-commit', { name: 'first', secret: 's3cr3t' }, 'u-7').catch(() => undefined);
    await waitFor(async () => (app.output().includes('COMMITTED a-1') ? true : undefined), 15_000, () => app.output());
    app.child.kill('SIGKILL');
    expect(await app.exited).toBe('SIGKILL');
    // The change committed, the process never got to export: the outbox row is all there is.
    expect(await outboxCount(biz.url)).toBe(1);
    expect(await sink.rows()).toEqual([]);
    const [row] = await queryOnce(biz.url, 'SELECT trace_id, span_id FROM audit_outbox.records');

    relay = await startRelayProcess('relay', biz.url, sink.endpoint, [], { OTEL_AUDIT_RELAY_GRACE: RELAY_GRACE });
    const rows = await waitFor(async () => {
      const r = await sink.rows("resource_id = 'a-1'");
      return r.length > 0 ? r : undefined;
    }, 30_000, () => `no row for a-1\n${relay?.output() ?? ''}`);
    expect(rows).toHaveLength(1);
    const rec = rows[0] as Record<string, unknown>;
    expect(rec).toMatchObject({
      action: 'account.update',
      resource_type: 'account',
      resource_id: 'a-1',
      actor_id: 'u-7',
      outcome: 'success',
      trace_id: row?.['trace_id'],
      span_id: row?.['span_id'],
      service_name: 'fixture-service',
      http_method: 'PUT',
      http_route: '/accounts/:id',
      change_before: null,
      change_after: { id: 'a-1', name: 'first', secret: '[REDACTED]' },
    });
    expect((rec['attributes'] as Record<string, unknown>)['audit.origin']).toBe('outbox');
    await waitFor(async () => ((await outboxCount(biz.url)) === 0 ? true : undefined), 10_000, () => 'outbox not emptied');
  });

  it('a rollback that still answers 200: no record carries the change', async () => {
    const app = await startService();
    const res = await put(app, 'b-1', '?rollback=1', { name: 'never' }, 'u-8');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ rolledBack: true });
    const rows = await waitFor(async () => {
      const r = await sink.rows("resource_id = 'b-1'");
      return r.length > 0 ? r : undefined;
    }, 30_000, () => `no request record for b-1\n${app.output()}`);
    // Past the merge window without a partner: the request's record was written alone, and stays one row.
    await new Promise((r) => setTimeout(r, 2_500));
    const settled = await sink.rows("resource_id = 'b-1'");
    expect(settled).toHaveLength(1);
    expect(rows[0]?.['id']).toBe(settled[0]?.['id']);
    const rec = settled[0] as Record<string, unknown>;
    expect(rec['change_before']).toBeNull();
    expect(rec['change_after']).toBeNull();
    expect(rec['actor_id']).toBe('u-8');
    expect((rec['attributes'] as Record<string, unknown>)['audit.origin']).toBe('request');
    expect(await outboxCount(biz.url)).toBe(0);
    expect(await queryOnce(biz.url, "SELECT * FROM accounts WHERE id = 'b-1'")).toEqual([]);
  });

  it('a committed change: one row, the request record completed by the outbox values', async () => {
    const app = apps.at(-1) as AppProcess;
    const res = await put(app, 'c-1', '', { name: 'third' }, 'u-9');
    expect(res.status).toBe(200);
    const rows = await waitFor(async () => {
      const r = await sink.rows("resource_id = 'c-1' AND change_after IS NOT NULL");
      return r.length > 0 ? r : undefined;
    }, 30_000, () => `no row with the change for c-1\n${relay?.output() ?? ''}`);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 1_000));
    const all = await sink.rows("resource_id = 'c-1'");
    expect(all).toHaveLength(1);
    expect(all[0]?.['id']).toBe(rows[0]?.['id']);
    expect(all[0]).toMatchObject({
      action: 'account.update',
      actor_id: 'u-9',
      status_code: 200,
      http_method: 'PUT',
      change_before: null,
      change_after: { id: 'c-1', name: 'third', secret: '[REDACTED]' },
    });
    expect(all[0]?.['emitter_id']).toMatch(/^[0-9a-f]{16}$/);
    expect((all[0]?.['attributes'] as Record<string, unknown>)['audit.origin']).toBe('request+outbox');
  });

  it('under load: N committed changes across concurrent requests are exactly N rows, each with its change', async () => {
    const app = apps.at(-1) as AppProcess;
    const N = 2_000;
    const CONCURRENT = 20;
    let next = 0;
    const failures: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENT }, async () => {
        while (next < N) {
          const i = next++;
          const res = await put(app, `load-${i}`, '', { name: `n-${i}` }, `u-${i % 7}`);
          await res.arrayBuffer();
          if (res.status !== 200) failures.push(res.status);
        }
      }),
    );
    expect(failures).toEqual([]);
    const count = async (): Promise<number> => {
      const [r] = await queryOnce<{ n: number }>(sink.url, "SELECT count(*)::int AS n FROM audit.records WHERE resource_id LIKE 'load-%'");
      return r?.n ?? 0;
    };
    await waitFor(async () => ((await count()) >= N ? true : undefined), 120_000, async () => `${await count()} of ${N} rows\n${relay?.output() ?? ''}`);
    // Past the merge window: nothing more arrives, nothing is doubled.
    await new Promise((r) => setTimeout(r, WINDOW_MS + 1_000));
    const [stats] = await queryOnce<Record<string, number>>(
      sink.url,
      `SELECT count(*)::int AS n, count(DISTINCT resource_id)::int AS resources,
              count(*) FILTER (WHERE change_after->>'name' = 'n-' || substr(resource_id, 6))::int AS with_own_change,
              count(*) FILTER (WHERE attributes->>'audit.origin' = 'request+outbox')::int AS merged,
              count(*) FILTER (WHERE status_code = 200 AND emitter_id IS NOT NULL)::int AS from_request
         FROM audit.records WHERE resource_id LIKE 'load-%'`,
    );
    expect(stats).toEqual({ n: N, resources: N, with_own_change: N, merged: N, from_request: N });
    expect(await outboxCount(biz.url)).toBe(0);
  }, 300_000);
});
