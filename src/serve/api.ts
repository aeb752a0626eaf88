/**
 * The JSON API: one function per route, each running as the token's role
 * in one transaction that also writes the read's `audit.view` record.
 *
 * | route | answer |
 * |---|---|
 * | `GET /api/session` | the token's name, role, tenants, and the modules it sees |
 * | `GET /api/records?filters&cursor&limit` | a page of records, newest first, and the next cursor |
 * | `GET /api/records/:id` | every column, the before/after diff, the seal and its check, the trace link |
 * | `GET /api/stats?filters&bucket` | counts per bucket, module, action and outcome |
 * | `POST /api/exports?filters&format` | the compliance export of the filter (file + manifest) |
 * | `GET /api/exports/:file` | a file of an export this token made |
 */
import type { KeyProvider } from '../crypto/kek.js';
import type { Database } from '../db/database.js';
import { EXPORT_FORMATS, type ExportFormat } from '../compliance/export.js';
import { asViewer, recordView, type Viewer } from './access.js';
import { parseRecordId, readRow, recordDetail, type RecordDetail } from './detail.js';
import { describeFilter, parseFilter } from './filters.js';
import { HttpError } from './http-error.js';
import { listModules, pageRows, searchRecords, withoutEnvelopes, type Page } from './search.js';
import { revealRecords, viewerKek, withActorIndex } from './reveal.js';
import { recordStats, type Stats } from './stats.js';
import { exportForViewer, type ViewerExport } from './viewer-export.js';

export interface ApiContext {
  db: Database;
  statementTimeoutMs: number;
  exportStatementTimeoutMs: number;
  traceUrl: string | undefined;
  exportDir: string;
  /** The key-encryption key of encrypted records, for tokens with `decrypt`. */
  kek: KeyProvider | undefined;
}

export interface Session {
  name: string;
  role: string;
  allTenants: boolean;
  tenants: string[];
  modules: string[];
  traceLinks: boolean;
  /** Encrypted personal fields read in clear (the token may decrypt and the server has the key). */
  decrypt: boolean;
}

export function session(ctx: ApiContext, viewer: Viewer): Promise<Session> {
  return asViewer(ctx.db, viewer, ctx.statementTimeoutMs, async (tx) => ({
    name: viewer.token.name,
    role: viewer.token.role,
    allTenants: viewer.access.allTenants,
    tenants: viewer.access.tenants,
    modules: await listModules(tx),
    traceLinks: ctx.traceUrl !== undefined,
    decrypt: viewerKek(ctx.kek, viewer) !== undefined,
  }));
}

export function listRecords(ctx: ApiContext, viewer: Viewer, params: URLSearchParams): Promise<Page> {
  const filter = parseFilter(params);
  const rows = pageRows(params.get('limit'));
  const cursor = params.get('cursor');
  const kek = viewerKek(ctx.kek, viewer);
  return asViewer(ctx.db, viewer, ctx.statementTimeoutMs, async (tx) => {
    const page = await searchRecords(tx, await withActorIndex(tx, kek, filter), cursor, rows);
    await revealRecords(tx, kek, page.records);
    await recordView(tx, viewer, {
      resourceType: 'records',
      attributes: { kind: 'search', filters: describeFilter(filter), page: cursor ? 'next' : 'first', rows: page.records.length, decrypted: kek !== undefined },
    });
    return withoutEnvelopes(page);
  });
}

export async function showRecord(ctx: ApiContext, viewer: Viewer, idText: string): Promise<RecordDetail> {
  const id = parseRecordId(idText);
  const kek = viewerKek(ctx.kek, viewer);
  const detail = await asViewer(ctx.db, viewer, ctx.statementTimeoutMs, async (tx) => {
    const row = await readRow(tx, id);
    // A record that does not exist and one hidden from this role look the same, and both are recorded.
    await recordView(tx, viewer, {
      resourceType: 'record',
      resourceId: id,
      outcome: row ? 'success' : 'failure',
      attributes: { kind: 'record', found: row !== undefined, decrypted: kek !== undefined },
    });
    return row ? recordDetail(tx, row, ctx.traceUrl, kek) : undefined;
  });
  if (!detail) throw new HttpError(404, 'not_found', 'no such record');
  return detail;
}

export function stats(ctx: ApiContext, viewer: Viewer, params: URLSearchParams, now = new Date()): Promise<Stats> {
  const filter = parseFilter(params);
  return asViewer(ctx.db, viewer, ctx.statementTimeoutMs, async (tx) => {
    const result = await recordStats(tx, await withActorIndex(tx, viewerKek(ctx.kek, viewer), filter), params.get('bucket'), now);
    await recordView(tx, viewer, {
      resourceType: 'stats',
      attributes: { kind: 'stats', filters: { ...describeFilter(filter), from: result.from, to: result.to }, bucket: result.bucket, rows: result.rows.length },
    });
    return result;
  });
}

export function createExport(ctx: ApiContext, viewer: Viewer, params: URLSearchParams): Promise<ViewerExport> {
  const filter = parseFilter(params);
  const format = params.get('format') ?? 'jsonl';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new HttpError(400, 'bad_format', `format must be one of ${EXPORT_FORMATS.join(', ')}`);
  return exportForViewer(ctx.db, viewer, filter, format as ExportFormat, ctx.exportDir, ctx.exportStatementTimeoutMs, viewerKek(ctx.kek, viewer));
}
