/**
 * The command line of bench/export.ts: its usage text and options.
 */
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commonOptions, DATABASE_OPTIONS, databaseOptions, positive, UsageError, type CommonOptions, type DatabaseOptions } from '../lib/args.ts';
import { DEFAULT_PG_URL } from '../lib/pg.ts';

export const USAGE = `Usage: node bench/export.ts [options]

Loads --rows audit records into a fresh Postgres database, then runs
"node dist/cli.js export" over all of them, as CSV and as JSON lines, and
reports rows/s, peak RSS (the export process's maximum resident set) and the
CPU that the exporter and Postgres used, against the rows/s of psql's \\copy of
the same rows (SELECT * … ORDER BY id, CSV, to /dev/null): what Postgres
itself takes to produce them. Uses dist/ (run \`npm run build\` first), psql,
and Postgres at --pg-url.

Options:
  --pg-url URL         server to use (default ${DEFAULT_PG_URL})
  --database NAME      database to create (default otel_audit_bench_export);
                       dropped at the end unless --keep-database or --reuse
  --rows N             records to load (default 5000000)
  --reuse              use the database if it holds exactly --rows records
                       (besides the exports' own audit.export records; else
                       load it anew), and keep it: for repeated runs
  --keep-database      do not drop the database at the end
  --formats LIST       of csv, jsonl, ocsf (default csv,jsonl)
  --rounds N           exports per format, interleaved; medians (default 2)
  --fetch-rows N       passed to the exporter (default: its own)
  --no-baseline        skip the psql \\copy runs
  --no-check           skip comparing the files' SHA-256 with the manifests
  --out-dir DIR        where the exports are written, then deleted
                       (default: a new temp directory)
  --cpu-prof           profile the exporter (node --cpu-prof) and print the
                       functions and packages with the most self time
  --cpu-prof-dir DIR   where profiles go (default: a new temp directory)
  --top N              rows of the profile summary (default 20)
  --write              replace the results section of bench/README.md
  --verbose            print what the exporter printed
  --help               print this text
`;

export type Format = 'csv' | 'jsonl' | 'ocsf';
const FORMATS: readonly string[] = ['csv', 'jsonl', 'ocsf'];

export interface Options extends CommonOptions, DatabaseOptions {
  rows: number;
  reuse: boolean;
  formats: Format[];
  rounds: number;
  fetchRows: number | undefined;
  baseline: boolean;
  check: boolean;
  outDir: string | undefined;
}

export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DATABASE_OPTIONS,
      rows: { type: 'string' },
      reuse: { type: 'boolean' },
      formats: { type: 'string' },
      rounds: { type: 'string' },
      'fetch-rows': { type: 'string' },
      baseline: { type: 'boolean' },
      check: { type: 'boolean' },
      'out-dir': { type: 'string' },
      ...COMMON_OPTIONS,
    },
    strict: true,
    allowNegative: true,
  });
  if (values.help) return undefined;
  const formats = (values.formats ?? 'csv,jsonl').split(',').map((s) => s.trim()).filter(Boolean);
  for (const f of formats) if (!FORMATS.includes(f)) throw new UsageError(`--formats: unknown format "${f}" (${FORMATS.join(', ')})`);
  if (formats.length === 0) throw new UsageError('--formats: none given');
  const db = databaseOptions(values, 'otel_audit_bench_export');
  return {
    ...db,
    rows: positive('rows', values.rows, 5_000_000),
    reuse: values.reuse === true,
    keepDatabase: db.keepDatabase || values.reuse === true,
    formats: [...new Set(formats)] as Format[],
    rounds: positive('rounds', values.rounds, 2),
    fetchRows: values['fetch-rows'] === undefined ? undefined : positive('fetch-rows', values['fetch-rows'], 0),
    baseline: values.baseline !== false,
    check: values.check !== false,
    outDir: values['out-dir'],
    ...commonOptions(values),
  };
}
