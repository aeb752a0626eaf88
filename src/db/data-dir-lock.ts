/**
 * PGlite has no lock of its own: two processes opening one data directory
 * would corrupt it. A lock file holding our PID keeps the second one out
 * (a stale file, whose process is gone, is taken over).
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { processAlive } from '../util/process.js';

/** Tries to take the lock: once, and once more after removing a stale file. */
const LOCK_ATTEMPTS = 2;

/** Take the lock on dataDir through lockFile; returns its (idempotent) release. */
export function lockDataDir(lockFile: string, dataDir: string): () => void {
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (createLockFile(lockFile)) {
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(lockFile);
        } catch {
          // Already gone (removed by hand): nothing to release.
        }
      };
    }
    const pid = Number.parseInt(readFileOrEmpty(lockFile), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      throw new Error(
        `otel-audit: the embedded database ${dataDir} is in use by process ${pid}` +
          (pid === process.pid ? ' (this process)' : '') +
          `; stop it, or remove ${lockFile} if that process is not otel-audit`,
      );
    }
    try {
      unlinkSync(lockFile);
    } catch {
      // Another process removed the stale lock first; the next attempt decides.
    }
  }
  throw new Error(`otel-audit: cannot lock the embedded database ${dataDir} (${lockFile})`);
}

/**
 * Create the lock file holding our PID; false when it already exists. The
 * file is written under a temporary name and hard-linked into place, so no
 * other process can see it empty.
 */
function createLockFile(lockFile: string): boolean {
  const temp = `${lockFile}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n`);
  try {
    linkSync(temp, lockFile);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
