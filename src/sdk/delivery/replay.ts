import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../../util/process.js';
import { Spool } from './spool.js';
import type { AuditTransport } from './transport.js';

/** A spool lock file: `<owner id>.lock`, holding the owner's pid. */
const LOCK_RE = /^([0-9a-f]+)\.lock$/;

/** The spool directory is in use by a running process; nothing was sent. */
export class SpoolBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the spool directory ${dir} is in use by process ${pid}; that process sends its records itself (stop it first to replay them here)`);
    this.name = 'SpoolBusyError';
  }
}

export interface ReplayOptions {
  /** The spool directory. */
  dir: string;
  /** Records per send. */
  batchSize: number;
}

export interface ReplayResult {
  /** Records the receiver acknowledged. */
  sent: number;
  /** Records the receiver refused as invalid (acknowledged: sending them again cannot help). */
  refused: number;
  /** Records still in the spool: the receiver could not be reached (see `error`). */
  left: number;
  /** Why sending stopped before the spool was empty. */
  error?: Error;
}

/** The pid of a live process holding a lock in `dir`, if any (this process does not count). */
export function liveLockHolder(dir: string): number | undefined {
  for (const name of readdirSync(dir)) {
    if (!LOCK_RE.test(name)) continue;
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, name), 'utf8').trim());
    } catch {
      continue; // released meanwhile
    }
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) return pid;
  }
  return undefined;
}

/**
 * Send the records of a spool directory that no running process uses (the
 * disk of a stopped or dead instance), oldest first, through `transport`.
 *
 * Takes the lock the SDK takes: a directory with a live owner is refused
 * ({@link SpoolBusyError}), and an SDK starting meanwhile leaves the
 * segments this replay claimed alone. A batch leaves the spool only once the
 * receiver acknowledged it; receivers store a record once, so running a
 * replay again (or after one that stopped midway) adds nothing.
 */
export async function replaySpool(transport: AuditTransport, options: ReplayOptions): Promise<ReplayResult> {
  const { dir } = options;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`no spool directory at ${dir}`);
  const holder = liveLockHolder(dir);
  if (holder !== undefined) throw new SpoolBusyError(dir, holder);
  const spool = new Spool({ dir, maxBytes: Number.MAX_SAFE_INTEGER, ownerId: randomBytes(8).toString('hex') });
  spool.open();
  const result: ReplayResult = { sent: 0, refused: 0, left: 0 };
  try {
    for (;;) {
      const batch = spool.peek(options.batchSize);
      if (!batch) break;
      const r = await transport.send(batch.records);
      if (r.kind === 'retryable') {
        result.error = r.error;
        break;
      }
      spool.ack(batch);
      const n = batch.records.length;
      if (r.kind === 'success') result.sent += n - (r.unencodable ?? 0);
      else result.refused += n;
    }
    result.left = spool.pendingRecords();
  } finally {
    // What is left is released for the next replay or start.
    spool.close();
    await transport.shutdown();
  }
  return result;
}
