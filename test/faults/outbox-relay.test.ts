/**
 * The relay under faults, real processes throughout: two relays at once,
 * one killed (SIGKILL) while moving batches, the business database (a
 * private Postgres cluster) restarted. Every committed row reaches the sink
 * exactly once, and the outbox ends empty.
 */
import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/index.js';
import { migrateOutboxAt, outboxCount, queryOnce, startOutboxSink, startRelayProcess, type SinkUnderTest } from '../helpers/outbox.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { waitFor, type Service } from '../helpers/processes.js';

let cluster: PrivatePostgres;
let sink: SinkUnderTest;
const relays: Service[] = [];
/** An endpoint that accepts connections and never answers: an export to it hangs with its batch locked. */
let stalled: Server;
const stalledSockets = new Set<Socket>();

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  await migrateOutboxAt(cluster.url);
  sink = await startOutboxSink();
  stalled = createServer((s) => void stalledSockets.add(s));
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  for (const r of relays) await r.stop('SIGKILL');
  await sink?.stop();
  await cluster?.destroy();
  for (const s of stalledSockets) s.destroy();
  await new Promise((resolve) => stalled?.close(resolve));
});

/** `n` committed changes, `perTx` per business transaction, outside any request (rows of the relay alone). */
async function commitChanges(from: number, n: number, perTx = 50): Promise<void> {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  try {
    for (let i = from; i < from + n; i += perTx) {
      await client.query('BEGIN');
      for (let j = i; j < Math.min(from + n, i + perTx); j++) {
        await audit.inTransaction(client, { action: 'item.update', resource: { type: 'item', id: `i-${j}` }, before: { n: j - 1 }, after: { n: j } });
      }
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
}

async function sinkCount(): Promise<number> {
  const [r] = await queryOnce<{ n: number }>(sink.url, "SELECT count(*)::int AS n FROM audit.records WHERE action = 'item.update'");
  return r?.n ?? 0;
}

describe('relays under faults', () => {
  it('relays at once, one killed mid-batch, the business database restarted: no duplicates, nothing lost', async () => {
    const FIRST = 4_000;
    const SECOND = 1_000;
    const THIRD = 1_000;
    await commitChanges(0, FIRST);
    expect(await outboxCount(cluster.url)).toBe(FIRST);

    const args = ['--batch-size', '100', '--concurrency', '2', '--poll-interval', '200ms'];
    // Relay A takes two batches and hangs exporting them (its endpoint never answers); relay B moves the rest.
    const port = (stalled.address() as { port: number }).port;
    const relayA = await startRelayProcess('relay-a', cluster.url, `http://127.0.0.1:${port}`, [...args, '--timeout', '120000']);
    await waitFor(async () => (stalledSockets.size > 0 ? true : undefined), 30_000, () => relayA.output());
    await new Promise((r) => setTimeout(r, 1_000));
    const relayB = await startRelayProcess('relay-b', cluster.url, sink.endpoint, args);
    relays.push(relayA, relayB);
    // SKIP LOCKED: B moves everything but A's locked batches, and waits.
    await waitFor(async () => ((await outboxCount(cluster.url)) === 200 ? true : undefined), 60_000, () => relayB.output());
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await outboxCount(cluster.url)).toBe(200);

    // Relay A killed mid-batch: its rows are released with its connections, and B takes them.
    relayA.child.kill('SIGKILL');
    expect(await relayA.exited).toBe('SIGKILL');
    await waitFor(async () => ((await outboxCount(cluster.url)) === 0 ? true : undefined), 60_000, () => relayB.output());

    // A third relay alongside B, killed at random while both move batches: its rows (exported or not) go to B.
    await commitChanges(FIRST, SECOND);
    const relayC = await startRelayProcess('relay-c', cluster.url, sink.endpoint, ['--batch-size', '50', '--concurrency', '1']);
    relays.push(relayC);
    await waitFor(async () => ((await outboxCount(cluster.url)) <= SECOND - 200 ? true : undefined), 60_000, () => relayC.output());
    relayC.child.kill('SIGKILL');
    await waitFor(async () => ((await outboxCount(cluster.url)) === 0 ? true : undefined), 60_000, () => relayB.output());

    // The business database goes away and comes back; relay B says so once and carries on.
    await cluster.stop('fast');
    await waitFor(async () => (/cannot reach the business database/.test(relayB.output()) ? true : undefined), 30_000, () => relayB.output());
    await new Promise((r) => setTimeout(r, 2_000));
    await cluster.start();
    await commitChanges(FIRST + SECOND, THIRD);
    await waitFor(async () => ((await outboxCount(cluster.url)) === 0 ? true : undefined), 60_000, () => relayB.output());
    await waitFor(async () => (/working again/.test(relayB.output()) ? true : undefined), 10_000, () => relayB.output());
    expect(relayB.output().match(/cannot reach the business database/g)).toHaveLength(1);

    // Relay-only rows are written once the sink's merge window has passed.
    await waitFor(async () => ((await sinkCount()) >= FIRST + SECOND + THIRD ? true : undefined), 60_000, async () => `${await sinkCount()} rows`);
    await new Promise((r) => setTimeout(r, 2_000));
    const [stats] = await queryOnce<{ n: number; ids: number; resources: number; with_change: number }>(
      sink.url,
      `SELECT count(*)::int AS n, count(DISTINCT attributes->>'audit.outbox.id')::int AS ids,
              count(DISTINCT resource_id)::int AS resources, count(change_after)::int AS with_change
         FROM audit.records WHERE action = 'item.update'`,
    );
    expect(stats).toEqual({ n: FIRST + SECOND + THIRD, ids: FIRST + SECOND + THIRD, resources: FIRST + SECOND + THIRD, with_change: FIRST + SECOND + THIRD });
    const [sample] = await sink.rows("resource_id = 'i-4321'");
    expect(sample?.['change_after']).toEqual({ n: 4321 });
    expect((sample?.['attributes'] as Record<string, unknown>)['audit.origin']).toBe('outbox');

    // SIGTERM: a clean stop, exit status 0, with what it did.
    expect(await relayB.stop('SIGTERM')).toBe(0);
    expect(relayB.output()).toMatch(/otel-audit relay: stopped; \d+ records sent in \d+ batches/);
  });
});
