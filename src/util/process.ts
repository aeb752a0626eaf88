/**
 * Whether a process with this id exists. Used to tell a lock file whose
 * owner still runs from a stale one left by a process that is gone.
 */
export function processAlive(pid: number): boolean {
  try {
    // Signal 0 delivers nothing; it only checks that the process exists.
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
