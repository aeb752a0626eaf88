/**
 * Whether the digests covering the exported rows verified, for the manifest.
 */
import type { Database } from '../db/database.js';
import type { StreamResult } from './export-stream.js';
import type { ExportOptions, ExportVerification, ManifestDigest } from './export-types.js';
import { idInRange } from './record-ids.js';
import { verify, type VerifyReport } from './verify.js';

/**
 * Verify the digests covering the exported ids. verify() checks the rows of
 * the seals whose window (sealed_from..sealed_to) overlaps the one asked
 * for, and the chain's links whole; asking for the windows of the covering
 * digests (widened by a millisecond: Dates drop microseconds) checks the rows
 * of at least those, and `records` makes sure the rows of every seal
 * meeting the exported ids are checked.
 */
export async function verifyCovering(db: Database, stream: StreamResult, options: ExportOptions): Promise<ExportVerification> {
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
