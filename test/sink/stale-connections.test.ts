/**
 * Pooled database connections that went stale while idle (the server side
 * is gone, the sink's side does not know until it sends): the next export
 * is stored on its first attempt, on fresh connections, not answered
 * "retry later".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, logsRequest, postLogs, str } from '../helpers/otlp-logs.js';
import { createTestDatabase } from '../helpers/pg.js';
import { startTestSink, type TestSink } from '../helpers/sink.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

let proxy: TcpProxy;
let t: TestSink;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const db = await createTestDatabase();
  dropDb = db.drop;
  proxy = await startTcpProxy(5432);
  t = await startTestSink('postgres', { databaseUrl: db.url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`), poolSize: 4, writers: 4 });
});
afterAll(async () => {
  await t?.stop();
  await proxy?.close();
  await dropDb?.();
});

/** One export of `n` records numbered from `from`: one POST, no retry. */
function exportOnce(from: number, n: number): ReturnType<typeof postLogs> {
  const records = Array.from({ length: n }, (_, i) => ({
    traceId: 'b' + (from + i).toString(16).padStart(31, '0'),
    spanId: '5c00000000000001',
    attributes: [str('audit.action', 'user.read'), str('audit.emitter.id', 'e-stale'), int('audit.emitter.seq', from + i)],
  }));
  return postLogs(t.httpEndpoint, logsRequest(records, 'stale-test'));
}

describe('stale pooled connections', () => {
  it('the export after the connections went stale is stored on its first attempt', async () => {
    // Several exports at once: the pool holds several connections.
    const warm = await Promise.all(Array.from({ length: 8 }, (_, i) => exportOnce(1 + i * 10, 10)));
    expect(warm.map((a) => a.status)).toEqual(Array(8).fill(200));

    proxy.sever();

    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => exportOnce(81 + round * 40 + i * 10, 10)));
      expect(answers).toEqual(Array(4).fill({ status: 200, rejected: 0, message: '' }));
    }
    expect(await t.rows("emitter_id = 'e-stale'")).toHaveLength(200);
  });
});
