/**
 * `otel-audit export`: the audit records of a time range as CSV, JSON lines
 * or OCSF API Activity events, with a manifest (row count, SHA-256, digests that cover the rows).
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { OUTCOMES as RECORD_OUTCOMES } from '../contract/values.js';
import type { Database } from '../db/database.js';
import {
  DEFAULT_FETCH_ROWS, EXPORT_FORMATS, ExportAbortedError, exportRecords, parseTimeBound, type ExportFilters, type ExportFormat,
  type ExportProgress, type ExportResult, type FilterColumn,
} from '../compliance/export.js';
import { loadDigestKey, type DigestKey } from '../compliance/digest.js';
import { OCSF_CLASS, OCSF_VERSION } from '../compliance/ocsf.js';
import { loadKeyProvider, type KeyProvider } from '../crypto/kek.js';
import { DATABASE_HELP, databaseFlagsProblem, describeDbError, oneLine, openCliDatabase, warnPasswordInArgv } from './database.js';
import { parseCommand, usageError, type CommandValues } from './options.js';

const OUTCOMES: readonly string[] = RECORD_OUTCOMES;

const HELP = `Usage: otel-audit export --from TIME --to TIME --out FILE [options]

Writes the audit records whose occurred_at lies in [--from, --to) (from
inclusive, to exclusive) to FILE, in id order, as CSV, JSON lines or OCSF
events, and FILE.manifest.json beside it: range, filters, format, row count,
SHA-256 of FILE, first and last record id, the tamper-evidence digests that
cover the exported rows and whether they verified. Rows stream from the
database with bounded memory. FILE is written under a temporary name next to
it and renamed when complete: a failed export leaves no file. The export is
itself audited: an "audit.export" record names who exported what.

Required:
  --from TIME         start, inclusive: 2026-11-01, 2026-11-01T08:30:00Z,
                      2026-11-01T10:30:00.123456+02:00 (no zone: UTC)
  --to TIME           end, exclusive (--to 2026-12-01 ends with November)
  --out FILE          the file to write

Options:
  --format FORMAT     csv, jsonl, or ocsf (OCSF ${OCSF_VERSION} API Activity events,
                      one JSON object per line); default: from FILE's
                      extension (.csv; .jsonl, .ndjson; .ocsf.jsonl,
                      .ocsf.ndjson)
  --tenant ID         only these tenant_id values
  --actor ID          only these actor_id values
  --action NAME       only these actions, e.g. user.update
  --module NAME       only these modules
  --outcome VALUE     only these outcomes: success, failure, denied
                      (each filter: exact match; repeat the flag or give a
                      comma-separated list for several values)
  --as NAME           who exports, for the audit.export record (default: the
                      operating-system user)
  --force             replace FILE and FILE.manifest.json if they exist
  --key FILE          also check the digests' signatures: an Ed25519 public
                      or private key (PEM) or an HMAC secret file; repeatable
  --no-verify         skip checking the digests (the manifest says so)
  --encryption-key-file FILE
                      the key-encryption key of a sink that encrypts
                      personal fields: the file (any format) then holds
                      those fields in clear ("[erased]" for an erased
                      subject) and --actor
                      also finds encrypted actor ids; the audit.export
                      record says the export was decrypted. Without it the
                      fields are exported as stored (encrypted)
  --progress          progress bar on stderr (default: when stderr is a
                      terminal; --no-progress turns it off)
  --fetch-rows N      rows per round trip (default ${DEFAULT_FETCH_ROWS})
${DATABASE_HELP}
  --verbose           say which database; print stack traces of errors
  -h, --help          show this help

The database, first that applies:
  1. --database-url URL or --data-dir DIR
  2. DATABASE_URL, e.g. postgres://auditor@db.example.com:5432/audit
  3. PGHOST, PGPORT, PGDATABASE, PGUSER or PGSERVICE (any one set), with
     PGPASSWORD, PGSSLMODE, ... read as libpq reads them
  4. embedded Postgres (PGlite) in OTEL_AUDIT_DATA_DIR, else ./.otel-audit;
     one process at a time: stop a sink that uses it first

CSV (RFC 4180): a header row with the column names, records ending in CRLF;
text and JSON fields always in double quotes (quotes doubled), numbers and
timestamps bare, NULL an empty field, so "" is an empty string. JSON lines:
one object per record, JSON columns as objects. Timestamps are ISO 8601 in
UTC with microseconds. Columns: those of audit.records, in table order.
OCSF: one API Activity event (class_uid ${OCSF_CLASS.uid}) per record and line, times
in milliseconds since the epoch, attributes without a value left out; the
README maps each attribute to its column.

Without --tenant an export is meant to hold every record of the range: when
row-level security hides records from the database role (an audit_reader
sees only the tenants granted to it), the export says how many, the manifest
holds "hiddenRows", and the exit status is 4. With --tenant the file holds
those tenants on purpose.

Exit status: 0 when the export is complete and the digests covering it
verified (or none covers it yet), 3 when the export is complete but those
digests do not verify (see the manifest's "verification"), 4 when row-level
security hid records of the range from this role (incomplete without
--tenant), 1 on failure, 2 on bad usage, 130 when interrupted.
`;

/** Environment variables that select a Postgres server (as src/cli/database.ts reads them). */
const SERVER_VARIABLES = ['DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE'];

