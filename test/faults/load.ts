/**
 * Steady request load on the example service: `rate` requests per second,
 * each a `GET /users/1` that the service answers and audits (`user.read`).
 */
export interface LoadResult {
  /** Requests sent. */
  sent: number;
  /** Answered 200: each is one audit record the service emitted. */
  ok: number;
  /** Answered otherwise, or failed. */
  failed: number;
  errors: string[];
}

export interface Load {
  /** Stop sending and wait for the answers still outstanding. */
  stop(): Promise<LoadResult>;
}

export function steadyLoad(baseUrl: string, rate: number): Load {
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, errors: [] };
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  const one = async (): Promise<void> => {
    try {
      const res = await fetch(`${baseUrl}/users/1`, { signal: AbortSignal.timeout(30_000) });
      await res.arrayBuffer();
      if (res.status === 200) result.ok++;
      else {
        result.failed++;
        if (result.errors.length < 5) result.errors.push(`HTTP ${res.status}`);
      }
    } catch (err) {
      result.failed++;
      if (result.errors.length < 5) result.errors.push((err as Error).message);
    }
  };
  // Catch up to the schedule every 10 ms: `rate` per second on average.
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    while (result.sent < due) {
      result.sent++;
      const p = one().finally(() => pending.delete(p));
      pending.add(p);
    }
  }, 10);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      return result;
    },
  };
}
