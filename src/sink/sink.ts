import { pino, type Logger } from 'pino';
import type { DataDirHolder } from '../db/data-dir-lock.js';
import { openDatabase, type Database } from '../db/database.js';
import { ensurePartitions, migrate } from '../db/migrate.js';
import { resolveSinkConfig } from './config.js';
import { startGrpcServer } from './grpc-server.js';
import { startHealthServer } from './health-server.js';
import { startHttpServer } from './http-server.js';
import { usableWriteMethod } from './batch-insert.js';
import { ingest, type IngestContext } from './ingest.js';
import { prepareJobs } from './jobs.js';
import { countOutbox, createSinkMetrics, type SinkMetrics } from './metrics.js';
import { DEFAULT_LIMITS } from './transform-limits.js';
import type { SinkOptions } from './types.js';
import { Writer } from './writer.js';
import { resolveEncryption } from '../crypto/encryption-config.js';
import { startEncryption } from './encryption-start.js';

/** Who holds the embedded database when the caller does not say: a sink that serves no query API. */
const SINK_HOLDER: DataDirHolder = {
  name: 'otel-audit sink',
  hint: 'to read its rows while it runs, start the sink with --serve: it then serves the query API and the viewer from its own process (otel-audit sink --help)',
};

/** A running sink. */
export interface Sink {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly db: Database;
  readonly metrics: SinkMetrics;
  readonly log: Logger;
  /** Stop accepting, write what is queued, close the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * Start the sink: resolve the configuration, open the database (Postgres or
 * embedded), apply migrations under the advisory lock and create partitions
 * ahead, start the writer, serve OTLP over gRPC and HTTP, start the periodic
 * jobs (gap checks, partitions, sealing), and serve metrics and health
 * endpoints. Each step is a module of its own; this function only wires them.
 */
export async function startSink(options: SinkOptions = {}, logger?: Logger): Promise<Sink> {
  const config = resolveSinkConfig(options);
  const log = logger ?? pino({ level: config.logLevel, base: { service: 'otel-audit-sink' } });
  const { host } = config;
  // A bad key file fails the start before anything is opened.
  const preparedJobs = prepareJobs(config);
  const encryption = resolveEncryption({
    file: config.encryptionKeyFile,
    key: config.encryptionKey,
    columns: config.encryptColumns,
    subject: config.encryptionSubject,
  });

  const db = await openDatabase({
    ...(config.databaseUrl !== undefined ? { url: config.databaseUrl } : {}),
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    ...(config.env !== undefined ? { env: config.env } : {}),
    poolSize: config.poolSize,
    holder: config.holder ?? SINK_HOLDER,
    onError: (err) => log.warn({ err }, 'database connection error'),
  });
  log.info({ database: db.description }, 'database opened');
  const cleanups: (() => Promise<void>)[] = [() => db.close()];
  try {
    if (config.migrate) {
      const { applied, current } = await migrate(db, { log: (msg) => log.info(msg) });
      log.info({ applied, current }, 'schema ready');
    }
    await ensurePartitions(db);
    const encryptor = await startEncryption(db, encryption, config.encryption, log);
    const { method: writeMethod, reason } = await usableWriteMethod(db, config.writeMethod);
    if (reason !== undefined && db.kind === 'postgres') log.warn({ wanted: config.writeMethod, using: writeMethod }, `write method ${writeMethod}: ${reason}`);

    // The writer reports each batch to the metrics; the metrics read the writer's queue depth.
    const metrics: SinkMetrics = createSinkMetrics(() => writer.depth);
    const writer: Writer = new Writer(
      db,
      { maxBatchRows: config.batchRows, maxDelayMs: config.batchDelayMs, maxQueueRows: config.maxQueueRows, concurrency: config.writers, method: writeMethod,
        ...(encryptor ? { encryptor } : {}) },
      (b) => {
        metrics.written.inc(b.inserted);
        metrics.duplicates.inc(b.duplicates);
        metrics.batchSize.observe(b.rows);
        metrics.batchSeconds.observe(b.seconds);
        if (b.outbox) countOutbox(metrics, b.outbox);
      },
    );

    const ctx: IngestContext = { writer, metrics, limits: { ...DEFAULT_LIMITS, maxValueBytes: config.maxValueBytes } };
    const tls = config.tlsCert && config.tlsKey ? { cert: config.tlsCert, key: config.tlsKey } : undefined;
    const common = { host, maxMessageBytes: config.maxMessageBytes, token: config.token, tls, log };
    const grpcServer = await startGrpcServer({ ...common, port: config.grpcPort, handle: (signal, body, peer) => ingest(ctx, signal, 'grpc', body, peer) });
    cleanups.unshift(() => grpcServer.close());
    const httpServer = await startHttpServer({
      ...common,
      port: config.httpPort,
      handle: (signal, wireFormat, body, peer) => ingest(ctx, signal, wireFormat, body, peer),
      onOversize: () => metrics.oversize.inc({ transport: 'http' }),
      keepUndecodable: (signal, wireFormat, raw, reason, peer) => {
        metrics.rejected.inc({ signal, reason: 'undecodable' });
        return writer.submit([], [{ signal, wireFormat, reason, raw, record: null, peer }], { signal, wireFormat, peer }).then(() => undefined);
      },
    });
    cleanups.unshift(() => httpServer.close());

    const jobs = preparedJobs.start({ db, metrics, log, ...(encryptor ? { hashKey: encryptor.hashKey } : {}) });
    cleanups.unshift(() => jobs.close());

    const healthServer = await startHealthServer({
      host,
      port: config.metricsPort,
      metricsToken: config.metricsToken,
      metrics,
      db,
      // Gap figures are cached: a scrape at most starts a check (one per interval) and never waits for it.
      onScrape: () => jobs.poke(),
    });
    cleanups.unshift(() => healthServer.close());
    log.info({ grpc: `${host}:${grpcServer.port}`, http: `${host}:${httpServer.port}`, metrics: `${host}:${healthServer.port}` }, 'otel-audit sink listening');

    let closing: Promise<void> | undefined;
    return {
      grpcPort: grpcServer.port,
      httpPort: httpServer.port,
      metricsPort: healthServer.port,
      db,
      metrics,
      log,
      close(): Promise<void> {
        closing ??= (async () => {
          jobs.stop();
          // Stop accepting first, then write what was accepted, then close the database.
          await Promise.all([grpcServer.close(), httpServer.close()]);
          await writer.close();
          await jobs.close();
          await healthServer.close();
          await db.close();
          log.info('otel-audit sink stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const fn of cleanups) await fn().catch(() => undefined);
    throw err;
  }
}
