/**
 * "Export" in the viewer: the current filter through the compliance export
 * (`exportRecords`: file + manifest + `audit.export` record), run as the
 * token's role so that the file holds exactly what the viewer may see.
 * Files go to the server's export directory; only the token that made an
 * export may download it.
 */
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { exportRecords, type ExportFilters, type ExportFormat, type ExportManifest } from '../compliance/export.js';
import { FILTER_COLUMNS } from '../compliance/export-query.js';
import type { KeyProvider } from '../crypto/kek.js';
import type { Database } from '../db/database.js';
import { viewerDatabase, type Viewer } from './access.js';
import type { RecordFilter } from './filters.js';
import { HttpError } from './http-error.js';

export interface ViewerExport {
  manifest: ExportManifest;
  /** File names in the export directory (the data and its manifest). */
  file: string;
  manifestFile: string;
}

/** The export's filters, or a 400 naming the filters the export cannot apply. */
export function exportFilters(filter: RecordFilter): ExportFilters {
  const out: ExportFilters = {};
  const refused: string[] = [];
  for (const [column, value] of Object.entries(filter.exact)) {
    if ((FILTER_COLUMNS as readonly string[]).includes(column)) out[column as (typeof FILTER_COLUMNS)[number]] = [value];
    else refused.push(column);
  }
  if (filter.q !== undefined) refused.push('q');
  if (refused.length > 0) {
    throw new HttpError(400, 'export_filter', `an export filters by ${FILTER_COLUMNS.join(', ')} and time only; remove ${refused.join(', ')}`);
  }
  if (filter.from === undefined || filter.to === undefined) throw new HttpError(400, 'export_range', 'an export needs a time range: from and to');
  return out;
}

export async function exportForViewer(
  db: Database,
  viewer: Viewer,
  filter: RecordFilter,
  format: ExportFormat,
  dir: string,
  timeoutMs: number,
  /** The key-encryption key the viewer may use: encrypted fields in clear; without it they read as `[encrypted]` or `[erased]`. */
  kek?: KeyProvider,
): Promise<ViewerExport> {
  const filters = exportFilters(filter);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const out = join(dir, `audit-${stamp}-${randomBytes(6).toString('hex')}.${format === 'csv' ? 'csv' : 'jsonl'}`);
  const result = await exportRecords(viewerDatabase(db, viewer, timeoutMs), {
    from: filter.from as string,
    to: filter.to as string,
    format,
    out,
    filters,
    actor: viewer.token.name,
    // Under row-level security the rows of other tenants would look deleted to verify.
    verify: viewer.access.allTenants,
    ...(kek ? { kek } : { maskEncrypted: true }),
  });
  return { manifest: result.manifest, file: basename(result.file), manifestFile: basename(result.manifestFile) };
}