const FILTER_FLAGS: Record<'tenant' | 'actor' | 'action' | 'module' | 'outcome', FilterColumn> = {
  tenant: 'tenant_id',
  actor: 'actor_id',
  action: 'action',
  module: 'module',
  outcome: 'outcome',
};

interface Parsed {
  from: string;
  to: string;
  out: string;
  format: ExportFormat;
  filters: ExportFilters;
  actor: string | null;
  force: boolean;
  verify: boolean;
  keys: DigestKey[];
  kek: KeyProvider | undefined;
  progress: boolean;
  fetchRows: number;
  url: string | undefined;
  dataDir: string | undefined;
  verbose: boolean;
}

class UsageError extends Error {}

const OPTIONS = {
  from: { type: 'string' },
  to: { type: 'string' },
  out: { type: 'string', short: 'o' },
  format: { type: 'string' },
  tenant: { type: 'string', multiple: true },
  actor: { type: 'string', multiple: true },
  action: { type: 'string', multiple: true },
  module: { type: 'string', multiple: true },
  outcome: { type: 'string', multiple: true },
  as: { type: 'string' },
  key: { type: 'string', multiple: true },
  'encryption-key-file': { type: 'string' },
  force: { type: 'boolean' },
  verify: { type: 'boolean' },
  progress: { type: 'boolean' },
  'fetch-rows': { type: 'string' },
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

/** The export's settings from the parsed flags; throws {@link UsageError}. */
function parse(values: CommandValues<typeof OPTIONS>): Parsed {
  for (const name of ['from', 'to', 'out'] as const) {
    if (values[name] === undefined || values[name] === '') throw new UsageError(`--${name} is required`);
  }
  let from;
  let to;
  try {
    from = parseTimeBound(values.from as string, '--from');
    to = parseTimeBound(values.to as string, '--to');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (from.us >= to.us) throw new UsageError(`--from ${from.iso} is not before --to ${to.iso}: the range [from, to) is empty`);

  const out = values.out as string;
  let format = values.format;
  if (format === undefined) {
    const ext = extname(out).toLowerCase();
    const ocsf = extname(basename(out, extname(out))).toLowerCase() === '.ocsf';
    format = ext === '.csv' ? 'csv' : ext === '.jsonl' || ext === '.ndjson' ? (ocsf ? 'ocsf' : 'jsonl') : undefined;
    if (format === undefined) throw new UsageError(`--format is required: "${out}" does not end in .csv, .jsonl or .ndjson`);
  }
  if (!EXPORT_FORMATS.includes(format as ExportFormat)) throw new UsageError(`--format ${format}: expected ${EXPORT_FORMATS.join(', ')}`);

  const filters: ExportFilters = {};
  for (const [flag, column] of Object.entries(FILTER_FLAGS) as [keyof typeof FILTER_FLAGS, FilterColumn][]) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const list = raw.flatMap((v) => v.split(',')).map((v) => v.trim());
    if (list.some((v) => v === '')) throw new UsageError(`--${flag} needs a value (an empty item in "${raw.join(',')}")`);
    if (flag === 'outcome') {
      const bad = list.find((v) => !OUTCOMES.includes(v));
      if (bad !== undefined) throw new UsageError(`--outcome ${bad}: expected ${OUTCOMES.join(', ')}`);
    }
    filters[column] = list;
  }

  let fetchRows = DEFAULT_FETCH_ROWS;
  if (values['fetch-rows'] !== undefined) {
    fetchRows = Number(values['fetch-rows']);
    if (!Number.isInteger(fetchRows) || fetchRows < 1 || fetchRows > 1_000_000) {
      throw new UsageError(`--fetch-rows ${values['fetch-rows']}: expected a whole number from 1 to 1000000`);
    }
  }
  const url = values['database-url'];
  const dataDir = values['data-dir'];
  const dbProblem = databaseFlagsProblem(url, dataDir);
  if (dbProblem !== undefined) throw new UsageError(dbProblem);
  warnPasswordInArgv('export', url);
  if (values.as === '') throw new UsageError('--as needs a value');
  const keys: DigestKey[] = [];
  for (const path of values.key ?? []) {
    try {
      keys.push(loadDigestKey(path));
    } catch (err) {
      throw new UsageError(`--key ${path}: ${(err as Error).message}`);
    }
  }
  if (keys.length > 0 && values.verify === false) throw new UsageError('--key and --no-verify exclude each other');
  let kek: KeyProvider | undefined;
  try {
    kek = loadKeyProvider({ file: values['encryption-key-file'] });
  } catch (err) {
    throw new UsageError(`--encryption-key-file: ${(err as Error).message}`);
  }

  return {
    from: from.iso,
    to: to.iso,
    out,
    format: format as ExportFormat,
    filters,
    actor: values.as ?? osUser(),
    force: values.force === true,
    verify: values.verify !== false,
    keys,
    kek,
    progress: values.progress ?? process.stderr.isTTY === true,
    fetchRows,
    url,
    dataDir,
    verbose: values.verbose === true,
  };
}

function osUser(): string | null {
  try {
    return userInfo().username || null;
  } catch {
    // No passwd entry for this uid (some containers).
    return process.env.USER || process.env.LOGNAME || null;
  }
}

export async function exportCommand(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand('export', argv, OPTIONS, HELP, { allowNegative: true });
  if ('exit' in parsed) return parsed.exit;
  let opts: Parsed;
  try {
    opts = parse(parsed.values);
  } catch (err) {
    return usageError('export', (err as Error).message);
  }
  const { verbose } = opts;
  // The young generation would grow with the allocation rate (the driver
  // makes a string per row) up to several times the export's live data; kept
  // at its starting size it holds peak RSS near 100 MB for a few percent more
  // CPU. V8 reads this flag whenever it would grow the space. The process is
  // this command's alone, so the setting harms nothing else.
  setFlagsFromString('--semi-space-growth-factor=1');

  // Opening a directory that holds no database would create an empty one.
  const env: Record<string, string | undefined> = opts.dataDir !== undefined ? {} : process.env;
  if (opts.url === undefined && !SERVER_VARIABLES.some((name) => (env[name] ?? '') !== '')) {
    const dir = resolve(opts.dataDir ?? (process.env.OTEL_AUDIT_DATA_DIR || './.otel-audit'));
    if (!existsSync(join(dir, 'pgdata'))) {
      process.stderr.write(
        `otel-audit export: no embedded database in ${dir}; give --data-dir, or --database-url / DATABASE_URL for a Postgres server\n`,
      );
      return 1;
    }
  }

  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const progress = opts.progress ? new ProgressBar() : undefined;
  let db: Database | undefined;
  try {
    db = await openCliDatabase(opts.url, opts.dataDir, (err) => {
      if (verbose) process.stderr.write(`otel-audit export: ${oneLine(err)}\n`);
    });
    if (verbose) process.stderr.write(`database: ${db.description}\n`);
    const result = await exportRecords(db, {
      from: opts.from,
      to: opts.to,
      format: opts.format,
      out: opts.out,
      filters: opts.filters,
      actor: opts.actor,
      verify: opts.verify,
      keys: opts.keys,
      ...(opts.kek ? { kek: opts.kek } : {}),
      force: opts.force,
      fetchRows: opts.fetchRows,
      countFirst: progress !== undefined,
      signal: controller.signal,
      ...(progress ? { onProgress: (p: ExportProgress) => progress.update(p) } : {}),
      onVerifying: (n) => {
        progress?.done();
        if (verbose || progress) process.stderr.write(`verifying ${n} digest${n === 1 ? '' : 's'} covering the exported rows...\n`);
      },
    });
    progress?.done();
    return report(result);
  } catch (err) {
    progress?.done();
    if (err instanceof ExportAbortedError) {
      process.stderr.write('otel-audit export: interrupted; no file written\n');
      return 130;
    }
    process.stderr.write(`otel-audit export: ${describeDbError(err, db)}; no file written\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    if (db) {
      await db.close().catch((err: unknown) => {
        if (verbose) process.stderr.write(`otel-audit export: closing the database: ${oneLine(err)}\n`);
      });
    }
  }
}

/** The summary on stdout; the exit status. */
function report(result: ExportResult): number {
  const m = result.manifest;
  const v = m.verification;
  const ids = m.firstId === null ? 'no rows' : `ids ${m.firstId}..${m.lastId}`;
  const lines = [
    `exported ${fmt(m.rows)} record${m.rows === 1 ? '' : 's'} (${ids}) with occurred_at in [${m.range.from}, ${m.range.to}) to ${result.file}`,
    `  sha256    ${m.sha256}`,
    `  manifest  ${result.manifestFile}`,
  ];
  if (!v.checked) {
    lines.push('  digests   not checked (--no-verify)');
  } else if (v.digests.length === 0 && v.verified) {
    lines.push(m.rows === 0 ? '  digests   none (no rows)' : '  digests   none: no exported row is sealed yet');
  } else {
    const ok = v.digests.filter((d) => d.ok).length;
    lines.push(`  digests   ${v.digests.length} covering the exported rows, ${ok} verified${v.verified ? '' : ' — VERIFICATION FAILED'}`);
  }
  if (v.unsealedRows > 0 && m.rows > 0) lines.push(`  unsealed  ${fmt(v.unsealedRows)} exported row${v.unsealedRows === 1 ? '' : 's'} not sealed yet (ids above ${v.sealedUpToId ?? 'none'})`);
  const hidden = m.hiddenRows ?? 0;
  if (hidden > 0) lines.push(`  hidden    ${fmt(hidden)} record${hidden === 1 ? '' : 's'} of the range not readable by this database role (row-level security)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (hidden > 0) {
    process.stderr.write(
      `otel-audit export: INCOMPLETE: row-level security hid ${fmt(hidden)} of the range's ${fmt(m.rows + hidden)} records from this database role; ` +
        'the file holds only the tenants granted to it. Export as audit_auditor for every record, or name the tenants with --tenant.\n',
    );
  }
  if (v.verified === false) {
    const findings = v.findings.slice(0, 20).map((f) => `  - ${f.message}`);
    const more = v.findings.length > 20 ? [`  ... and ${v.findings.length - 20} more in the manifest`] : [];
    process.stderr.write(
      [`otel-audit export: the digests covering the exported rows do not verify; the file is complete, but its rows cannot be shown untampered:`, ...findings, ...more].join('\n') +
        '\n',
    );
    return hidden > 0 ? 4 : 3;
  }
  return hidden > 0 ? 4 : 0;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** A one-line progress bar on stderr (a terminal), redrawn at most ten times a second. */
class ProgressBar {
  private readonly started = Date.now();
  private last = 0;
  private shown = false;

  update(p: ExportProgress): void {
    const now = Date.now();
    if (now - this.last < 100 && (p.total === undefined || p.rows < p.total)) return;
    this.last = now;
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const rate = p.rows / seconds;
    const mb = (p.bytes / 1024 ** 2).toFixed(1);
    let text: string;
    if (p.total !== undefined && p.total > 0) {
      const share = Math.min(1, p.rows / p.total);
      const width = 24;
      const filled = Math.round(share * width);
      const eta = rate > 0 ? Math.max(0, (p.total - p.rows) / rate) : 0;
      text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${fmt(p.rows)}/${fmt(p.total)} rows  ${mb} MB  ${fmt(Math.round(rate))} rows/s  ETA ${clock(eta)}`;
    } else {
      text = `${fmt(p.rows)} rows  ${mb} MB  ${fmt(Math.round(rate))} rows/s`;
    }
    process.stderr.write(`\r\x1b[K${text}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
