/**
 * Compliance export: the audit records of a time range, optionally filtered,
 * as CSV, JSON lines or OCSF events (JSON lines), with a manifest that lets
 * anyone check the file later (row count, SHA-256, first and last id) and
 * says whether the tamper-evidence digests covering the exported rows
 * verified.
 *
 * - Streams through a server-side cursor in one read-only REPEATABLE READ
 *   transaction (export-stream.ts): memory stays bounded by two batches,
 *   whatever the range, and the file, the count and the digests chosen all
 *   describe one snapshot.
 * - Postgres formats each row into its line (export-query.ts); this process
 *   concatenates, hashes and writes.
 * - The data goes to a temporary file next to the target, renamed into place
 *   only when complete, with its manifest: a failed export leaves no file.
 * - The export is itself audited: an `audit.export` record, written through
 *   `audit.log_operation` (owner's rights, so read-only roles are audited
 *   too) before the files appear under their names.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Database } from '../db/database.js';
import { VERSION } from '../contract/version.js';
import { checkTarget, manifestPath, syncDirectory, writeDurably } from './export-files.js';
import { EXPORT_COLUMNS, FILTER_COLUMNS, type ExportFilters } from './export-query.js';
import { streamRows } from './export-stream.js';
import { parseTimeBound } from './export-time.js';
import type { ExportManifest, ExportOptions, ExportResult } from './export-types.js';
import { verifyCovering } from './export-verify.js';
import { OCSF_CLASS, OCSF_VERSION } from './ocsf.js';

export { EXPORT_COLUMNS, EXPORT_FORMATS, FILTER_COLUMNS, type ExportFilters, type ExportFormat, type FilterColumn } from './export-query.js';
export { ExportAbortedError } from './export-stream.js';
export { parseTimeBound, type TimeBound } from './export-time.js';
export { manifestPath } from './export-files.js';
export {
  DEFAULT_FETCH_ROWS, type ExportedData, type ExportManifest, type ExportOptions, type ExportProgress, type ExportResult, type ExportVerification,
  type ManifestDigest, type ManifestFinding,
} from './export-types.js';

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
    const stream = await db.transaction((tx) => streamRows(tx, handle.fd, filters, options));
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
      decrypted: options.kek !== undefined,
      ...(options.kek === undefined && options.maskEncrypted === true ? { encrypted_fields: 'masked' } : {}),
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
      columns: options.format === 'ocsf' ? [] : [...EXPORT_COLUMNS],
      ...(options.format === 'ocsf' ? { ocsf: { version: OCSF_VERSION, class_uid: OCSF_CLASS.uid, class_name: OCSF_CLASS.name } } : {}),
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
