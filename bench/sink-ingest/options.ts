/**
 * The command line of bench/sink-ingest.ts: its usage text, phases and
 * options.
 */
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commonOptions, DATABASE_OPTIONS, databaseOptions, positive, UsageError, type CommonOptions, type DatabaseOptions } from '../lib/args.ts';
import { DEFAULT_PG_URL, SQL_NAME } from '../lib/pg.ts';

export const USAGE = `Usage: node bench/sink-ingest.ts [options]

Measures how fast the otel-audit sink (dist/cli.js sink) stores audit records
in Postgres, on a fresh database that the sink migrates, against:
  copy      the same rows loaded with psql \\copy (CSV): the physical limit
  insert    the same rows, one autocommitted INSERT per row (pg.Pool)
the latency of an export at a steady rate through the sink (by default half
the rate the sink reached in the same run), and the real collector
(collector-config/otelcol-scaled.yaml, load_balancing exporter) in front of
two sinks against one (scaled). Prints a
table, the ratios sink ÷ COPY and sink ÷ per-row INSERT, and the CPU split
between the sink, Postgres and the client. The sink's write methods compare
side by side in one run as two sink configurations:
  --sink-args="--write-method copy" --sink-args="--write-method unnest"
(a row each in the table, each against the same COPY). Uses dist/ (run \`npm run build\`
first), psql, and Postgres at --pg-url (a database named --database is
created, and dropped at the end).

Options:
  --pg-url URL              server to use (default ${DEFAULT_PG_URL})
  --database NAME           database to create and drop (default otel_audit_bench)
  --keep-database           do not drop it at the end
  --phases LIST             comma-separated subset of sink,copy,insert,latency,scaled
                            (default all; copy and insert use the rows the
                            sink phase stored; latency without sink measures
                            the maximum with one run first; scaled needs the
                            collector built, \`npm run collector:build\`, and is
                            skipped, saying so, without it)
  --exports N               ExportLogsServiceRequests per sink run (default 200)
  --records-per-export N    log records per request (default 500)
  --clients N               concurrent gRPC clients, one call in flight each (default 4)
  --rounds N                sink and COPY runs, interleaved; medians (default 3)
  --warmup N                records sent first with the official OTLPLogExporter,
                            a sanity check and JIT warm-up, not measured (default 10000)
  --copy-procs LIST         parallel psql processes for COPY, e.g. 1,2 (default 1,2);
                            the fastest is the baseline
  --insert-rows N           rows for the per-row INSERT baseline (default 20000)
  --insert-clients N        pool size and concurrent INSERTs (default 8)
  --latency-load F          the latency phase's rate as a share of the sink's
                            measured records/s (median of its rounds; default 0.5)
  --rate N                  a fixed records/s for the latency phase instead
  --rate-batch N            records per export in the latency phase (default 50)
  --latency-duration S      seconds of the latency phase (default 20)
  --scaled-records N        records per scaled run (default 100000)
  --scaled-sinks N          sinks of the scaled run, against one (default 2)
  --scaled-rounds N         runs of one sink and of N, interleaved; medians (default 1)
  --sink-args=FLAGS         extra flags for the sink, e.g. --sink-args="--batch-rows
                            5000" (with the =); repeatable: each set is measured
                            in turn (sink and latency phases), a tuning sweep;
                            --sink-args= is the defaults
  --encryption              measure each sink configuration twice, encryption
                            off (--no-encryption) and on (--encryption-key-file:
                            a new key-encryption key in a temp directory, the
                            default columns), in alternating rounds (a fresh,
                            warmed-up sink each round; one after the other
                            with --cpu-prof or other phases), and report the
                            sink CPU per record encryption adds (medians)
                            (goal: at most 5 µs); phases default to sink alone
                            (scaled is refused); --write updates its own
                            section of bench/README.md
  --without-index NAME      drop this index of audit.records after the migration,
                            e.g. records_trace, to measure what it costs
                            (repeatable; the results say so)
  --cpu-prof                profile the sink (node --cpu-prof) and print the
                            functions and packages with the most self time, and
                            the time of its decoder per record
  --cpu-prof-dir DIR        where profiles go (default: a new temp directory)
  --top N                   rows of the profile summary (default 20)
  --write                   replace the results section of bench/README.md
                            (with several --sink-args: the sweep section)
  --verbose                 print what the sink logged
  --help                    print this text
`;

