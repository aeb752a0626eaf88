/**
 * Compliance export: the audit records of a time range, optionally filtered,
 * as CSV or JSON lines, with a manifest that lets anyone check the file
 * later (row count, SHA-256, first and last id) and says whether the
 * tamper-evidence digests covering the exported rows verified.
 *
 * - Streams through a server-side cursor (`DECLARE … CURSOR`, `FETCH n`) in
 *   one read-only REPEATABLE READ transaction: memory stays bounded by two
 *   batches, whatever the range, and the file, the count and the digests
 *   chosen all describe one snapshot.
 * - Postgres formats each row into its line (export-query.ts); this process
 *   concatenates, hashes and writes.
 * - The data goes to a temporary file next to the target, renamed into place
 *   only when complete, with its manifest: a failed export leaves no file.
 * - The export is itself audited: an `audit.export` record, written through
 *   `audit.log_operation` (owner's rights, so read-only roles are audited
 *   too) before the files appear under their names.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Database, Transaction } from '../db/database.js';
import { VERSION } from '../contract/version.js';
import {
  CSV_HEADER, EXPORT_COLUMNS, exportSelectSql, exportWhere, FILTER_COLUMNS, isoTimestampSql, lineId, type ExportFilters, type ExportFormat,
} from './export-query.js';
import type { DigestKey } from './digest.js';
import { parseTimeBound } from './export-time.js';
import { verify, type DigestStatus, type VerifyReport } from './verify.js';

export { EXPORT_COLUMNS, EXPORT_FORMATS, FILTER_COLUMNS, type ExportFilters, type ExportFormat, type FilterColumn } from './export-query.js';
export { parseTimeBound, type TimeBound } from './export-time.js';

/** Most rows per FETCH unless told otherwise. */
export const DEFAULT_FETCH_ROWS = 5_000;
/** What a batch should hold, in characters of its lines: fewer rows per FETCH when rows are large. */
const BATCH_CHARS = 512 * 1024;

