/** What became of the audit records of this process. */
export interface DeliveryStats {
  /** Records handed to delivery. */
  emitted: number;
  /** Records the receiver acknowledged (from memory and from the spool). */
  exported: number;
  /** Records written to the disk spool. */
  spooled: number;
  /** Spooled records delivered later (included in `exported`). */
  replayed: number;
  /** Records lost because the spool was full or unusable. Only this counter means loss. */
  dropped: number;
  /** Records the receiver refused as invalid (kept by the receiver, not retried). */
  rejected: number;
  /** Records that could not be encoded (values no transport can carry): reported and set aside, never blocking the others. */
  unencodable: number;
  /** Failed export attempts that were retried. */
  retries: number;
  /** Records in memory now. */
  queued: number;
  /** Bytes in the spool now. */
  spoolBytes: number;
}

export function emptyStats(): DeliveryStats {
  return { emitted: 0, exported: 0, spooled: 0, replayed: 0, dropped: 0, rejected: 0, unencodable: 0, retries: 0, queued: 0, spoolBytes: 0 };
}
