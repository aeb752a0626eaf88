/**
 * Reading the rows of an export out of one snapshot: a server-side cursor
 * (`DECLARE … CURSOR`, `FETCH n`) in a read-only REPEATABLE READ transaction,
 * fetching the next batch while the current one is hashed and written, then
 * the counts and the covering digests as of that same snapshot.
 */
import type { Transaction } from '../db/database.js';
import { CSV_HEADER, exportSelectSql, exportWhere, lineId, type ExportFilters, type ExportLine } from './export-query.js';
import { DEFAULT_FETCH_ROWS, type ExportedData, type ExportOptions } from './export-types.js';
import { HashingWriter } from './hashing-writer.js';
import { isoTimestampSql } from './iso-timestamp-sql.js';
import { countAbove } from './record-ids.js';
import { blindIndex } from '../crypto/blind-index.js';
import { loadIndexKey } from '../crypto/index-key.js';
import { allKeys, readerKeys } from '../crypto/subject-keys.js';
import { OCSF_SEALED_SQL, revealExportLine } from './export-reveal.js';

/** What a batch should hold, in characters of its lines: fewer rows per FETCH when rows are large. */
const BATCH_CHARS = 512 * 1024;
/** Rows asked for by the first FETCH, before the row size is known. */
const FIRST_FETCH_ROWS = 100;

/** Raised when an export stops because its signal was aborted. */
export class ExportAbortedError extends Error {
  constructor() {
    super('export interrupted');
    this.name = 'ExportAbortedError';
  }
}

/** A seal digest whose id range meets the exported ids. */
export interface CoveringDigest {
  id: number;
  sealedFrom: Date | null;
  sealedTo: Date | null;
}

export interface StreamResult extends ExportedData {
  sealedUpToId: string | null;
  unsealedRows: number;
  covering: CoveringDigest[];
  hiddenRows: number | null;
}

/** Write the rows of the export to the file open as fd; runs inside tx, which it makes read-only. */
export async function streamRows(tx: Transaction, fd: number, filters: ExportFilters, options: ExportOptions): Promise<StreamResult> {
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

  // Encrypted records: every data key read (and checked) before the first row;
  // without the KEK, which keys are erased, when encrypted fields are to be masked.
  const keys = options.kek ? await allKeys(tx, options.kek) : options.maskEncrypted ? await readerKeys(tx, undefined) : undefined;
  const indexKey = options.kek ? await loadIndexKey(tx, options.kek, false) : undefined;
  const actorIndexes = indexKey ? (filters.actor_id ?? []).map((a) => blindIndex(indexKey, 'actor_id', a)) : [];
  const { where, params } = exportWhere(options.from, options.to, filters, actorIndexes);
  let total: number | undefined;
  if (options.countFirst) {
    const { rows } = await tx.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit.records r ${where}`, params);
    total = Number(rows[0]?.n ?? 0);
  }
  // Shortest exact text of double precision values, whatever the role's settings.
  await tx.query('SET LOCAL extra_float_digits = 1');
  await tx.query(`DECLARE otel_audit_export NO SCROLL CURSOR FOR ${exportSelectSql(options.format, where, keys ? OCSF_SEALED_SQL : undefined)}`, params);

  const out = new HashingWriter(fd);
  if (options.format === 'csv') out.add(CSV_HEADER);

  const idOf = (row: ExportLine): string => lineId(options.format, row);
  const fetch = (n: number): Promise<{ rows: ExportLine[] }> => tx.query<ExportLine>(`FETCH FORWARD ${n} FROM otel_audit_export`);
  let rows = 0;
  let firstId: string | null = null;
  let lastId: string | null = null;
  let unsealedRows = 0;
  // While one batch is written the next is being fetched: Postgres formats
  // rows while this process hashes and writes. At most two batches in
  // memory, each of about BATCH_CHARS: the row count adapts to the row size.
  let asked = Math.min(fetchRows, FIRST_FETCH_ROWS);
  let next: ReturnType<typeof fetch> | undefined = fetch(asked);
  while (next) {
    const batch = (await next).rows;
    next = undefined;
    if (batch.length === 0) break;
    const first = batch[0] as ExportLine;
    const last = batch[batch.length - 1] as ExportLine;
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
      for (const row of batch) out.add(keys ? revealExportLine(options.format, row, keys) : row.line);
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
