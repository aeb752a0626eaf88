/**
 * What an export is asked to do and what it leaves behind: its options, its
 * progress, and the manifest written next to the data file.
 */
import type { KeyProvider } from '../crypto/kek.js';
import type { DigestStatus } from './verify.js';
import type { ExportFilters, ExportFormat } from './export-query.js';
import type { DigestKey } from './digest.js';

/** Most rows per FETCH unless told otherwise. */
export const DEFAULT_FETCH_ROWS = 5_000;

export interface ExportOptions {
  /** Inclusive lower bound on occurred_at: an ISO 8601 date or timestamp (`parseTimeBound` in export-time.ts). */
  from: string;
  /** Exclusive upper bound on occurred_at. */
  to: string;
  format: ExportFormat;
  /** The file to write; `<out>.manifest.json` goes next to it. */
  out: string;
  filters?: ExportFilters;
  /** Who exports, for the `audit.export` record (null: anonymous). */
  actor: string | null;
  /** Check the digests covering the exported rows (default true). */
  verify?: boolean;
  /** With keys, the covering digests must carry a valid signature by one of them. */
  keys?: DigestKey[];
  /** Replace an existing file and manifest (default: refuse). */
  force?: boolean;
  /** Most rows per FETCH (default {@link DEFAULT_FETCH_ROWS}; fewer when rows are large). */
  fetchRows?: number;
  /** Count the rows first (one more pass over the range), for onProgress's total. */
  countFirst?: boolean;
  /** Called after every batch written. */
  onProgress?: (progress: ExportProgress) => void;
  /** Called once the rows are written, before the digests are verified. */
  onVerifying?: (digests: number) => void;
  /** Aborting stops the export between batches; nothing is left behind. */
  signal?: AbortSignal;
  /**
   * The key-encryption key of encrypted records: every format then shows
   * their encrypted fields in clear (erased ones as `[erased]`), and an actor
   * filter also matches actors by blind index. Without it encrypted fields
   * are exported as stored (see maskEncrypted).
   */
  kek?: KeyProvider;
  /**
   * Without kek: write each encrypted field as `[encrypted]`, or `[erased]`
   * once its key is destroyed, instead of its ciphertext. Default false.
   */
  maskEncrypted?: boolean;
}

export interface ExportProgress {
  rows: number;
  bytes: number;
  /** Rows to export, when counted first. */
  total: number | undefined;
}

/** A digest covering exported rows, as verify reported it (`ok`: its hash, link and rows verified). */
export type ManifestDigest = Omit<DigestStatus, 'rowsChecked'>;

/** Something verify found (`edited_row`, `deleted_row`, `chain_broken`, ...; `error` when verify could not run). */
export interface ManifestFinding {
  kind: string;
  digestId?: number;
  recordId?: string;
  message: string;
}

export interface ExportVerification {
  /** False with --no-verify: nothing below was checked. */
  checked: boolean;
  /**
   * Every digest covering exported rows verified and no finding concerns an
   * exported id or those digests. True also when no exported row is sealed
   * yet (then `digests` is empty and `unsealedRows` equals the row count).
   */
  verified: boolean | null;
  /** The seal digests whose id range meets the exported ids (first..last), in chain order. */
  digests: ManifestDigest[];
  /** What verify found about the exported ids or those digests. */
  findings: ManifestFinding[];
  /** Findings elsewhere in the chain (about other digests and rows): not in `findings`, not counted against `verified`. */
  otherFindings: number;
  /** The highest sealed record id when the export started (null: nothing sealed). */
  sealedUpToId: string | null;
  /** Exported rows with an id up to sealedUpToId. */
  sealedRows: number;
  /** Exported rows not sealed yet (ids above sealedUpToId): no digest vouches for them. */
  unsealedRows: number;
}

/** What the data file holds, and when the snapshot it was read from was taken. */
export interface ExportedData {
  rows: number;
  bytes: number;
  /** SHA-256 of the data file, hex. */
  sha256: string;
  /** Ids of the first and last row (ascending id order); null when no row matched. */
  firstId: string | null;
  lastId: string | null;
  /** When the export's snapshot was taken (the database's clock). */
  exportedAt: string;
}

/** `<file>.manifest.json`. */
export interface ExportManifest extends ExportedData {
  manifestVersion: 1;
  /** The data file's name (it lies next to the manifest). */
  file: string;
  format: ExportFormat;
  /** The file's columns, in order (csv, jsonl); empty for ocsf, whose lines are OCSF events (see `ocsf`). */
  columns: string[];
  /** With format ocsf: the OCSF version and event class every line follows. */
  ocsf?: { version: string; class_uid: number; class_name: string };
  /** Half-open: occurred_at >= from and occurred_at < to. */
  range: { column: 'occurred_at'; from: string; to: string };
  /** Exact-match filters by column (any of the values); empty when none. */
  filters: ExportFilters;
  /** Rows are in ascending id order. */
  order: 'id';
  exportedBy: string | null;
  tool: { name: 'otel-audit'; version: string };
  /** The database, without password. */
  database: string;
  verification: ExportVerification;
  /**
   * Rows of the range (matching the filters) that row-level security hid
   * from the exporting role: 0 when the file holds every one of them; null
   * when a --tenant filter asked for a subset of tenants.
   */
  hiddenRows: number | null;
  /** The id of the `audit.export` record of this export. */
  auditRecordId: string;
}

export interface ExportResult {
  manifest: ExportManifest;
  /** Absolute paths of the data file and of its manifest. */
  file: string;
  manifestFile: string;
}
