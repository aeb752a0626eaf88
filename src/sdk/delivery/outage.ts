import { diag } from '@opentelemetry/api';
import type { DeliveryStats } from './counters.js';

/** Names of gRPC status codes, for a reason that carries no errno. */
const GRPC_STATUS: Record<number, string> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 4: 'DEADLINE_EXCEEDED', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};
/** An errno such as ECONNREFUSED, anywhere in a message. */
const ERRNO = /\b(E[A-Z][A-Z0-9_]{3,})\b/;
/** Characters of a reason kept in the line. */
const MAX_REASON = 160;
/** How deep `cause` chains are searched for an errno. */
const MAX_DEPTH = 5;

/**
 * The short reason of a failed send: the errno when one is named
 * (`ECONNREFUSED`), else the gRPC status and the first line of the message,
 * capped. Never a stack.
 */
export function deliveryReason(err: Error): string {
  let e: unknown = err;
  for (let depth = 0; depth < MAX_DEPTH && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && ERRNO.test(code)) return code;
    const m = ERRNO.exec(e.message);
    if (m) return m[1] as string;
    e = e.cause;
  }
  const code = (err as { code?: unknown }).code;
  const status = typeof code === 'number' ? GRPC_STATUS[code] : undefined;
  // grpc-js messages start with "<code> <NAME>: ".
  const text = (err.message.split('\n')[0] ?? '').replace(/^\d+ [A-Z_]+: /, '').trim();
  const reason = status ? (text ? `${status}: ${text}` : status) : text || err.name;
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

export interface OutageTarget {
  /** Where records are sent (endpoint URL). */
  endpoint: string;
  /** The spool directory, when there is one. */
  spoolDir: string | undefined;
}

/**
 * One line when delivery starts failing and one when it has recovered,
 * whatever the number of attempts in between: what happens next, then how
 * long it lasted and what the spool carried meanwhile. No stacks.
 */
export class OutageReport {
  private since: number | undefined;
  private spooledBefore = 0;
  private replayedBefore = 0;

  constructor(private readonly target: OutageTarget) {}

  /** True between the first failure and the recovery. */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** A send failed and will be retried. The first of an outage says so; the others say nothing. */
  failed(err: Error, stats: DeliveryStats, retryInMs: number): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.spooledBefore = stats.spooled;
    this.replayedBefore = stats.replayed;
    const next = this.target.spoolDir
      ? `retrying, spooling to ${this.target.spoolDir}`
      : `retrying in ${Math.round(retryInMs)} ms, holding records in memory (no spool)`;
    diag.warn(`otel-audit: cannot deliver audit records to ${this.target.endpoint} (${deliveryReason(err)}); ${next}`);
  }

  /** Delivery works again and nothing is waiting any more: one summary line. */
  recovered(stats: DeliveryStats): void {
    if (this.since === undefined) return;
    const seconds = ((Date.now() - this.since) / 1000).toFixed(1);
    this.since = undefined;
    const spooled = stats.spooled - this.spooledBefore;
    const sent = stats.replayed - this.replayedBefore;
    diag.warn(
      `otel-audit: audit record delivery to ${this.target.endpoint} recovered after ${seconds} s; ` +
        `${spooled} records spooled meanwhile, ${sent} sent from the spool since`,
    );
  }
}
