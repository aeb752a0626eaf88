import type { AuditRecord } from '../record.js';

/**
 * Outcome of one send. Transports resolve to a tagged result and never
 * reject: `retryable` failures are tried again later (after `retryInMs` when
 * the peer said so), `failure` is final for that batch.
 */
export type TransportResult =
  /** `unencodable`: records of the batch that could not be encoded and were left out (the rest went through). */
  | { kind: 'success'; unencodable?: number }
  | { kind: 'retryable'; error: Error; retryInMs?: number }
  | { kind: 'failure'; error: Error };

/** Something audit records can be sent to. */
export interface AuditTransport {
  send(records: readonly AuditRecord[]): Promise<TransportResult>;
  shutdown(): Promise<void>;
}
