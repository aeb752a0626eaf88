import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startSink, type Sink } from '../../src/sink/sink.js';
import type { SinkOptions } from '../../src/sink/types.js';
import { createTestDatabase } from './pg.js';

export interface TestSink {
  sink: Sink;
  /** Connection string of the test database (Postgres only). */
  url?: string;
  grpcEndpoint: string;
  httpEndpoint: string;
  metricsUrl: string;
  /** Rows of audit.records, oldest first. */
  rows(where?: string): Promise<Record<string, unknown>[]>;
  rejected(): Promise<Record<string, unknown>[]>;
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A sink on ephemeral ports over a fresh Postgres database (or a fresh
 * embedded one); with `options.databaseUrl`, over that database, which
 * `stop()` then leaves in place (another sink of the test owns it).
 */
export async function startTestSink(kind: 'postgres' | 'pglite' = 'postgres', options: SinkOptions = {}): Promise<TestSink> {
  let url: string | undefined;
  let drop: () => Promise<void> = () => Promise.resolve();
  let dataDir: string | undefined;
  if (kind === 'postgres' && options.databaseUrl !== undefined) {
    url = options.databaseUrl;
  } else if (kind === 'postgres') {
    const db = await createTestDatabase();
    url = db.url;
    drop = db.drop;
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'otel-audit-pglite-'));
    drop = () => Promise.resolve(rmSync(dataDir as string, { recursive: true, force: true }));
  }
  const sink = await startSink(
    { grpcPort: 0, httpPort: 0, metricsPort: 0, ...(url ? { databaseUrl: url } : { dataDir }), ...options },
    pino({ level: process.env['SINK_LOG_LEVEL'] ?? 'silent' }),
  );
  const metricsUrl = `http://127.0.0.1:${sink.metricsPort}/metrics`;
  return {
    sink,
    ...(url ? { url } : {}),
    grpcEndpoint: `http://127.0.0.1:${sink.grpcPort}`,
    httpEndpoint: `http://127.0.0.1:${sink.httpPort}`,
    metricsUrl,
    async rows(where = 'true') {
      const res = await sink.db.query(`SELECT * FROM audit.records WHERE ${where} ORDER BY id`);
      return res.rows;
    },
    async rejected() {
      const res = await sink.db.query('SELECT * FROM audit.rejected ORDER BY id');
      return res.rows;
    },
    async metric(name: string) {
      const text = await (await fetch(metricsUrl)).text();
      let total = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(name + ' ') || line.startsWith(name + '{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return total;
    },
    async stop() {
      await sink.close();
      await drop();
    },
  };
}
