/**
 * The viewer's export files: which token made each (only it may download
 * it), and their removal once older than the server's export time-to-live,
 * so that a server running for months neither fills its export directory
 * nor keeps a list of every export it ever made. Files of the export name
 * pattern that an earlier run left in the directory are removed the same way;
 * nothing else in it is touched.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The names export files get (viewer-export.ts): file and manifest. */
export const EXPORT_FILE = /^audit-\d{8}T\d{6}-[0-9a-f]{12}\.(?:csv|jsonl)(?:\.manifest\.json)?$/;

/** Longest between two sweeps. */
const MAX_SWEEP_INTERVAL_MS = 10 * 60_000;

export class ExportFiles {
  private readonly made = new Map<string, { token: string; at: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    /** How long an export can be downloaded, ms. */
    readonly ttlMs: number,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Files of one export, made by `token` now. */
  add(files: readonly string[], token: string, now = Date.now()): void {
    for (const f of files) this.made.set(f, { token, at: now });
  }

  /** Whether `name` is an export `token` made and that has not expired. */
  ownedBy(name: string, token: string, now = Date.now()): boolean {
    if (!EXPORT_FILE.test(name)) return false;
    const m = this.made.get(name);
    return m !== undefined && m.token === token && now - m.at < this.ttlMs;
  }

  /** Removes the exports older than the time-to-live, known or left by an earlier run; returns how many files went. */
  async sweep(now = Date.now()): Promise<number> {
    for (const [name, m] of this.made) if (now - m.at >= this.ttlMs) this.made.delete(name);
    let removed = 0;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!EXPORT_FILE.test(name) || this.made.has(name)) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile() || now - info.mtimeMs < this.ttlMs) continue;
      await rm(path, { force: true });
      removed++;
    }
    if (removed > 0) this.log(`removed ${removed} export file(s) older than ${Math.round(this.ttlMs / 60_000)} min from ${this.dir}`);
    return removed;
  }

  /** Sweeps now and then at a quarter of the time-to-live (at most every 10 minutes) until {@link stop}. */
  start(): void {
    const every = Math.max(1_000, Math.min(MAX_SWEEP_INTERVAL_MS, this.ttlMs / 4));
    const run = (): void => {
      this.sweep().catch((err: unknown) => this.log(`could not remove old exports: ${(err as Error).message}`));
    };
    run();
    this.timer = setInterval(run, every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
