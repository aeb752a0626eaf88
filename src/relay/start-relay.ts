import type { RelayHandle, RelayOptions } from './types.js';

/**
 * Start an outbox relay in this process (the in-process form of
 * `otel-audit relay`); it runs until `stop()`. Rejects on bad options or
 * when no business database is named; an unreachable database or endpoint
 * is retried with backoff, one line per outage.
 *
 * The relay (and the Postgres driver) load on the first call: importing
 * `otel-audit` for the SDK alone does not pay for them.
 */
export async function startRelay(options: RelayOptions = {}): Promise<RelayHandle> {
  const { openRelay } = await import('./relay.js');
  return openRelay(options);
}
