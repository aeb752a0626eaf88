/**
 * PGlite has no lock of its own: two processes opening one data directory
 * would corrupt it. A lock file holding our PID keeps the second one out
 * (a stale file, whose process is gone, is taken over). The holder may also
 * write who it is and how others can reach its data while it runs; the
 * refused opener's error says so.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { processAlive } from '../util/process.js';

/** Tries to take the lock: once, and once more after removing a stale file. */
const LOCK_ATTEMPTS = 2;

/** Who holds the embedded database, for the error of a process the lock keeps out. */
export interface DataDirHolder {
  /** What holds it, e.g. `otel-audit sink`. */
  name: string;
  /** How another process can read the data meanwhile (one sentence), e.g. the query API the holder serves. */
  hint?: string;
}

/** The way out when the holder left none (an older lock file, or a holder that serves nothing). */
const GENERIC_HINT =
  'an otel-audit sink started with --serve serves the query API and the viewer from its own process, so its rows can be read while it runs';

/** Take the lock on dataDir through lockFile; returns its (idempotent) release. */
export function lockDataDir(lockFile: string, dataDir: string, holder?: DataDirHolder): () => void {
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (createLockFile(lockFile, holder)) {
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
    const [pidLine = '', name = '', hint = ''] = readFileOrEmpty(lockFile).split('\n');
    const pid = Number.parseInt(pidLine, 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
      const self = pid === process.pid ? ', this process' : '';
      const who = name !== '' ? `${name} (process ${pid}${self})` : `process ${pid}${self ? ' (this process)' : ''}`;
      const wayOut = hint !== '' ? `${hint}; or stop it first` : `stop it, or remove ${lockFile} if that process is not otel-audit (${GENERIC_HINT})`;
      throw new Error(`otel-audit: the embedded database ${dataDir} is in use by ${who}, and one process at a time may open it: ${wayOut}`);
    }
    try {
      unlinkSync(lockFile);
    } catch {
      // Another process removed the stale lock first; the next attempt decides.
    }
  }
  throw new Error(`otel-audit: cannot lock the embedded database ${dataDir} (${lockFile})`);
}

/** One line of the lock file: line breaks would shift the fields. */
function oneLine(text: string | undefined): string {
  return (text ?? '').replace(/[\r\n]+/g, ' ');
}

/**
 * Create the lock file holding our PID (then the holder's name and hint,
 * a line each); false when it already exists. The file is written under a
 * temporary name and hard-linked into place, so no other process can see it
 * empty.
 */
function createLockFile(lockFile: string, holder: DataDirHolder | undefined): boolean {
  const temp = `${lockFile}.${process.pid}.tmp`;
  writeFileSync(temp, `${process.pid}\n${holder ? `${oneLine(holder.name)}\n${oneLine(holder.hint)}\n` : ''}`);
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
