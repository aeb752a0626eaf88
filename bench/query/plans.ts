/**
 * The plans behind the query API's figures: the API's own query builders
 * (src/serve/search.ts, stats.ts, filters.ts), bundled here with esbuild so
 * that plain `node` can run them, are given a transaction that records each
 * statement; the statement is then run under EXPLAIN (ANALYZE, BUFFERS) as
 * the viewer's role. No SQL is restated here.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type pg from 'pg';
import { ROOT } from '../lib/proc.ts';

interface Tx {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  exec(sql: string): Promise<void>;
}
type Filter = object;
interface ServeSql {
  parseFilter(params: URLSearchParams): Filter;
  searchRecords(tx: Tx, filter: Filter, cursor: string | null, rows: number): Promise<unknown>;
  recordStats(tx: Tx, filter: Filter, bucket: string | null, now: Date): Promise<unknown>;
}

/** The API's query builders, compiled from src/. */
export async function loadServeSql(): Promise<ServeSql> {
  // Inside the package, so that the bundle's imports (pg, ...) resolve from its node_modules.
  mkdirSync(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'node_modules', '.cache', 'otel-audit-bench-query-'));
  try {
    const entry = join(dir, 'entry.ts');
    const out = join(dir, 'serve-sql.mjs');
    await build({
      stdin: {
        contents: `export { parseFilter } from './src/serve/filters.ts';
                   export { searchRecords } from './src/serve/search.ts';
                   export { recordStats } from './src/serve/stats.ts';`,
        resolveDir: ROOT,
        sourcefile: entry,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: out,
      logLevel: 'warning',
    });
    return (await import(pathToFileURL(out).href)) as ServeSql;
  } finally {
    // The module is loaded: the file is no longer needed.
    rmSync(dir, { recursive: true, force: true });
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of the statements `run` makes, as `role`. */
export async function explain(c: pg.Client, role: string, run: (tx: Tx) => Promise<unknown>): Promise<string> {
  const statements: { sql: string; params: unknown[] }[] = [];
  const tx: Tx = {
    async query<R>(sql: string, params: unknown[] = []) {
      statements.push({ sql, params });
      const r = await c.query(sql, params);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await c.query(sql);
    },
  };
  await c.query('BEGIN');
  try {
    await c.query(`SET LOCAL ROLE ${role}`);
    await run(tx);
    const plans: string[] = [];
    // The queries, not the settings made on the way (SET TRANSACTION ...).
    for (const s of statements.filter((st) => /^\s*(?:SELECT|WITH)\b/i.test(st.sql))) {
      const { rows } = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${s.sql}`, s.params);
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
    return plans.join('\n\n');
  } finally {
    await c.query('ROLLBACK');
  }
}
