/**
 * Sink ingest: how fast the otel-audit sink stores audit records in
 * Postgres, against the physical limit (COPY) and what a home-grown design
 * does (one INSERT per row), plus the latency of an export at a steady rate.
 * Its write methods compare side by side as sink configurations
 * (`--sink-args="--write-method copy" --sink-args="--write-method unnest"`).
 * See bench/README.md.
 *
 *   node bench/sink-ingest.ts [--exports 200] [--records-per-export 500] [--clients 4] ...
 *
 * One run creates a fresh database, starts the sink (`node dist/cli.js sink`,
 * which migrates it) and measures, truncating `audit.records` between phases:
 *   sink     pre-serialized OTLP/gRPC ExportLogsServiceRequests sent by
 *            concurrent in-process clients as fast as they are acknowledged
 *            (bench/sink-ingest/through-sink.ts)
 *   copy     the same rows, exported as CSV, loaded with psql's \copy
 *   insert   the same rows, one autocommitted INSERT per row over a pg.Pool
 *            (both bench/sink-ingest/baselines.ts)
 *   latency  a steady rate through the sink (half of what it reached above);
 *            time from call to OK (committed) per export
 *   scaled   the real collector (otelcol-scaled.yaml) in front of two sinks
 *            against one: records/s into Postgres of each, and the ratio
 *            (bench/sink-ingest/scaled.ts)
 * With --cpu-prof, the sink's profile says where its time went, its decoder
 * included.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { commandLine } from './lib/args.ts';
import { startAuditSink, type AuditSink } from './lib/audit-sink.ts';
import { CLI, dropDatabase, recreateDatabase, serverVersion, withClient } from './lib/pg.ts';
import { checkBuild, runMain } from './lib/proc.ts';
import { inclusiveUs, printProfileSummary, summarizeProfile } from './lib/profile.ts';
import { fmt, writeReadme } from './lib/report.ts';
import { copyLoad, exportCsv, perRowInsert } from './sink-ingest/baselines.ts';
import { checkStored, fetchRows, resetTable, type TextRow } from './sink-ingest/db.ts';
import { parseOptions, USAGE, type Options } from './sink-ingest/options.ts';
import { makeBatches, makeEmitters, serialize, type Payload } from './sink-ingest/records.ts';
import { markdown, medianRun, perRecord, printReport, share, type ConfigResult, type Results } from './sink-ingest/report.ts';
import { scaledRuns } from './sink-ingest/scaled.ts';
import { exporterWarmup, sinkLatency, sinkThroughput, type SinkRun, type WarmupRun } from './sink-ingest/through-sink.ts';


/** Postgres settings the report names: what the figures depend on. */
const PG_SETTINGS = ['shared_buffers', 'synchronous_commit', 'wal_level', 'max_wal_size', 'fsync'];
/** The sink's decoder of ExportLogsServiceRequests (src/otlp/wire-logs.ts), as its profile names it. */
const SINK_DECODER = 'decodeLogsWire';

function sinkRunLine(label: string, round: number, rounds: number, s: SinkRun): string {
  return `round ${round}/${rounds}  ${label}: ${fmt(s.stored)}/${fmt(s.records)} stored in ${fmt(s.wallMs)} ms, ${fmt(s.rate)} records/s; ` +
    `batches ${fmt(s.batches.batches)} × ${fmt(s.batches.rowsPerBatch)} rows, ${fmt(s.batches.msPerBatch, 1)} ms; ` +
    `CPU µs/record sink ${perRecord(s.cpu.serverMs, s.records)}, Postgres ${perRecord(s.cpu.pgMs, s.records)}, client ${perRecord(s.cpu.clientMs, s.records)}, ` +
    `other processes ${share(s.cpu.otherMs, s.cpu.wallMs)} of the machine` + (s.retries ? `, ${s.retries} retries` : '');
}

/** Where the sink's time went, per record through it: packages, functions, and its decoder with what it calls. */
function printSinkProfile(file: string, top: number, records: number): void {
  const summary = summarizeProfile(file, (rel) => (rel.startsWith('dist/') ? `otel-audit ${rel}` : rel));
  console.log(`\nProfile of the sink (${file})`);
  console.log(`  busy ${(summary.busyUs / 1e6).toFixed(1)} s for ${fmt(records)} records (all phases through the sink, start-up included)`);
  console.log(`  decoding (${SINK_DECODER}, with what it calls): ${fmt(inclusiveUs(summary, SINK_DECODER) / Math.max(1, records), 2)} µs/record`);
  printProfileSummary(summary, { top, count: records, unit: 'record', digits: 2, ownersHeading: 'self time by file or package:', withInclusive: true });
}

