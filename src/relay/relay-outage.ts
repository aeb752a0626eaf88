/**
 * The relay's lines about problems: one when a kind of outage starts (the
 * business database cannot be reached, the endpoint refuses or cannot be
 * reached, or another error), one when batches move again. Never one per
 * attempt, never a stack.
 */
import { isConnectionError } from '../db/database.js';
import { oneLine } from '../cli/database.js';
import { deliveryReason } from '../sdk/delivery/outage.js';

/** An export that was not acknowledged: the batch's rows stay in the outbox. */
export class ExportFailedError extends Error {
  constructor(readonly reason: Error) {
    super(reason.message, { cause: reason });
    this.name = 'ExportFailedError';
  }
}

/** SQLSTATE undefined_table: the outbox schema was never migrated. */
const UNDEFINED_TABLE = '42P01';

type Kind = 'endpoint' | 'database' | 'schema' | 'error';

function kindOf(err: unknown): Kind {
  if (err instanceof ExportFailedError) return 'endpoint';
  if (isConnectionError(err)) return 'database';
  if ((err as { code?: unknown } | null)?.code === UNDEFINED_TABLE) return 'schema';
  return 'error';
}

export class RelayOutage {
  private since: number | undefined;
  private kind: Kind | undefined;
  private attempts = 0;

  constructor(
    private readonly endpoint: string,
    private readonly database: string,
    private readonly log: (line: string) => void,
  ) {}

  /** An attempt failed; it is retried in `retryInMs`. */
  failed(err: unknown, retryInMs: number): void {
    this.attempts++;
    const kind = kindOf(err);
    this.since ??= Date.now();
    if (kind === this.kind) return;
    this.kind = kind;
    const retry = `retrying with backoff (next in ${Math.round(retryInMs)} ms)`;
    switch (kind) {
      case 'endpoint':
        this.log(`otel-audit relay: cannot deliver outbox records to ${this.endpoint} (${deliveryReason((err as ExportFailedError).reason)}); they stay in the outbox, ${retry}`);
        break;
      case 'database':
        this.log(`otel-audit relay: cannot reach the business database (${this.database}): ${oneLine(err)}; ${retry}`);
        break;
      case 'schema':
        this.log(`otel-audit relay: ${oneLine(err)} in ${this.database}: run "otel-audit migrate --outbox" first; ${retry}`);
        break;
      default:
        this.log(`otel-audit relay: ${oneLine(err)}; ${retry}`);
    }
  }

  /**
   * A batch went through (`moved`), or there was nothing to take: one line
   * if an outage is over. Nothing to take proves the database answers, but
   * not that the endpoint does: another worker's rows, locked while it
   * retries them, are skipped (SKIP LOCKED), so an endpoint outage ends only
   * with rows moved.
   */
  recovered(moved: boolean): void {
    if (this.since === undefined) return;
    if (!moved && this.kind === 'endpoint') return;
    const seconds = ((Date.now() - this.since) / 1000).toFixed(1);
    this.log(`otel-audit relay: working again after ${seconds} s (${this.attempts} failed attempt${this.attempts === 1 ? '' : 's'})`);
    this.since = undefined;
    this.kind = undefined;
    this.attempts = 0;
  }
}
