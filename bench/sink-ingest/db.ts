/**
 * The benchmark's database: the columns the sink's writer inserts (from the
 * contract), counting and emptying audit.records, reading back what the sink
 * stored.
 */
import type pg from 'pg';
import { ROW_FIELD_COLUMNS } from '../../src/contract/columns.ts';
import type { CpuUse } from '../lib/cpu.ts';
import { fmt } from '../lib/report.ts';

/** The columns the sink's writer inserts from a record's fields (src/contract/columns.ts), in its order. */
export const COLUMNS = ROW_FIELD_COLUMNS.map((c) => c.name);
export const COLUMN_LIST = COLUMNS.join(', ');
/** What makes a record a duplicate (the unique key of audit.records). */
export const ON_CONFLICT = 'ON CONFLICT (identity_key, occurred_at) DO NOTHING';

/** A stored row as text, in COLUMNS order. */
export type TextRow = (string | null)[];

export async function countRecords(admin: pg.Client): Promise<number> {
  const r = await admin.query<{ n: string }>('SELECT count(*) AS n FROM audit.records');
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Empty table, settled server: every phase starts from the same state. The
 * append-only triggers refuse TRUNCATE for every role; in this throw-away
 * database the superuser skips them for this statement only (triggers do not
 * fire under session_replication_role = replica).
 */
export async function resetTable(admin: pg.Client): Promise<void> {
  await admin.query('BEGIN');
  await admin.query('SET LOCAL session_replication_role = replica');
  await admin.query('TRUNCATE audit.records, audit.emitters');
  await admin.query('COMMIT');
  await admin.query('CHECKPOINT');
}

/** The stored rows as text, in the insert's column order. */
export async function fetchRows(admin: pg.Client, limit: number | undefined): Promise<TextRow[]> {
  const res = await admin.query<TextRow>({
    text: `SELECT ${COLUMNS.map((c) => `${c}::text`).join(', ')} FROM audit.records ORDER BY id${limit !== undefined ? ` LIMIT ${limit}` : ''}`,
    rowMode: 'array',
  });
  return res.rows;
}

/** A run that stored rows in audit.records: how many, how fast, at what CPU. */
export interface StoreRun {
  records: number;
  wallMs: number;
  /** Rows stored per second of wall time. */
  rate: number;
  cpu: CpuUse;
  stored: number;
}

/** Counts what a run of `records` stored; its wall time is the CPU window's unless given. */
export async function storeRun(admin: pg.Client, records: number, cpu: CpuUse, wallMs = cpu.wallMs): Promise<StoreRun> {
  const stored = await countRecords(admin);
  return { records, wallMs, rate: (1000 * stored) / wallMs, cpu, stored };
}

/** Throws unless audit.records holds `expected` rows after `what`. */
export function checkStored(stored: number, expected: number, what: string): void {
  if (stored !== expected) throw new Error(`${what}: ${fmt(stored)} rows in audit.records, expected ${fmt(expected)}`);
}