/** Rows the sink stored in its first round, kept for the phases that load them again. */
interface StoredRows {
  csvFiles: Map<number, string[]> | undefined;
  insertRows: TextRow[];
}

interface Run {
  opts: Options;
  dbUrl: string;
  tmp: string;
  admin: pg.Client;
  /** Connects `admin` the first time (once a sink has migrated the database). */
  connectAdmin: () => Promise<void>;
  results: Results;
  sinkPayloads: Payload[];
  stored: StoredRows;
}

/** Sink throughput rounds, COPY runs interleaved (first configuration only), then latency: one sink configuration. */
async function measureConfig(run: Run, sink: AuditSink, config: ConfigResult, first: boolean): Promise<void> {
  const { opts, admin, results, stored } = run;
  const sinkRecords = opts.exports * opts.recordsPerExport;
  if (opts.phases.has('sink')) {
    for (let round = 1; round <= opts.rounds; round++) {
      const s = await sinkThroughput(sink, admin, run.sinkPayloads, opts);
      config.runs.push(s);
      console.log(sinkRunLine(config.label, round, opts.rounds, s));
      checkStored(s.stored, sinkRecords, 'sink');
      if (first && round === 1) {
        if (opts.phases.has('copy')) stored.csvFiles = await exportCsv(run.dbUrl, run.tmp, opts.copyProcs, sinkRecords);
        if (opts.phases.has('insert')) stored.insertRows = await fetchRows(admin, opts.insertRows);
      }
      await resetTable(admin);
      // COPY runs interleave with the sink's rounds: both see the machine at the same times.
      if (first && stored.csvFiles) {
        for (const procs of opts.copyProcs) {
          const c = await copyLoad(run.dbUrl, admin, stored.csvFiles.get(procs) as string[], sinkRecords);
          checkStored(c.stored, sinkRecords, `COPY (${procs} psql)`);
          results.copy.set(procs, [...(results.copy.get(procs) ?? []), c]);
          console.log(`round ${round}/${opts.rounds}  COPY, ${procs} psql: ${fmt(c.stored)} rows in ${fmt(c.wallMs)} ms, ${fmt(c.rate)} records/s; ` +
            `CPU µs/record Postgres ${perRecord(c.cpu.pgMs, c.records)}, psql ${perRecord(c.cpu.toolsMs, c.records)}, ` +
            `other processes ${share(c.cpu.otherMs, c.cpu.wallMs)} of the machine`);
          await resetTable(admin);
        }
      }
    }
  }
  if (opts.phases.has('latency')) {
    let maxRate: number | undefined;
    if (opts.rate === undefined) {
      // The maximum of this run: the throughput rounds' median, or one throughput run now.
      if (config.runs.length === 0) {
        const s = await sinkThroughput(sink, admin, run.sinkPayloads, opts);
        checkStored(s.stored, sinkRecords, 'sink (maximum for the latency phase)');
        console.log(sinkRunLine(`${config.label}, maximum for the latency phase`, 1, 1, s));
        config.maxProbe = s;
        await resetTable(admin);
      }
      maxRate = medianRun(config.runs.length ? config.runs : [config.maxProbe as SinkRun]).rate;
    }
    const rate = opts.rate ?? opts.latencyLoad * (maxRate as number);
    const l = await sinkLatency(sink, admin, latencyPayloads(opts, rate), opts, rate);
    l.maxRate = maxRate;
    config.latency = l;
    console.log(`${config.label}: latency at ${fmt(rate)} records/s${maxRate === undefined ? '' : ` (${fmt(100 * opts.latencyLoad)} % of ${fmt(maxRate)})`}: ` +
      `p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms, max ${fmt(l.max, 1)} ms (${fmt(l.stored)}/${fmt(l.records)} stored, ${fmt(l.achievedRate)} records/s sent)`);
    checkStored(l.stored, l.records, 'latency');
    await resetTable(admin);
  }
}

/** The requests of the scaled runs: --scaled-records in requests of --records-per-export. */
function scaledPayloads(opts: Options): Payload[] {
  const exports = Math.max(1, Math.ceil(opts.scaledRecords / opts.recordsPerExport));
  return serialize(makeBatches(makeEmitters('scaled', opts.clients), exports, opts.recordsPerExport));
}

/** The requests of the latency phase at `rate` records/s for --latency-duration seconds, serialized ahead of it. */
function latencyPayloads(opts: Options, rate: number): Payload[] {
  const exports = Math.max(1, Math.round((opts.latencyDuration * rate) / opts.rateBatch));
  return serialize(makeBatches(makeEmitters(`steady${Math.round(rate)}`, opts.clients), exports, opts.rateBatch));
}

interface SinkConfig {
  label: string;
  /** The flags of --sink-args. */
  args: string[];
  /** What the sink is started with: `args`, and the encryption flags under --encryption. */
  launch: string[];
  encryption: 'off' | 'on' | undefined;
}

