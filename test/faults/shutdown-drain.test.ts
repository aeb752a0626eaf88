/**
 * Nothing stranded on a stopped instance. The example service under the
 * register hook sends straight to the sink (no collector); the sink is
 * killed with kill -9 and comes back, Postgres restarts, and the service is
 * told to stop (a deploy) right after: with default delivery settings every
 * record is in Postgres before the process exits, none twice, and none is
 * left in the spool. When the sink stays down for the whole shutdown window,
 * the records stay in the spool (one line says where) and the next start
 * sends them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICE } from '../e2e/harness.js';
import { tempDir } from '../helpers/app-process.js';
import { createTestDatabase } from '../helpers/pg.js';
import { freePorts, spawnService, startSinkProcess, type Service } from '../helpers/processes.js';
import { restartPostgres } from './postgres-cluster.js';

const REQUESTS = 3_000;
const CLIENTS = 8;
/** Requests per second: the faults below happen while they run. */
const RATE = 250;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Setup {
  db: pg.Pool;
  spool: string;
  startSink(): Promise<Service>;
  /** The example service, sending to the sink, with default delivery settings (but `env`). */
  startService(env?: Record<string, string>): Promise<{ service: Service; url: string }>;
}

async function setup(): Promise<Setup> {
  const database = await createTestDatabase();
  cleanup.push(() => database.drop());
  const db = new pg.Pool({ connectionString: database.url, max: 2 });
  // An idle connection dies when Postgres restarts; the pool replaces it.
  db.on('error', () => {});
  cleanup.push(() => db.end());
  const tmp = tempDir('drain');
  cleanup.push(tmp.remove);
  const [grpcPort, httpPort, metricsPort] = (await freePorts(3)) as [number, number, number];
  const spool = join(tmp.path, 'spool');
  return {
    db,
    spool,
    async startSink() {
      const sink = await startSinkProcess('sink', { databaseUrl: database.url, grpcPort, httpPort, metricsPort });
      cleanup.push(() => void sink.stop('SIGKILL'));
      return sink;
    },
    async startService(env = {}) {
      const service = await spawnService('example-service', process.execPath, ['--import', 'otel-audit/register', EXAMPLE_SERVICE], {
        env: {
          PORT: '0',
          OTEL_SERVICE_NAME: 'example-service',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${grpcPort}`,
          OTEL_TRACES_EXPORTER: 'none',
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
          OTEL_AUDIT_SPOOL_DIR: spool,
          ...env,
        },
        ready: (out) => /example service on http:\/\/127\.0\.0\.1:\d+/.test(out),
      });
      cleanup.push(() => void service.stop('SIGKILL'));
      const port = /example service on http:\/\/127\.0\.0\.1:(\d+)/.exec(service.output())?.[1];
      return { service, url: `http://127.0.0.1:${port}` };
    },
  };
}

/** `n` PUTs from `clients` clients, `rate` per second in all; resolves with the number answered 200. */
async function puts(url: string, n: number, clients: number, rate: number): Promise<number> {
  const started = Date.now();
  let next = 0;
  let ok = 0;
  const client = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const due = started + (i * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const res = await fetch(`${url}/users/${1 + (i % 2)}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `n-${i}` }),
      });
      await res.arrayBuffer();
      if (res.status === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return ok;
}

/** Stored rows of the service: count, distinct emitter sequence numbers, highest. */
async function stored(db: pg.Pool): Promise<{ rows: number; distinct: number; maxSeq: number; emitters: number }> {
  const { rows } = await db.query<{ rows: number; distinct: number; max_seq: number; emitters: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT (emitter_id, emitter_seq))::int AS distinct,
            coalesce(max(emitter_seq), 0)::int AS max_seq, count(DISTINCT emitter_id)::int AS emitters
       FROM audit.records WHERE service_name = 'example-service'`,
  );
  const r = rows[0] as { rows: number; distinct: number; max_seq: number; emitters: number };
  return { rows: r.rows, distinct: r.distinct, maxSeq: r.max_seq, emitters: r.emitters };
}

/** Record lines in a spool directory that were not acknowledged yet. */
function spooledRecords(dir: string): number {
  let n = 0;
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const f of files) {
    if (!f.endsWith('.jsonl')) continue;
    const text = readFileSync(join(dir, f));
    let offset = 0;
    try {
      offset = Number(readFileSync(join(dir, `${f}.offset`), 'utf8')) || 0;
    } catch {
      // no offset: nothing acknowledged
    }
    for (let i = offset; i < text.length; i++) if (text[i] === 0x0a) n++;
  }
  return n;
}

describe('nothing stranded on a stopped instance', () => {
  it('sink kill -9 and back, Postgres restart, then SIGTERM: every record is in Postgres before the process exits', async () => {
    const s = await setup();
    const sink = await s.startSink();
    const { service, url } = await s.startService();

    const load = puts(url, REQUESTS, CLIENTS, RATE);
    await sleep(3_000);
    await sink.stop('SIGKILL');
    await sleep(5_000);
    await s.startSink();
    await restartPostgres();
    const answered = await load;
    expect(answered).toBe(REQUESTS);

    // A deploy: SIGTERM now; the process has its default shutdown window.
    const exit = await service.stop('SIGTERM', 60_000);
    expect(exit).toBe('SIGTERM');
    const out = service.output();
    expect(out).not.toContain('left in the spool');
    expect(spooledRecords(s.spool)).toBe(0);
    const r = await stored(s.db);
    process.stdout.write(`[faults] drain at SIGTERM: answered ${answered}, stored ${r.rows}, distinct ${r.distinct}, spooled left 0\n`);
    expect(r).toEqual({ rows: REQUESTS, distinct: REQUESTS, maxSeq: REQUESTS, emitters: 1 });
  });

  it('sink down for the whole window: the records stay in the spool, one line says so, the next start sends them', async () => {
    const s = await setup();
    const sink = await s.startSink();
    await sink.stop('SIGKILL');
    const first = await s.startService({ OTEL_AUDIT_SHUTDOWN_TIMEOUT_MS: '2000' });
    expect(await puts(first.url, 200, CLIENTS, 1_000)).toBe(200);
    expect(await first.service.stop('SIGTERM', 30_000)).toBe('SIGTERM');
    const lines = first.service.output().split('\n').filter((l) => l.includes('left in the spool'));
    expect(lines).toEqual([
      `otel-audit: 200 audit records left in the spool ${s.spool} (not delivered within the shutdown window (2000 ms)); ` +
        `the next start with this spool directory sends them, or run: otel-audit spool replay --dir ${s.spool}`,
    ]);
    expect(spooledRecords(s.spool)).toBe(200);

    await s.startSink();
    const again = await s.startService();
    const deadline = Date.now() + 60_000;
    while ((await stored(s.db)).rows < 200 && Date.now() < deadline) await sleep(200);
    await again.service.stop('SIGTERM', 30_000);
    expect(await stored(s.db)).toEqual({ rows: 200, distinct: 200, maxSeq: 200, emitters: 1 });
    expect(spooledRecords(s.spool)).toBe(0);
  });
});
