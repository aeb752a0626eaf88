import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { loadDigestKey } from '../compliance/digest.js';
import { sealOnce } from '../compliance/seal.js';
import type { Database } from '../db/database.js';
import { ensurePartitions } from '../db/migrate.js';
import type { SinkConfig } from './config.js';
import { GapMonitor } from './gap-monitor.js';
import { OutboxWindow } from './outbox-window.js';
import type { SinkMetrics } from './metrics.js';

/** Partitions are made ahead this often, ms. */
const PARTITION_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** What the jobs read from the sink's configuration. */
export type JobsConfig = Pick<SinkConfig, 'gapWindowMs' | 'gapCheckIntervalMs' | 'sealIntervalMs' | 'sealSettleMs' | 'digestKeyFile' | 'outboxWindowMs'>;

/** What the jobs work on, once the database is open and migrated. */
export interface JobsContext {
  db: Database;
  metrics: SinkMetrics;
  log: Logger;
  /** Key of the content hashes when rows are encrypted (content-hash.ts). */
  hashKey?: KeyObject;
}

/** The sink's periodic jobs, running. */
export interface SinkJobs {
  /** A `/metrics` scrape: start a gap check if one is due, never wait for it (the figures are the last check's). */
  poke(): void;
  /** Stop the timers: no partition or seal run starts any more. */
  stop(): void;
  /** Stop the timers, wait for a seal in progress, cancel a gap check in progress. */
  close(): Promise<void>;
}

/** Jobs whose files are read and checked, ready to start on an open database. */
export interface PreparedJobs {
  start(context: JobsContext): SinkJobs;
}

/**
 * The sink's periodic work on the database: sequence gap checks (the
 * {@link GapMonitor}), the outbox merge window ({@link OutboxWindow}),
 * partitions made ahead once a day, and sealing what has
 * settled into audit.digests every `sealIntervalMs` (0: never). The digest
 * key is read here, before anything is opened, so that a bad key file fails
 * the start.
 */
export function prepareJobs(config: JobsConfig): PreparedJobs {
  const digestKey = config.digestKeyFile ? loadDigestKey(config.digestKeyFile) : undefined;
  return {
    start({ db, metrics, log, hashKey }: JobsContext): SinkJobs {
      const gaps = new GapMonitor(db, metrics, log, { windowMs: config.gapWindowMs, intervalMs: config.gapCheckIntervalMs });
      // Outbox halves without a partner past the merge window: written alone, now (a restart) and every interval.
      const outbox = new OutboxWindow(db, metrics, log, { windowMs: config.outboxWindowMs, ...(hashKey ? { hashKey } : {}) });
      const partitionTimer = setInterval(() => void ensurePartitions(db).catch((err: unknown) => log.warn({ err }, 'partition maintenance failed')), PARTITION_INTERVAL_MS);
      partitionTimer.unref();

      // Tamper evidence: seal what has settled, every sealIntervalMs (0: never).
      let sealing: Promise<void> | undefined;
      const seal = (): Promise<void> =>
        (sealing ??= sealOnce(db, { settleMs: config.sealSettleMs, ...(digestKey ? { key: digestKey } : {}) })
          .then((r) => {
            const rows = r.digests.reduce((n, d) => n + d.rowCount, 0);
            if (r.digests.length > 0) {
              metrics.sealedRows.inc(rows);
              metrics.lastSealTime.set(Date.now() / 1000);
            }
            log.debug({ digests: r.digests.length, rows, locked: r.locked }, 'sealed');
          })
          .catch((err: unknown) => log.warn({ err }, 'sealing failed; retrying next interval'))
          .finally(() => (sealing = undefined)));
      const sealTimer = config.sealIntervalMs > 0 ? setInterval(() => void seal(), config.sealIntervalMs) : undefined;
      sealTimer?.unref();

      const stop = (): void => {
        clearInterval(partitionTimer);
        if (sealTimer) clearInterval(sealTimer);
      };
      return {
        poke: () => gaps.poke(),
        stop,
        async close(): Promise<void> {
          stop();
          await sealing;
          await outbox.close();
          // Only the gap check may still hold a connection: cancel it rather than wait for it.
          await gaps.close();
        },
      };
    },
  };
}