export interface ExportOptions {
  /** Inclusive lower bound on occurred_at: an ISO 8601 date or timestamp ({@link parseTimeBound}). */
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

/** `<file>.manifest.json`. */
export interface ExportManifest {
  manifestVersion: 1;
  /** The data file's name (it lies next to the manifest). */
  file: string;
  format: ExportFormat;
  columns: string[];
  /** Half-open: occurred_at >= from and occurred_at < to. */
  range: { column: 'occurred_at'; from: string; to: string };
  /** Exact-match filters by column (any of the values); empty when none. */
  filters: ExportFilters;
  /** Rows are in ascending id order. */
  order: 'id';
  rows: number;
  bytes: number;
  /** SHA-256 of the data file, hex. */
  sha256: string;
  firstId: string | null;
  lastId: string | null;
  /** When the export's snapshot was taken (the database's clock). */
  exportedAt: string;
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

/** Raised when an export stops because its signal was aborted. */
export class ExportAbortedError extends Error {
  constructor() {
    super('export interrupted');
    this.name = 'ExportAbortedError';
  }
}

/** The manifest's path for a data file. */
export function manifestPath(file: string): string {
  return `${file}.manifest.json`;
}

interface CoveringDigest {
  id: number;
  sealedFrom: Date | null;
  sealedTo: Date | null;
}

interface StreamResult {
  rows: number;
  bytes: number;
  sha256: string;
  firstId: string | null;
  lastId: string | null;
  exportedAt: string;
  sealedUpToId: string | null;
  unsealedRows: number;
  covering: CoveringDigest[];
  hiddenRows: number | null;
}

/**
 * Export the records of [from, to) to `out`, write `<out>.manifest.json` and
 * the `audit.export` record. Throws on failure, leaving neither file; a
 * verification that fails is not a failure: see `manifest.verification`.
 */
export async function exportRecords(db: Database, exportOptions: ExportOptions): Promise<ExportResult> {
  // Bounds as the manifest and the audit record state them (retention compares them).
  const from = parseTimeBound(exportOptions.from, 'from');
  const to = parseTimeBound(exportOptions.to, 'to');
  if (from.us >= to.us) throw new Error(`from ${from.iso} is not before to ${to.iso}: the range [from, to) is empty`);
  const options = { ...exportOptions, from: from.iso, to: to.iso };
  const file = resolve(options.out);
  const manifestFile = manifestPath(file);
  const filters = normaliseFilters(options.filters ?? {});
  await checkTarget(file, manifestFile, options.force === true);
  await preflight(db);

  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tempData = join(dirname(file), `.${basename(file)}.${tag}.tmp`);
  const tempManifest = join(dirname(file), `.${basename(manifestFile)}.${tag}.tmp`);
  let dataHandle: FileHandle | undefined;
  let streamStarted = false;
  let logged = false;
  let placed = false;
  try {
    dataHandle = await open(tempData, 'wx', 0o600);
    const handle = dataHandle;
    streamStarted = true;
    const stream = await db.transaction((tx) => streamRows(tx, handle, filters, options));
    await handle.sync();
    await handle.close();
    dataHandle = undefined;

    const verification = await verifyCovering(db, stream, options);
    const attributes = {
      from: options.from,
      to: options.to,
      filters,
      format: options.format,
      rows: stream.rows,
      bytes: stream.bytes,
      sha256: stream.sha256,
      first_id: stream.firstId,
      last_id: stream.lastId,
      verified: verification.verified,
      hidden_rows: stream.hiddenRows,
      file,
      manifest: manifestFile,
    };
    const logResult = await db.query<{ id: string }>(
      "SELECT audit.log_operation('audit.export', $1, 'export', $2, 'success', $3::jsonb)::text AS id",
      [options.actor, basename(file), JSON.stringify(attributes)],
    );
    logged = true;
    const manifest: ExportManifest = {
      manifestVersion: 1,
      file: basename(file),
      format: options.format,
      columns: [...EXPORT_COLUMNS],
      range: { column: 'occurred_at', from: options.from, to: options.to },
      filters,
      order: 'id',
      rows: stream.rows,
      bytes: stream.bytes,
      sha256: stream.sha256,
      firstId: stream.firstId,
      lastId: stream.lastId,
      exportedAt: stream.exportedAt,
      exportedBy: options.actor,
      tool: { name: 'otel-audit', version: VERSION },
      database: db.description,
      verification,
      hiddenRows: stream.hiddenRows,
      auditRecordId: logResult.rows[0]?.id ?? '',
    };
    await writeDurably(tempManifest, `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tempData, file);
    placed = true;
    await rename(tempManifest, manifestFile);
    await syncDirectory(dirname(file));
    return { manifest, file, manifestFile };
  } catch (err) {
    if (dataHandle) await dataHandle.close().catch(() => undefined);
    await rm(tempData, { force: true }).catch(() => undefined);
    await rm(tempManifest, { force: true }).catch(() => undefined);
    // A file without its manifest is no export.
    if (placed) await rm(file, { force: true }).catch(() => undefined);
    if (streamStarted && !logged) await logFailure(db, options, filters, file, err);
    throw err;
  }
}

/** Filters without empty lists, values deduplicated, in FILTER_COLUMNS order. */
function normaliseFilters(filters: ExportFilters): ExportFilters {
  const out: ExportFilters = {};
  for (const column of FILTER_COLUMNS) {
    const values = filters[column];
    if (values && values.length > 0) out[column] = [...new Set(values)];
  }
  return out;
}

async function checkTarget(file: string, manifestFile: string, force: boolean): Promise<void> {
  const dir = dirname(file);
  const dirStat = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? `directory ${dir} does not exist` : `cannot use directory ${dir}: ${err.message}`);
  });
  if (!dirStat.isDirectory()) throw new Error(`${dir} is not a directory`);
  for (const path of [file, manifestFile]) {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new Error(`${path} is a directory`);
    if (existing && !force) throw new Error(`${path} exists (--force replaces it)`);
  }
}

/** The schema must have the records and the export's audit function, which this role may run. */
async function preflight(db: Database): Promise<void> {
  const { rows } = await db.query<{ records: boolean; log_operation: boolean; range_row_count: boolean; may_log: boolean | null }>(
    `SELECT to_regclass('audit.records') IS NOT NULL AS records,
            to_regprocedure('audit.range_row_count(timestamptz,timestamptz,jsonb)') IS NOT NULL AS range_row_count,
            to_regprocedure('audit.log_operation(text,text,text,text,text,jsonb)') IS NOT NULL AS log_operation,
            CASE WHEN to_regprocedure('audit.log_operation(text,text,text,text,text,jsonb)') IS NOT NULL
                 THEN has_function_privilege('audit.log_operation(text,text,text,text,text,jsonb)', 'EXECUTE') END AS may_log`,
  );
  const r = rows[0];
  if (!r?.records) throw new Error(`${db.description} has no audit.records table: run "otel-audit migrate" first`);
  if (!r.log_operation) throw new Error(`${db.description} lacks audit.log_operation (migration 000003): run "otel-audit migrate" first`);
  if (!r.range_row_count) throw new Error(`${db.description} lacks audit.range_row_count (migration 000006): run "otel-audit migrate" first`);
  if (r.may_log !== true) {
    throw new Error('this database role may not run audit.log_operation, which records the export; grant it audit_reader, audit_auditor or audit_admin');
  }
}

async function streamRows(tx: Transaction, handle: FileHandle, filters: ExportFilters, options: ExportOptions): Promise<StreamResult> {
  const fetchRows = Math.max(1, Math.floor(options.fetchRows ?? DEFAULT_FETCH_ROWS));
  await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  // A service role (audit_service) reads the tenant named in app.tenant_id: one tenant filter names it.
  const tenants = filters.tenant_id;
  if (tenants?.length === 1) await tx.query("SELECT set_config('app.tenant_id', $1, true)", [tenants[0]]);

  const { rows: head } = await tx.query<{ now: string; sealed_up_to: string | null }>(
    `SELECT ${isoTimestampSql('now()')} AS now,
            (SELECT max(last_id) FROM audit.digests WHERE kind = 'seal' AND last_id >= first_id)::text AS sealed_up_to`,
  );
  const exportedAt = head[0]?.now ?? new Date().toISOString();
  const sealedUpToId = head[0]?.sealed_up_to ?? null;

  const { where, params } = exportWhere(options.from, options.to, filters);
  let total: number | undefined;
  if (options.countFirst) {
    const { rows } = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit.records r ${where}`, params);
    total = Number(rows[0]?.n ?? 0);
  }
  // Shortest exact text of double precision values, whatever the role's settings.
  await tx.query('SET LOCAL extra_float_digits = 1');
  await tx.query(`DECLARE otel_audit_export NO SCROLL CURSOR FOR ${exportSelectSql(options.format, where)}`, params);

  const out = new HashingWriter(handle.fd);
  if (options.format === 'csv') out.add(CSV_HEADER);

  const idOf = (row: { line: string }): string => lineId(options.format, row.line);
  const fetch = (n: number): Promise<{ rows: { line: string }[] }> => tx.query<{ line: string }>(`FETCH FORWARD ${n} FROM otel_audit_export`);
  let rows = 0;
  let firstId: string | null = null;
  let lastId: string | null = null;
  let unsealedRows = 0;
  // While one batch is written the next is being fetched: Postgres formats
  // rows while this process hashes and writes. At most two batches in
  // memory, each of about BATCH_CHARS: the row count adapts to the row size.
  let asked = Math.min(fetchRows, 100);
  let next: ReturnType<typeof fetch> | undefined = fetch(asked);
  while (next) {
    const batch = (await next).rows;
    next = undefined;
    if (batch.length === 0) break;
    const first = batch[0] as { line: string };
    const last = batch[batch.length - 1] as { line: string };
    if (batch.length === asked) {
      const perRow = Math.max(1, (first.line.length + last.line.length) / 2);
      asked = Math.max(1, Math.min(fetchRows, Math.floor(BATCH_CHARS / perRow)));
      next = fetch(asked);
    }
    if (options.signal?.aborted) {
      await next?.catch(() => undefined);
      throw new ExportAbortedError();
    }
    firstId ??= idOf(first);
    lastId = idOf(last);
    unsealedRows += countAbove(batch, sealedUpToId, idOf);
    try {
      for (const row of batch) out.add(row.line);
    } catch (err) {
      await next?.catch(() => undefined);
      throw err;
    }
    rows += batch.length;
    options.onProgress?.({ rows, bytes: out.bytes + out.pending, total });
  }
  out.flush();
  await tx.query('CLOSE otel_audit_export');
  if (options.signal?.aborted) throw new ExportAbortedError();

  // Without a tenant filter the export is meant to hold every row of the
  // range: count them as the database holds them (same snapshot), whatever
  // this role's row-level security lets it read.
  let hiddenRows: number | null = null;
  if (tenants === undefined) {
    const { rest } = splitTenant(filters);
    const { rows: all } = await tx.query<{ n: string }>('SELECT audit.range_row_count($1::timestamptz, $2::timestamptz, $3::jsonb)::text AS n', [
      options.from,
      options.to,
      JSON.stringify(rest),
    ]);
    hiddenRows = Math.max(0, Number(all[0]?.n ?? 0) - rows);
  }

  // The seal digests covering the exported ids, as of the same snapshot.
  let covering: CoveringDigest[] = [];
  if (firstId !== null && lastId !== null) {
    const { rows: digests } = await tx.query<{ id: number; sealed_from: Date | null; sealed_to: Date | null }>(
      `SELECT id::int AS id, sealed_from, sealed_to FROM audit.digests
        WHERE kind = 'seal' AND first_id <= $2::bigint AND last_id >= $1::bigint AND last_id >= first_id ORDER BY id`,
      [firstId, lastId],
    );
    covering = digests.map((d) => ({ id: d.id, sealedFrom: d.sealed_from, sealedTo: d.sealed_to }));
  }
  return { rows, bytes: out.bytes, sha256: out.digest(), firstId, lastId, exportedAt, sealedUpToId, unsealedRows, covering, hiddenRows };
}

function splitTenant(filters: ExportFilters): { rest: ExportFilters } {
  const { tenant_id: _tenant, ...rest } = filters;
  return { rest };
}

/**
 * Collects lines as UTF-8 in one reused buffer, hashes it and writes it out
 * (synchronously) when full. A batch is copied out in one synchronous pass,
 * so its strings are garbage before the next await and die young: the heap
 * stays small. Writes go to the page cache; blocking the loop for them costs
 * nothing here, the database keeps computing the next batch meanwhile.
 */
class HashingWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private readonly hash = createHash('sha256');
  /** Bytes written to the file so far. */
  bytes = 0;