/** The sink configurations of --sink-args; under --encryption each twice, encryption off then on (a new KEK in `tmp`). */
function sinkConfigs(opts: Options, tmp: string): SinkConfig[] {
  let kek: string | undefined;
  return opts.sinkConfigs.flatMap((args): SinkConfig[] => {
    const label = args.length ? `sink ${args.join(' ')}` : 'sink (defaults)';
    if (!opts.encryption) return [{ label, args, launch: args, encryption: undefined }];
    if (kek === undefined) {
      kek = join(tmp, 'kek');
      writeFileSync(kek, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    }
    return [
      { label: `${label}, encryption off`, args, launch: [...args, '--no-encryption'], encryption: 'off' },
      { label: `${label}, encryption on`, args, launch: [...args, '--encryption-key-file', kek], encryption: 'on' },
    ];
  });
}

/** A configuration's result before its runs. */
function configResult(c: SinkConfig): ConfigResult {
  return { label: c.label, args: c.args, encryption: c.encryption, runs: [], latency: undefined, warmup: undefined, maxProbe: undefined };
}

/** The warm-up of a fresh sink with the official exporter (`tag` names its emitters), checked. */
async function warmUp(run: Run, sink: AuditSink, tag: string): Promise<WarmupRun> {
  const { opts, admin } = run;
  const warm = makeBatches(makeEmitters(tag, opts.clients), Math.ceil(opts.warmup / opts.recordsPerExport), opts.recordsPerExport);
  const w = await exporterWarmup(sink, admin, warm);
  checkStored(w.stored, w.records, 'warm-up');
  return w;
}

/**
 * Under --encryption (sink phase only, not profiled): every round starts a
 * fresh sink of each configuration in turn, off, on, off, on, …, each warmed
 * up first, so that neither the moments of the machine nor the drift of one
 * process between runs favours a side (one process per side gave the same
 * configuration 85 µs/record in one run and 98 in the next).
 */
async function interleavedRounds(run: Run, onSink: (sink: AuditSink | undefined) => void): Promise<void> {
  const { opts, admin } = run;
  const configs = sinkConfigs(opts, run.tmp).map((c) => ({ c, result: configResult(c) }));
  for (const { result } of configs) run.results.configs.push(result);
  for (let round = 1; round <= opts.rounds; round++) {
    for (const [ci, { c, result }] of configs.entries()) {
      const sink = await startAuditSink(run.dbUrl, { extra: c.launch });
      onSink(sink);
      if (round === 1 && ci === 0) await run.connectAdmin();
      if (opts.warmup > 0) {
        const w = await warmUp(run, sink, `warm${round}-${ci}`);
        result.warmup ??= w;
      }
      await resetTable(admin);
      const s = await sinkThroughput(sink, admin, run.sinkPayloads, opts);
      result.runs.push(s);
      console.log(sinkRunLine(result.label, round, opts.rounds, s));
      checkStored(s.stored, opts.exports * opts.recordsPerExport, 'sink');
      await resetTable(admin);
      await sink.stop();
      onSink(undefined);
      if (opts.verbose) process.stderr.write(`--- sink output (${result.label}, round ${round}) ---\n${sink.output()}\n---\n`);
    }
  }
}

/** Every sink configuration in turn, a sink process each (profiled with --cpu-prof). */
async function throughSink(run: Run, onSink: (sink: AuditSink | undefined) => void): Promise<void> {
  const { opts, admin } = run;
  if (opts.encryption && opts.cpuProfDir === undefined && opts.withoutIndex.length === 0 && [...opts.phases].every((p) => p === 'sink')) {
    await interleavedRounds(run, onSink);
    return;
  }
  for (const [ci, c] of sinkConfigs(opts, run.tmp).entries()) {
    const { label, launch } = c;
    const profile = opts.cpuProfDir ? join(opts.cpuProfDir, `sink-${ci + 1}.cpuprofile`) : undefined;
    const sink = await startAuditSink(run.dbUrl, { extra: launch, profile });
    onSink(sink);
    if (ci === 0) {
      await run.connectAdmin();
      // Indexes left out on purpose (what an index costs), once the sink has migrated.
      for (const name of opts.withoutIndex) await admin.query(`DROP INDEX audit.${name}`);
    }
    const config = configResult(c);
    run.results.configs.push(config);
    if (opts.warmup > 0) {
      const w = await warmUp(run, sink, `warm${ci}`);
      config.warmup = w;
      console.log(`${label}: warm-up with OTLPLogExporter: ${fmt(w.stored)}/${fmt(w.records)} stored, ${fmt(w.rate)} records/s, ` +
        `client ${fmt(w.clientUsPerRecord, 1)} µs/record`);
    }
    await resetTable(admin);
    await measureConfig(run, sink, config, ci === 0);
    await sink.stop();
    onSink(undefined);
    if (opts.verbose) process.stderr.write(`--- sink output (${label}) ---\n${sink.output()}\n---\n`);
    if (profile && existsSync(profile)) {
      const through = config.runs.reduce((n, s) => n + s.records, 0) + (config.latency?.records ?? 0) + (config.warmup?.records ?? 0);
      printSinkProfile(profile, opts.top, through);
    }
  }
}

/** The per-row INSERT baseline, on the rows the sink stored. */
async function afterSink(run: Run): Promise<void> {
  const { opts, admin, results, stored } = run;
  if (opts.phases.has('insert') && stored.insertRows.length) {
    const i = await perRowInsert(run.dbUrl, admin, stored.insertRows, opts.insertClients);
    checkStored(i.stored, stored.insertRows.length, 'per-row INSERT');
    results.insert = i;
    console.log(`per-row INSERT, ${i.clients} connections: ${fmt(i.stored)} rows in ${fmt(i.wallMs)} ms, ${fmt(i.rate)} records/s; ` +
      `CPU µs/record Postgres ${perRecord(i.cpu.pgMs, i.records)}, client ${perRecord(i.cpu.clientMs, i.records)}`);
    await resetTable(admin);
  }
}

/** The requests of the sink phase, serialized ahead of time (the latency phase's follow once its rate is known). */
function payloads(opts: Options): { sinkPayloads: Payload[] } {
  const t = performance.now();
  const sinkPayloads = serialize(makeBatches(makeEmitters('bench', opts.clients), opts.exports, opts.recordsPerExport));
  const mb = (sinkPayloads.reduce((n, p) => n + p.bytes.length, 0) / 1024 / 1024).toFixed(1);
  console.log(`sink-ingest: ${fmt(opts.exports * opts.recordsPerExport)} records in ${opts.exports} requests (${mb} MiB, ` +
    `${fmt((sinkPayloads[0]?.bytes.length ?? 0) / opts.recordsPerExport)} bytes per record), serialized in ${fmt(performance.now() - t)} ms`);
  return { sinkPayloads };
}

/** The section of bench/README.md that --write replaces. */
function readmeSection(opts: Options): string {
  if (opts.encryption) return 'sink-ingest:encryption';
  return opts.sinkConfigs.length > 1 ? 'sink-ingest:sweep' : 'sink-ingest:results';
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(CLI);
  const dbUrl = `${opts.pgUrl}/${opts.database}`;
  await recreateDatabase(opts.pgUrl, opts.database);
  const server = await withClient(`${opts.pgUrl}/postgres`, async (c) => {
    const settings: Record<string, string> = {};
    for (const name of PG_SETTINGS) {
      const res = await c.query<Record<string, string>>(`SHOW ${name}`);
      settings[name] = Object.values(res.rows[0] ?? {})[0] ?? '?';
    }
    return { version: await serverVersion(c), settings };
  });
  const tmp = mkdtempSync(join(os.tmpdir(), 'otel-audit-sink-ingest-'));
  const admin = new pg.Client({ connectionString: dbUrl });
  const results: Results = {
    configs: [],
    copy: new Map(),
    insert: undefined,
    settings: server.settings,
    serverVersion: server.version,
    clientsNote: `${opts.clients} in-process gRPC clients`,
    scaled: undefined,
  };
  let sink: AuditSink | undefined;
  let failed = false;
  try {
    let adminConnected = false;
    const connectAdmin = async (): Promise<void> => {
      if (adminConnected) return;
      adminConnected = true;
      await admin.connect();
    };
    const run: Run = { opts, dbUrl, tmp, admin, connectAdmin, results, ...payloads(opts), stored: { csvFiles: undefined, insertRows: [] } };
    if (opts.phases.has('sink') || opts.phases.has('latency')) await throughSink(run, (s) => (sink = s));
    await afterSink(run);
    if (opts.phases.has('scaled')) results.scaled = await scaledRuns({ dbUrl, admin, connectAdmin, tmp, opts, payloads: scaledPayloads(opts) });
    printReport(opts, results);
    if (opts.write) writeReadme(markdown(opts, results), readmeSection(opts));
  } catch (err) {
    failed = true;
    console.error(err);
    if (sink && opts.verbose) process.stderr.write(`--- sink output ---\n${sink.output()}\n---\n`);
  } finally {
    if (sink) await sink.stop();
    await admin.end().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    if (!opts.keepDatabase) await dropDatabase(opts.pgUrl, opts.database);
  }
  return failed ? 1 : 0;
}

runMain(main);
