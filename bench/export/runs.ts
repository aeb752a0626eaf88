/**
 * The runs of bench/export.ts: `otel-audit export` as a user runs it (under
 * GNU time for its peak RSS and CPU), and psql's \copy of the same rows, the
 * rate Postgres itself sustains; CPU of Postgres and of the machine around
 * each.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { machineBusyMs, postgresCpu, procStat } from '../lib/cpu.ts';
import { CLI, runPsql } from '../lib/pg.ts';
import { cpuProfArgs, runCommand } from '../lib/proc.ts';
import { fmt } from '../lib/report.ts';
import type { Format, Options } from './options.ts';

const GNU_TIME = '/usr/bin/time';

/** CPU of all Postgres processes so far, ms. */
function postgresCpuMs(): number {
  const p = postgresCpu();
  return p.backendsMs + p.otherMs;
}

export interface Run {
  label: string;
  format: Format | 'copy';
  rows: number;
  bytes: number;
  wallMs: number;
  rate: number;
  /** Peak RSS of the exporter, MB (1024² bytes); undefined for psql. */
  peakRssMb: number | undefined;
  /** CPU of the exporter (or psql), ms. */
  clientMs: number | undefined;
  pgMs: number;
  /** CPU of everything else on the machine during the run, ms. */
  otherMs: number | undefined;
  profile: string | undefined;
}

export interface Range {
  from: string;
  to: string;
  rows: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wallMs: number; pgMs: number; machineMs: number | undefined }> {
  const m0 = machineBusyMs();
  const p0 = postgresCpuMs();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const p1 = postgresCpuMs();
  const m1 = machineBusyMs();
  return { value, wallMs, pgMs: p1 - p0, machineMs: m0 === undefined || m1 === undefined ? undefined : m1 - m0 };
}

const LABELS: Record<Format, string> = { csv: 'CSV', jsonl: 'JSON lines', ocsf: 'OCSF' };

export async function exportRun(opts: Options, dbUrl: string, range: Range, format: Format, dir: string, round: number, check: boolean): Promise<Run> {
  const out = join(dir, `records.${format}`);
  const timing = join(dir, 'time.txt');
  const profile = opts.cpuProfDir ? join(opts.cpuProfDir, `export-${format}-${round}.cpuprofile`) : undefined;
  const cli = [
    ...cpuProfArgs(profile), CLI, 'export', '--from', range.from, '--to', range.to, '--format', format, '--out', out,
    '--database-url', dbUrl, '--as', 'otel-audit-bench', '--no-progress', '--force',
    ...(opts.fetchRows !== undefined ? ['--fetch-rows', String(opts.fetchRows)] : []),
  ];
  // GNU time gives the exact peak RSS (ru_maxrss) and the CPU of the child.
  const useTime = existsSync(GNU_TIME);
  const { value: result, wallMs, pgMs, machineMs } = await timed(() =>
    useTime ? runCommand(GNU_TIME, ['-f', '%M %U %S', '-o', timing, process.execPath, ...cli], opts.verbose) : runCommand(process.execPath, cli, opts.verbose),
  );
  if (result.code !== 0) throw new Error(`export ${format} exited with ${result.code}:\n${result.output}`);
  const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')) as { rows: number; bytes: number; sha256: string };
  if (manifest.rows !== range.rows) throw new Error(`export ${format}: ${fmt(manifest.rows)} rows, expected ${fmt(range.rows)}`);
  const size = statSync(out).size;
  if (size !== manifest.bytes) throw new Error(`export ${format}: the file has ${size} bytes, the manifest says ${manifest.bytes}`);
  if (check) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(out, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    const sha = hash.digest('hex');
    if (sha !== manifest.sha256) throw new Error(`export ${format}: SHA-256 ${sha} of the file, ${manifest.sha256} in the manifest`);
  }
  let peakRssMb: number | undefined;
  let clientMs: number | undefined;
  if (useTime) {
    const [maxKb, user, sys] = readFileSync(timing, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
    peakRssMb = (maxKb ?? 0) / 1024;
    clientMs = ((user ?? 0) + (sys ?? 0)) * 1000;
  }
  rmSync(out, { force: true });
  rmSync(`${out}.manifest.json`, { force: true });
  return {
    label: `otel-audit export, ${LABELS[format]}`,
    format,
    rows: manifest.rows,
    bytes: size,
    wallMs,
    rate: (manifest.rows * 1000) / wallMs,
    peakRssMb,
    clientMs,
    pgMs,
    otherMs: machineMs === undefined ? undefined : Math.max(0, machineMs - pgMs - (clientMs ?? 0)),
    profile,
  };
}

/** psql's \copy of the same rows, all columns as Postgres prints them, to /dev/null: the rate Postgres itself sustains. */
export async function copyRun(dbUrl: string, range: Range, verbose: boolean): Promise<Run> {
  const sql = `\\copy (SELECT * FROM audit.records WHERE occurred_at >= '${range.from}' AND occurred_at < '${range.to}' ORDER BY id) TO '/dev/null' WITH (FORMAT csv, HEADER)`;
  const before = procStat('self')?.childrenMs ?? 0;
  const { value: output, wallMs, pgMs, machineMs } = await timed(() => runPsql(dbUrl, sql, { quiet: false, verbose }));
  const copied = Number(/COPY (\d+)/.exec(output)?.[1] ?? NaN);
  if (copied !== range.rows) throw new Error(`psql \\copy: ${copied} rows, expected ${range.rows}`);
  const clientMs = (procStat('self')?.childrenMs ?? before) - before;
  return {
    label: 'psql \\copy, CSV (the ceiling)',
    format: 'copy',
    rows: copied,
    bytes: 0,
    wallMs,
    rate: (copied * 1000) / wallMs,
    peakRssMb: undefined,
    clientMs,
    pgMs,
    otherMs: machineMs === undefined ? undefined : Math.max(0, machineMs - pgMs - clientMs),
    profile: undefined,
  };
}

export function runLine(r: Run, round: number, rounds: number): string {
  const cpu = (ms: number | undefined): string => (ms === undefined ? '-' : fmt((1000 * ms) / r.rows, 1));
  return `round ${round}/${rounds}  ${r.label}: ${fmt(r.rows)} rows in ${fmt(r.wallMs / 1000, 1)} s, ${fmt(r.rate)} rows/s` +
    (r.peakRssMb !== undefined ? `, peak RSS ${fmt(r.peakRssMb)} MB` : '') +
    (r.bytes ? `, ${fmt(r.bytes / 1024 ** 2)} MiB` : '') +
    `; CPU µs/row: client ${cpu(r.clientMs)}, Postgres ${cpu(r.pgMs)}, other processes ${cpu(r.otherMs)}`;
}