  constructor(private readonly fd: number) {}

  /** Bytes added but not written yet. */
  get pending(): number {
    return this.used;
  }

  add(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const worst = text.length * 3;
    if (this.buf.length - this.used < worst) {
      this.flush();
      if (this.buf.length < worst) this.buf = Buffer.allocUnsafe(worst);
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }

  flush(): void {
    if (this.used === 0) return;
    const chunk = this.buf.subarray(0, this.used);
    this.hash.update(chunk);
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset, chunk.length - offset);
    this.bytes += chunk.length;
    this.used = 0;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Compares two non-negative decimal integers given as text. */
function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

/** How many rows of an id-ordered batch have an id above `limit` (all when nothing is sealed). */
function countAbove<T>(batch: readonly T[], limit: string | null, idOf: (row: T) => string): number {
  if (limit === null) return batch.length;
  const last = batch[batch.length - 1];
  if (last === undefined || compareIds(idOf(last), limit) <= 0) return 0;
  // Binary search for the first id above the limit.
  let lo = 0;
  let hi = batch.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(idOf(batch[mid] as T), limit) > 0) hi = mid;
    else lo = mid + 1;
  }
  return batch.length - lo;
}

function idInRange(id: string, first: string, last: string): boolean {
  return compareIds(id, first) >= 0 && compareIds(id, last) <= 0;
}

/**
 * Verify the digests covering the exported ids. verify() checks the rows of
 * the seals whose window (sealed_from..sealed_to) overlaps the one asked
 * for, and the chain's links whole; asking for the windows of the covering
 * digests (widened by a millisecond: Dates drop microseconds) checks the rows
 * of at least those, and `records` makes sure the rows of every seal
 * meeting the exported ids are checked.
 */
async function verifyCovering(db: Database, stream: StreamResult, options: ExportOptions): Promise<ExportVerification> {
  const unsealedRows = stream.unsealedRows;
  const base = { sealedUpToId: stream.sealedUpToId, sealedRows: stream.rows - unsealedRows, unsealedRows };
  if (options.verify === false) return { checked: false, verified: null, digests: [], findings: [], otherFindings: 0, ...base };
  const { firstId, lastId, covering } = stream;
  if (firstId === null || lastId === null || covering.length === 0) {
    return { checked: true, verified: true, digests: [], findings: [], otherFindings: 0, ...base };
  }
  options.onVerifying?.(covering.length);
  const wanted = new Set(covering.map((d) => d.id));
  const keys = options.keys && options.keys.length > 0 ? { keys: options.keys } : {};
  const window: { from?: Date; to?: Date } = {};
  // A digest without sealed_from (the first) or sealed_to overlaps any window on that side.
  if (covering.every((d) => d.sealedFrom !== null)) {
    window.from = new Date(Math.min(...covering.map((d) => (d.sealedFrom as Date).getTime())) - 1);
  }
  if (covering.every((d) => d.sealedTo !== null)) {
    window.to = new Date(Math.max(...covering.map((d) => (d.sealedTo as Date).getTime())) + 1);
  }
  const allChecked = (r: VerifyReport): boolean => [...wanted].every((id) => r.digests.some((d) => d.id === id && d.rowsChecked));
  let report: VerifyReport;
  try {
    report = await verify(db, { ...window, records: { firstId, lastId }, ...keys });
  } catch (err) {
    // The file is complete and correct as read; only the proof is missing.
    const message = `verification failed to run: ${err instanceof Error ? err.message : String(err)}`;
    return { checked: true, verified: false, digests: [], findings: [{ kind: 'error', message }], otherFindings: 0, ...base };
  }
  const digests: ManifestDigest[] = report.digests.filter((d) => wanted.has(d.id)).map(({ rowsChecked, ...d }) => ({ ...d, ok: d.ok && rowsChecked }));
  const concerns = (f: VerifyReport['findings'][number]): boolean =>
    f.digestId !== undefined ? wanted.has(f.digestId) : f.recordId !== undefined ? idInRange(f.recordId, firstId, lastId) : true;
  const findings = report.findings.filter(concerns).map((f) => ({ ...f }));
  const complete = allChecked(report);
  return {
    checked: true,
    verified: complete && digests.every((d) => d.ok) && findings.length === 0,
    digests,
    findings,
    otherFindings: report.findings.length - findings.length,
    ...base,
  };
}

async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the renames durable; not every file system lets a directory be synced. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms: the renames stand, only less durably.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** An export that read rows and then failed is recorded too (best effort: the database may be the reason). */
async function logFailure(db: Database, options: ExportOptions, filters: ExportFilters, file: string, err: unknown): Promise<void> {
  const attributes = {
    from: options.from,
    to: options.to,
    filters,
    format: options.format,
    file,
    error: err instanceof Error ? err.message : String(err),
  };
  try {
    await db.query("SELECT audit.log_operation('audit.export', $1, 'export', $2, 'failure', $3::jsonb)", [
      options.actor,
      basename(file),
      JSON.stringify(attributes),
    ]);
  } catch {
    // The original error is what the caller reports.
  }
}
