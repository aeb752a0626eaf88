/**
 * startRelay(), the relay in the application's own process: the grace
 * period, one line per outage, a clean stop. Real Postgres, a real sink
 * (in this process) as the receiver.
 */
import { createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayCommand } from '../../src/cli/relay.js';
import { audit, startRelay, type RelayHandle } from '../../src/index.js';
import { runCommand } from '../helpers/cli-run.js';
import { createOutboxDatabase, outboxCount } from '../helpers/outbox.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';

let biz: { url: string; drop(): Promise<void> };
let sink: TestSink;
let client: pg.Client;
const relays: RelayHandle[] = [];

beforeAll(async () => {
  biz = await createOutboxDatabase();
  sink = await startTestSink('postgres', { outboxWindowMs: 500 });
  client = new pg.Client({ connectionString: biz.url });
  await client.connect();
});

afterAll(async () => {
  for (const r of relays) await r.stop();
  await client?.end();
  await sink?.stop();
  await biz?.drop();
});

async function change(id: string): Promise<void> {
  await client.query('BEGIN');
  await audit.inTransaction(client, { action: 'note.update', resource: { type: 'note', id }, after: { id } });
  await client.query('COMMIT');
}

describe('startRelay', () => {
  it('leaves rows younger than the grace period, then sends them; stop() finishes cleanly and is idempotent', async () => {
    const relay = await startRelay({ databaseUrl: biz.url, endpoint: sink.grpcEndpoint, graceMs: 2_500, pollIntervalMs: 100 });
    relays.push(relay);
    await change('n-1');
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await outboxCount(biz.url)).toBe(1);
    expect(relay.stats.sent).toBe(0);
    await waitFor(async () => ((await outboxCount(biz.url)) === 0 ? true : undefined), 15_000, () => JSON.stringify(relay.stats));
    expect(relay.stats).toMatchObject({ sent: 1, batches: 1, failedAttempts: 0 });
    const rows = await waitFor(async () => {
      const r = await sink.rows("resource_id = 'n-1'");
      return r.length > 0 ? r : undefined;
    }, 10_000, () => 'no row for n-1');
    expect((rows[0]?.['attributes'] as Record<string, unknown>)['audit.origin']).toBe('outbox');
    await relay.stop();
    await relay.stop();
  });

  it('an endpoint that is down: one line however many attempts, and the rows stay in the outbox', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const relay = await startRelay({ databaseUrl: biz.url, endpoint: `http://127.0.0.1:${port}`, graceMs: 0, pollIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 200, exportTimeoutMs: 1_000, log: (l) => lines.push(l) });
    relays.push(relay);
    await change('n-2');
    await waitFor(async () => (relay.stats.failedAttempts >= 4 ? true : undefined), 30_000, () => lines.join('\n'));
    expect(await outboxCount(biz.url)).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^otel-audit relay: cannot deliver outbox records to http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); they stay in the outbox`));
    await relay.stop();
  });

  it('an endpoint that never answers: one line while another worker finds nothing to take (its rows are locked)', async () => {
    const sockets = new Set<Socket>();
    const stalled = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const port = (stalled.address() as { port: number }).port;
    const lines: string[] = [];
    const relay = await startRelay({ databaseUrl: biz.url, endpoint: `http://127.0.0.1:${port}`, graceMs: 0, concurrency: 2, pollIntervalMs: 20, retryInitialMs: 20, retryMaxMs: 50, exportTimeoutMs: 300, log: (l) => lines.push(l) });
    relays.push(relay);
    try {
      await change('n-3');
      await waitFor(async () => (relay.stats.failedAttempts >= 3 ? true : undefined), 30_000, () => lines.join('\n'));
      expect(lines, lines.join('\n')).toHaveLength(1);
      expect(lines[0]).toMatch(/^otel-audit relay: cannot deliver outbox records to /);
      await relay.stop();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => stalled.close(() => resolve()));
    }
  });

  it('rejects without a business database, and the command says how to name one', async () => {
    await expect(startRelay({ env: {} })).rejects.toThrow(/no business database/);
    const saved = process.env['DATABASE_URL'];
    delete process.env['DATABASE_URL'];
    try {
      const r = await runCommand(relayCommand, ['--grace', 'soon']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--grace needs a duration such as 2s or 500ms/);
      const zero = await runCommand(relayCommand, ['--batch-size', '0', '--database-url', 'postgres://127.0.0.1:1/x']);
      expect(zero.code).toBe(2);
      expect(zero.err).toMatch(/batchSize must be a number >= 1/);
    } finally {
      if (saved !== undefined) process.env['DATABASE_URL'] = saved;
    }
  });
});
