/**
 * Experiment, in the benchmark's process, on the rows the sink stored: batch
 * writers like the sink's (batches of rows, a few transactions at a time)
 * with the sink's unnest statement and variants, COPY into a staging table,
 * and plain COPY (the bound).
 */
import pg from 'pg';
import { copyIn } from '../../src/db/copy-in.ts';
import { cpuSnapshot, cpuUse } from '../lib/cpu.ts';
import { COLUMN_LIST, COLUMN_TYPES, COLUMNS, ON_CONFLICT, storeRun, type StoreRun, type TextRow } from './db.ts';

/** COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyText(rows: TextRow[]): Buffer {
  const out: string[] = [];
  for (const row of rows) {
    out.push(
      row
        .map((v) => (v === null ? '\\N' : /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v))
        .join('\t'),
    );
  }
  out.push('');
  return Buffer.from(out.join('\n'), 'utf8');
}

const UNNEST_SELECT = `SELECT * FROM unnest(${COLUMN_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
const STAGING = 'audit_staging';

export interface WriterStrategy {
  id: string;
  label: string;
  /** Once per connection. */
  setup?: string;
  /** Several statements: BEGIN … COMMIT around them (one statement is atomic by itself). */
  transaction?: boolean;
  write(client: pg.PoolClient, rows: TextRow[]): Promise<void>;
}

function columnsOf(rows: TextRow[]): TextRow[] {
  return COLUMNS.map((_, c) => rows.map((r) => r[c] ?? null));
}

export const WRITER_STRATEGIES: readonly WriterStrategy[] = [
  {
    id: 'unnest-cte',
    label: 'unnest + ON CONFLICT, inserted counted in a CTE (as the sink\'s writer)',
    async write(client, rows) {
      await client.query(`WITH r AS (INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT} RETURNING 1) SELECT count(*)::int AS inserted FROM r`, columnsOf(rows));
    },
  },
  {
    id: 'unnest-returning',
    label: 'unnest + ON CONFLICT + RETURNING 1, one row back per inserted row',
    async write(client, rows) {
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT} RETURNING 1`, columnsOf(rows));
    },
  },
  {
    id: 'unnest',
    label: 'unnest + ON CONFLICT, inserted from the command tag',
    async write(client, rows) {
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) ${UNNEST_SELECT} ${ON_CONFLICT}`, columnsOf(rows));
    },
  },
  {
    id: 'copy-staging',
    label: 'COPY into a temp staging table, INSERT … SELECT … ON CONFLICT',
    transaction: true,
    setup: `CREATE TEMP TABLE IF NOT EXISTS ${STAGING} (${COLUMNS.map((c, i) => `${c} ${COLUMN_TYPES[i] as string}`).join(', ')}) ON COMMIT DELETE ROWS`,
    async write(client, rows) {
      await copyIn(client, `COPY ${STAGING} (${COLUMN_LIST}) FROM STDIN`, copyText(rows));
      await client.query(`INSERT INTO audit.records (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${STAGING} ${ON_CONFLICT}`);
    },
  },
  {
    id: 'copy',
    label: 'COPY straight into audit.records (no idempotency: the bound)',
    async write(client, rows) {
      await copyIn(client, `COPY audit.records (${COLUMN_LIST}) FROM STDIN`, copyText(rows));
    },
  },
];

export interface WriterRun extends StoreRun {
  strategy: WriterStrategy;
}

/** Batches of `batch` rows, `concurrency` transactions at a time, like the sink's writer. */
export async function writerRun(dbUrl: string, admin: pg.Client, s: WriterStrategy, rows: TextRow[], batch: number, concurrency: number): Promise<WriterRun> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: concurrency });
  const held = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
  for (const c of held) {
    if (s.setup) await c.query(s.setup);
    c.release();
  }
  const c0 = cpuSnapshot(undefined);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const start = next;
        next += batch;
        if (start >= rows.length) return;
        const client = await pool.connect();
        try {
          if (s.transaction) await client.query('BEGIN');
          await s.write(client, rows.slice(start, start + batch));
          if (s.transaction) await client.query('COMMIT');
        } finally {
          client.release();
        }
      }
    }),
  );
  const c1 = cpuSnapshot(undefined);
  await pool.end();
  return { strategy: s, ...(await storeRun(admin, rows.length, cpuUse(c0, c1))) };
}