export type Phase = 'sink' | 'copy' | 'insert' | 'latency' | 'scaled';
const PHASES: readonly Phase[] = ['sink', 'copy', 'insert', 'latency', 'scaled'];

export interface Options extends CommonOptions, DatabaseOptions {
  phases: Set<Phase>;
  exports: number;
  recordsPerExport: number;
  clients: number;
  rounds: number;
  warmup: number;
  copyProcs: number[];
  insertRows: number;
  insertClients: number;
  /** A fixed rate of the latency phase, records/s; undefined: {@link latencyLoad} × the measured maximum. */
  rate: number | undefined;
  latencyLoad: number;
  rateBatch: number;
  scaledRecords: number;
  scaledSinks: number;
  scaledRounds: number;
  latencyDuration: number;
  sinkConfigs: string[][];
  withoutIndex: string[];
  /** Each sink configuration with encryption off and on. */
  encryption: boolean;
}

export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...DATABASE_OPTIONS,
      phases: { type: 'string' },
      exports: { type: 'string' },
      'records-per-export': { type: 'string' },
      clients: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      'copy-procs': { type: 'string' },
      'insert-rows': { type: 'string' },
      'insert-clients': { type: 'string' },
      rate: { type: 'string' },
      'latency-load': { type: 'string' },
      'scaled-records': { type: 'string' },
      'scaled-sinks': { type: 'string' },
      'scaled-rounds': { type: 'string' },
      'rate-batch': { type: 'string' },
      'latency-duration': { type: 'string' },
      'sink-args': { type: 'string', multiple: true },
      'without-index': { type: 'string', multiple: true },
      encryption: { type: 'boolean' },
      ...COMMON_OPTIONS,
    },
    strict: true,
  });
  if (values.help) return undefined;
  const phases = new Set<Phase>();
  // Under --encryption the point is the sink's CPU: its phase alone unless others are asked for.
  const defaultPhases = values.encryption === true ? 'sink' : PHASES.join(',');
  for (const p of (values.phases ?? defaultPhases).split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!PHASES.includes(p as Phase)) throw new UsageError(`--phases: unknown phase "${p}" (${PHASES.join(', ')})`);
    phases.add(p as Phase);
  }
  if (phases.size === 0) throw new UsageError('--phases: none given');
  if (values.encryption === true && phases.has('scaled')) throw new UsageError('--encryption: the scaled phase runs without encryption; leave it out of --phases');
  for (const p of ['copy', 'insert'] as const) {
    if (phases.has(p) && !phases.has('sink')) throw new UsageError(`--phases: ${p} needs the sink phase (it loads the rows the sink stored)`);
  }
  const copyProcs = (values['copy-procs'] ?? '1,2').split(',').map((s) => positive('copy-procs', s.trim(), 1));
  return {
    ...databaseOptions(values, 'otel_audit_bench'),
    phases,
    exports: positive('exports', values.exports, 200),
    recordsPerExport: positive('records-per-export', values['records-per-export'], 500),
    clients: positive('clients', values.clients, 4),
    rounds: positive('rounds', values.rounds, 3),
    warmup: values.warmup === '0' ? 0 : positive('warmup', values.warmup, 10_000),
    copyProcs: [...new Set(copyProcs)],
    insertRows: positive('insert-rows', values['insert-rows'], 20_000),
    insertClients: positive('insert-clients', values['insert-clients'], 8),
    rate: values.rate === undefined ? undefined : positive('rate', values.rate, 1, false),
    latencyLoad: positive('latency-load', values['latency-load'], 0.5, false),
    scaledRecords: positive('scaled-records', values['scaled-records'], 100_000),
    scaledSinks: positive('scaled-sinks', values['scaled-sinks'], 2),
    scaledRounds: positive('scaled-rounds', values['scaled-rounds'], 1),
    rateBatch: positive('rate-batch', values['rate-batch'], 50),
    latencyDuration: positive('latency-duration', values['latency-duration'], 20, false),
    sinkConfigs: (values['sink-args'] ?? ['']).map((s) => s.split(/\s+/).filter(Boolean)),
    withoutIndex: (values['without-index'] ?? []).map((name) => {
      if (!SQL_NAME.test(name)) throw new UsageError(`--without-index ${name}: not an index name`);
      return name;
    }),
    encryption: values.encryption === true,
    ...commonOptions(values),
  };
}
