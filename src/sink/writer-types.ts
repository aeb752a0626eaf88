/** What the writer takes and reports: submissions, their sources and results, its options. */
import type { OutboxTotals } from './outbox-merge.js';
import type { RowEncryptor } from './row-encryption.js';

/** The OTLP signal an export carries. */
export type Signal = 'logs' | 'traces';

/** How an export was encoded on the wire (kept in `audit.rejected.transport`). */
export type WireFormat = 'grpc' | 'http/protobuf' | 'http/json';

/** Input kept verbatim in `audit.rejected`. */
export interface RejectedInput {
  signal: Signal;
  wireFormat: WireFormat;
  reason: string;
  /** Raw bytes: the request, or the offending record serialised. */
  raw: Buffer | null;
  /** The offending record, decoded, when it is JSON-safe. */
  record: unknown;
  peer: string | null;
}

/** How a batch's rows reach audit.records (batch-insert.ts): binary COPY through a staging table, or one statement of array parameters. */
export type WriteMethod = 'copy' | 'unnest';
export const WRITE_METHODS: readonly WriteMethod[] = ['copy', 'unnest'];

export interface WriterOptions {
  /** Rows per database round trip at most. Default `SINK_DEFAULTS.batchRows`. */
  maxBatchRows?: number;
  /** How long a batch waits for more rows, ms. Default `SINK_DEFAULTS.batchDelayMs`. */
  maxDelayMs?: number;
  /** Rows waiting at most; past it submissions are refused as retryable. Default `SINK_DEFAULTS.maxQueueRows`. */
  maxQueueRows?: number;
  /** Batches written at once (connections used). Default `SINK_DEFAULTS.writers`. */
  concurrency?: number;
  /** How rows are written on Postgres. Default `SINK_DEFAULTS.writeMethod`; the embedded database always takes `unnest`. */
  method?: WriteMethod;
  /** Encrypts personal fields before rows are written (row-encryption.ts). Default: none, rows are stored as they come. */
  encryptor?: RowEncryptor;
}

/** What the writer reports after each batch (for metrics). */
export interface BatchReport {
  rows: number;
  inserted: number;
  duplicates: number;
  /** Rejected input stored, and rows set aside (conflicts, refused by the database). */
  rejected: number;
  /** Rows kept as conflicts. */
  conflicts: number;
  /** What the outbox merge did, when the batch held outbox halves. */
  outbox?: OutboxTotals;
  seconds: number;
}

/** Where a submission came from, for rows the database itself refuses. */
export interface SubmitSource {
  signal: Signal;
  wireFormat: WireFormat;
  peer: string | null;
}

/** What became of a submission's rows that are not in audit.records (all kept in audit.rejected). */
export interface SubmitResult {
  /** Rows not stored as records: conflicts, and rows of an export the database refused. */
  rejected: number;
  /** Rows kept with reason `conflict` (an existing key with other content). */
  conflicts: number;
  /** Outbox halves kept because the row of their key was written without them (outbox-merge.ts). */
  late?: number;
  /** Up to three reasons, for the answer's error message. */
  reasons: string[];
}
