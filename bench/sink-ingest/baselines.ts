/**
 * The baselines the sink is compared with, on the rows it stored: the
 * physical limit (psql \copy of CSV, by one or more psql processes) and a
 * home-grown design (one autocommitted INSERT per row over a pg.Pool).
 */
import pg from 'pg';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSnapshot, cpuUse } from '../lib/cpu.ts';
import { runPsql } from '../lib/pg.ts';
import { COLUMN_LIST, COLUMNS, ON_CONFLICT, storeRun, type StoreRun, type TextRow } from './db.ts';

/** The backends of psql exit after it; their CPU counts once the server has reaped them. */
const REAP_WAIT_MS = 300;

export interface CopyRun extends StoreRun {
  procs: number;
}

/** Writes the stored rows as CSV files, one per psql process of each count in `procs`. */
export async function exportCsv(dbUrl: string, dir: string, procs: number[], expected: number): Promise<Map<number, string[]>> {
  const all = join(dir, 'records.csv');
  await runPsql(dbUrl, `\\copy (SELECT ${COLUMN_LIST} FROM audit.records ORDER BY id) TO '${all}' WITH (FORMAT csv)`);
  const lines = readFileSync(all, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== expected) throw new Error(`CSV has ${lines.length} lines for ${expected} rows (a value with a line break?)`);
  const files = new Map<number, string[]>();
  for (const p of procs) {
    if (p === 1) {
      files.set(1, [all]);
      continue;
    }
    const names: string[] = [];
    const per = Math.ceil(lines.length / p);
    for (let k = 0; k < p; k++) {
      const name = join(dir, `records-${p}-${k}.csv`);
      writeFileSync(name, lines.slice(k * per, (k + 1) * per).map((l) => `${l}\n`).join(''));
      names.push(name);
    }
    files.set(p, names);
  }
  return files;
}

export async function copyLoad(dbUrl: string, admin: pg.Client, files: string[], records: number): Promise<CopyRun> {
  const c0 = cpuSnapshot(undefined);
  await Promise.all(files.map((f) => runPsql(dbUrl, `\\copy audit.records (${COLUMN_LIST}) FROM '${f}' WITH (FORMAT csv)`)));
  const wallMs = performance.now() - c0.atMs;
  await sleep(REAP_WAIT_MS);
  const c1 = cpuSnapshot(undefined);
  return { procs: files.length, ...(await storeRun(admin, records, cpuUse(c0, c1), wallMs)) };
}

export interface InsertRun extends StoreRun {
  clients: number;
}

const INSERT_ONE = `INSERT INTO audit.records (${COLUMN_LIST}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
${ON_CONFLICT}`;

/** One autocommitted INSERT per row, `clients` at a time. */
export async function perRowInsert(dbUrl: string, admin: pg.Client, rows: TextRow[], clients: number): Promise<InsertRun> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: clients });
  // Connected before the clock starts.
  const held = await Promise.all(Array.from({ length: clients }, () => pool.connect()));
  for (const c of held) c.release();
  const c0 = cpuSnapshot(undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const row = rows[next++];
        if (!row) return;
        await pool.query(INSERT_ONE, row);
      }
    }),
  );
  const c1 = cpuSnapshot(undefined);
  await pool.end();
  return { clients, ...(await storeRun(admin, rows.length, cpuUse(c0, c1))) };
}
