/**
 * Keeps audit.record_counts current: every few seconds the server adds the
 * records settled since the last roll-up (audit.roll_up_counts, migration
 * 000008). Statistics are exact without it (they count what is not rolled
 * up from the records), only slower over long ranges.
 */
import type { Database } from '../db/database.js';

/** How often the counts are brought up to date. */
export const ROLL_UP_INTERVAL_MS = 10_000;
/** Records younger than this may still have a transaction open below them: they wait for the next turn (as sealing does). */
export const ROLL_UP_SETTLE_SECONDS = 60;
/** Most records added per turn, so that a first roll-up over a large table proceeds in steps. */
export const ROLL_UP_MAX_ROWS = 500_000;

/** SQLSTATEs that mean this login may never roll up (no such function, no permission): stop trying. */
const FOR_GOOD = new Set(['42883', '42501']);

/** Roll up once: the id counted up to, or null when another process was rolling up. */
export async function rollUpOnce(db: Database, settleSeconds = ROLL_UP_SETTLE_SECONDS, maxRows = ROLL_UP_MAX_ROWS): Promise<string | null> {
  const { rows } = await db.query<{ upto: string | null }>('SELECT audit.roll_up_counts(make_interval(secs => $1), $2)::text AS upto', [settleSeconds, maxRows]);
  return rows[0]?.upto ?? null;
}

/** Roll up now and then every interval until stopped. Problems are logged once. */
export function startRollUp(db: Database, log: (line: string) => void, intervalMs = ROLL_UP_INTERVAL_MS): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let reported = false;
  const turn = (): void => {
    running = rollUpOnce(db)
      .then(() => {
        reported = false;
      })
      .catch((err: unknown) => {
        const code = (err as { code?: string }).code;
        if (!reported) log(`rolling up the statistics counts failed (statistics count the records instead): ${(err as Error).message}`);
        reported = true;
        if (code !== undefined && FOR_GOOD.has(code)) stopped = true;
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(turn, intervalMs).unref();
      });
  };
  turn();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
