/**
 * The report of bench/sink-ingest.ts: the table of ways to store the records
 * (sink, COPY, per-row INSERT), goals, sink batches, latency, noise, as text and as the Markdown of bench/README.md.
 */
import * as os from 'node:os';
import { machineShare, type CpuUse } from '../lib/cpu.ts';
import { fmt, machine, mdTable, median, medianBy, textTable } from '../lib/report.ts';
import type { CopyRun, InsertRun } from './baselines.ts';
import type { Options } from './options.ts';
import { scaledLine, scaledRatio, type ScaledResult } from './scaled.ts';
import type { LatencyRun, SinkRun, WarmupRun } from './through-sink.ts';

/** Goals: the sink against COPY, its own CPU per record, latency at half its maximum, two sinks against one. */
const GOAL_VS_COPY = 0.6;
const GOAL_SINK_US_PER_RECORD = 15;
const GOAL_P99_MS = 1_000;
const GOAL_SCALED = 1.6;
/** Sink CPU per record that encrypting the personal fields (default columns) may add, µs. */
const GOAL_ENCRYPTION_US_PER_RECORD = 5;
/** Other processes using more than this share of the machine make a run noisy. */
const NOISE_SHARE = 0.05;

/** The run whose rate is the median (the lower middle one for an even count). */
export function medianRun<T extends { rate: number }>(runs: T[]): T {
  return medianBy(runs, (r) => r.rate);
}

/** CPU per record, µs, of one party; '-' when unknown. */
export function perRecord(ms: number | undefined, records: number): string {
  return ms === undefined ? '-' : fmt((1000 * ms) / Math.max(1, records), 1);
}

/** Share of the machine's cores, %. */
export function share(ms: number | undefined, wallMs: number): string {
  return ms === undefined ? '-' : `${fmt(100 * machineShare(ms, wallMs))} %`;
}

export interface ConfigResult {
  label: string;
  args: string[];
  /** Under --encryption: the sink with encryption off (--no-encryption) or on (a KEK, the default columns). */
  encryption: 'off' | 'on' | undefined;
  runs: SinkRun[];
  latency: LatencyRun | undefined;
  warmup: WarmupRun | undefined;
  /** The throughput run that measured the maximum for the latency phase, when the sink phase did not. */
  maxProbe: SinkRun | undefined;
}

export interface Results {
  configs: ConfigResult[];
  copy: Map<number, CopyRun[]>;
  insert: InsertRun | undefined;
  settings: Record<string, string>;
  serverVersion: string;
  clientsNote: string;
  scaled: ScaledResult | undefined;
}

const TABLE_HEADER = ['Way', 'records', 'records/s', 'vs COPY', 'sink µs/rec', 'Postgres µs/rec', 'client µs/rec', 'CPU: sink / Postgres / client / other', 'records/s per round'];

function bestCopy(r: Results): CopyRun | undefined {
  let best: CopyRun | undefined;
  for (const runs of r.copy.values()) {
    const m = medianRun(runs);
    if (!best || m.rate > best.rate) best = m;
  }
  return best;
}

function tableRows(r: Results): string[][] {
  const copy = bestCopy(r);
  const rows: string[][] = [];
  const cpuCells = (records: number, cpu: CpuUse): string[] => [
    perRecord(cpu.serverMs, records),
    perRecord(cpu.pgMs, records),
    perRecord(cpu.clientMs + cpu.toolsMs, records),
    [cpu.serverMs, cpu.pgMs, cpu.clientMs + cpu.toolsMs, cpu.otherMs].map((ms) => share(ms, cpu.wallMs)).join(' / '),
  ];
  for (const c of r.configs) {
    if (c.runs.length === 0) continue;
    const m = medianRun(c.runs);
    rows.push([
      `otel-audit sink${c.args.length ? ` (${c.args.join(' ')})` : ''}${c.encryption ? `, encryption ${c.encryption}` : ''}, ${r.clientsNote}`,
      fmt(m.records),
      fmt(m.rate),
      copy ? (m.rate / copy.rate).toFixed(2) : '-',
      ...cpuCells(m.records, m.cpu),
      c.runs.map((x) => fmt(x.rate)).join(' / '),
    ]);
  }
  for (const [procs, runs] of [...r.copy].sort((a, b) => a[0] - b[0])) {
    const m = medianRun(runs);
    rows.push([
      `COPY FROM csv, ${procs} psql process${procs > 1 ? 'es' : ''}`,
      fmt(m.records),
      fmt(m.rate),
      copy ? (m.rate / copy.rate).toFixed(2) : '-',
      '-',
      ...cpuCells(m.records, m.cpu).slice(1),
      runs.map((x) => fmt(x.rate)).join(' / '),
    ]);
  }
  if (r.insert) {
    const i = r.insert;
    rows.push([`per-row INSERT, autocommit, ${i.clients} connections`, fmt(i.records), fmt(i.rate), copy ? (i.rate / copy.rate).toFixed(3) : '-', '-', ...cpuCells(i.records, i.cpu).slice(1), fmt(i.rate)]);
  }
  return rows;
}

interface Goal {
  text: string;
  met: boolean;
}

/** The median over the rounds of the sink's CPU per record, µs (a CPU goal is judged on CPU, not on the run of median rate); undefined when unknown. */
function sinkUsPerRecord(c: ConfigResult): number | undefined {
  const us = c.runs.flatMap((r) => (r.cpu.serverMs === undefined ? [] : [(1000 * r.cpu.serverMs) / Math.max(1, r.records)]));
  return us.length === 0 ? undefined : median(us);
}

/** Under --encryption: each configuration with encryption on against the same one off, the sink CPU per record it adds. */
interface EncryptionCost {
  label: string;
  offUs: number;
  onUs: number;
  addedUs: number;
  offRate: number;
  onRate: number;
}

function encryptionCosts(r: Results): EncryptionCost[] {
  const out: EncryptionCost[] = [];
  r.configs.forEach((on, i) => {
    const off = r.configs[i - 1];
    if (on.encryption !== 'on' || off?.encryption !== 'off') return;
    const [offUs, onUs] = [sinkUsPerRecord(off), sinkUsPerRecord(on)];
    if (offUs === undefined || onUs === undefined) return;
    out.push({
      label: on.args.length ? `sink ${on.args.join(' ')}` : 'sink (defaults)',
      offUs,
      onUs,
      addedUs: onUs - offUs,
      offRate: medianRun(off.runs).rate,
      onRate: medianRun(on.runs).rate,
    });
  });
  return out;
}

function encryptionLines(r: Results): string[] {
  return encryptionCosts(r).map(
    (e) => `${e.label}: sink CPU ${fmt(e.offUs, 1)} µs/record with encryption off, ${fmt(e.onUs, 1)} on: encryption adds ${fmt(e.addedUs, 1)} µs/record; ` +
      `${fmt(e.offRate)} → ${fmt(e.onRate)} records/s (medians)`,
  );
}

function goals(r: Results): Goal[] {
  const out: Goal[] = [];
  const main = r.configs[0];
  const sink = main?.runs.length ? medianRun(main.runs) : undefined;
  const copy = bestCopy(r);
  if (sink && copy) {
    const ratio = sink.rate / copy.rate;
    out.push({ met: ratio >= GOAL_VS_COPY, text: `sink ≥ ${GOAL_VS_COPY} × COPY: ${ratio.toFixed(2)} (${fmt(sink.rate)} against ${fmt(copy.rate)} records/s)` });
  }
  if (sink?.cpu.serverMs !== undefined) {
    const us = (1000 * sink.cpu.serverMs) / Math.max(1, sink.records);
    out.push({ met: us <= GOAL_SINK_US_PER_RECORD, text: `sink CPU ≤ ${GOAL_SINK_US_PER_RECORD} µs/record: ${fmt(us, 1)} µs/record` });
  }
  if (main?.latency) {
    const l = main.latency;
    const load = l.maxRate === undefined ? `a fixed ${fmt(l.targetRate)} records/s` : `${fmt((100 * l.targetRate) / l.maxRate)} % of the maximum (${fmt(l.targetRate)} of ${fmt(l.maxRate)} records/s)`;
    out.push({ met: l.p99 <= GOAL_P99_MS, text: `p99 ≤ ${fmt(GOAL_P99_MS)} ms at ${load}: ${fmt(l.p99, 1)} ms` });
  }
  const enc = encryptionCosts(r)[0];
  if (enc) {
    out.push({ met: enc.addedUs <= GOAL_ENCRYPTION_US_PER_RECORD, text: `encryption adds ≤ ${GOAL_ENCRYPTION_US_PER_RECORD} µs sink CPU/record: ${fmt(enc.addedUs, 1)} µs/record` });
  }
  const ratio = r.scaled ? scaledRatio(r.scaled) : undefined;
  if (r.scaled && ratio !== undefined) {
    out.push({ met: ratio >= GOAL_SCALED, text: `${r.scaled.sinks} sinks ≥ ${GOAL_SCALED} × one behind the collector: ${ratio.toFixed(2)} × (${os.availableParallelism()} cores here)` });
  }
  return out;
}

function latencyLines(r: Results): string[] {
  return r.configs
    .filter((c) => c.latency)
    .map((c) => {
      const l = c.latency as LatencyRun;
      const target = l.maxRate === undefined ? `${fmt(l.targetRate)} records/s asked` : `${fmt(l.targetRate)} records/s asked, ${fmt((100 * l.targetRate) / l.maxRate)} % of ${fmt(l.maxRate)}`;
      return `${c.label}: ${fmt(l.exports)} exports of ${fmt(l.records / l.exports)} records over ${l.seconds.toFixed(1)} s ` +
        `(${target}; ${fmt(l.achievedRate)} records/s sent): p50 ${fmt(l.p50, 1)} ms, p99 ${fmt(l.p99, 1)} ms, max ${fmt(l.max, 1)} ms; ` +
        `${fmt(l.batches.batches)} batches of ${fmt(l.batches.rowsPerBatch)} rows, ${fmt(l.batches.msPerBatch, 1)} ms each; ` +
        `CPU sink ${share(l.cpu.serverMs, l.cpu.wallMs)}, Postgres ${share(l.cpu.pgMs, l.cpu.wallMs)}, client ${share(l.cpu.clientMs, l.cpu.wallMs)} of the machine` +
        (l.maxLateMs > 20 ? `; the client's timer fell up to ${fmt(l.maxLateMs)} ms behind` : '') +
        (l.retries > 0 ? `; ${l.retries} retried exports` : '');
    });
}

/** The scaled runs and their ratio, or why they did not run. */
function scaledLines(r: Results): string[] {
  const s = r.scaled;
  if (!s) return [];
  if (s.skipped) return [`skipped: ${s.skipped}`];
  const lines = [...s.one, ...s.many].map((x) => `collector → ${x.sinks} sink(s): ${scaledLine(x)}`);
  const ratio = scaledRatio(s);
  if (ratio !== undefined) lines.push(`${s.sinks} sinks ÷ 1 sink: ${ratio.toFixed(2)} × (medians; ${os.availableParallelism()} cores on this machine)`);
  return lines;
}

function batchLines(r: Results): string[] {
  return r.configs
    .filter((c) => c.runs.length)
    .map((c) => {
      const m = medianRun(c.runs);
      const b = m.batches;
      return `${c.label}: ${fmt(b.batches)} batches of ${fmt(b.rowsPerBatch)} rows, ${fmt(b.msPerBatch, 1)} ms each ` +
        `(${fmt(b.rowsPerDbSecond)} rows per second of batch time; ${fmt(100 * b.under100ms)} % of batches ≤ 100 ms)` +
        (m.retries > 0 ? `; ${m.retries} retried exports` : '') +
        (b.duplicates > 0 || b.rejected > 0 ? `; ${b.duplicates} duplicates, ${b.rejected} rejected` : '');
    });
}

/** Runs during which other processes used more than 5 % of the machine. */
function noiseLines(r: Results): string[] {
  const out: string[] = [];
  const add = (what: string, cpu: CpuUse): void => {
    if (cpu.otherMs === undefined) return;
    const s = machineShare(cpu.otherMs, cpu.wallMs);
    if (s > NOISE_SHARE) out.push(`${what}: other processes used ${fmt(100 * s)} % of the machine; the numbers are noisy`);
  };
  for (const c of r.configs) {
    c.runs.forEach((x, i) => add(`${c.label} round ${i + 1}`, x.cpu));
    if (c.latency) add(`${c.label} latency`, c.latency.cpu);
  }
  for (const [procs, runs] of r.copy) runs.forEach((x, i) => add(`COPY ${procs} psql round ${i + 1}`, x.cpu));
  if (r.insert) add('per-row INSERT', r.insert.cpu);
  return out;
}

function setupLine(opts: Options, r: Results): string {
  const parts: string[] = [];
  if (opts.phases.has('sink')) {
    parts.push(`sink: ${opts.exports} exports × ${opts.recordsPerExport} records (pre-serialized), ${r.clientsNote}, ${opts.rounds} round(s), medians`);
  }
  if (r.insert) parts.push(`per-row INSERT: ${fmt(r.insert.records)} rows`);
  if (opts.phases.has('latency')) {
    const rate = opts.rate === undefined ? `${fmt(100 * opts.latencyLoad)} % of the sink's measured records/s` : `${fmt(opts.rate)} records/s`;
    parts.push(`latency: ${rate} as ${opts.rateBatch} records per export for ${opts.latencyDuration} s`);
  }
  if (opts.phases.has('scaled')) parts.push(`scaled: ${fmt(opts.scaledRecords)} records through the collector (otelcol-scaled.yaml) into 1 and ${opts.scaledSinks} sinks, ${opts.scaledRounds} round(s)`);
  const dropped = opts.withoutIndex.length ? ` **Without the index(es) ${opts.withoutIndex.join(', ')}.**` : '';
  return `${parts.join('; ')}. Postgres: ${Object.entries(r.settings).map(([k, v]) => `${k}=${v}`).join(', ')}.${dropped}`;
}

/** sink ÷ COPY and sink ÷ per-row INSERT, when there is something to compare. */
function ratiosText(r: Results): string | undefined {
  const main = r.configs[0];
  const copy = bestCopy(r);
  if (!main?.runs.length || !(copy || r.insert)) return undefined;
  const sink = medianRun(main.runs).rate;
  const parts = [];
  if (copy) parts.push(`sink ÷ COPY ${(sink / copy.rate).toFixed(2)}`);
  if (r.insert) parts.push(`sink ÷ per-row INSERT ${(sink / r.insert.rate).toFixed(1)}`);
  return parts.join(', ');
}

export function printReport(opts: Options, r: Results): void {
  console.log(`\n${setupLine(opts, r)}`);
  console.log(`Machine: ${machine()}, PostgreSQL ${r.serverVersion}`);
  const rows = tableRows(r);
  if (rows.length) for (const l of ['', ...textTable(TABLE_HEADER, rows)]) console.log(l);
  const ratios = ratiosText(r);
  if (ratios !== undefined) console.log(`\n${ratios}`);
  const b = batchLines(r);
  if (b.length) {
    console.log('\nSink batches (from /metrics), throughput runs:');
    for (const l of b) console.log(`  ${l}`);
  }
  const lat = latencyLines(r);
  if (lat.length) {
    console.log('\nLatency at a steady rate (call to OK, i.e. committed):');
    for (const l of lat) console.log(`  ${l}`);
  }
  const enc = encryptionLines(r);
  if (enc.length) {
    console.log('\nEncryption of the personal fields (default columns), sink CPU per record:');
    for (const l of enc) console.log(`  ${l}`);
  }
  const sc = scaledLines(r);
  if (sc.length) {
    console.log('\nBehind the collector (records/s into Postgres, first request to last commit):');
    for (const l of sc) console.log(`  ${l}`);
  }
  const g = goals(r);
  if (g.length) {
    console.log('\nGoals:');
    for (const x of g) console.log(`  ${x.met ? 'met   ' : 'MISSED'} ${x.text}`);
  }
  for (const l of noiseLines(r)) console.log(`warning: ${l}`);
}

export function markdown(opts: Options, r: Results): string {
  const out: string[] = [];
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}, PostgreSQL ${r.serverVersion}.`);
  out.push(setupLine(opts, r));
  const rows = tableRows(r);
  if (rows.length) out.push('', ...mdTable(TABLE_HEADER, rows));
  const ratios = ratiosText(r);
  if (ratios !== undefined) out.push('', `**${ratios}.**`);
  const b = batchLines(r);
  if (b.length) out.push('', 'Sink batches (from `/metrics`), throughput runs:', '', ...b.map((l) => `- ${l}`));
  const lat = latencyLines(r);
  if (lat.length) out.push('', 'Latency at a steady rate (call to OK, i.e. committed):', '', ...lat.map((l) => `- ${l}`));
  const enc = encryptionLines(r);
  if (enc.length) out.push('', 'Encryption of the personal fields (default columns), sink CPU per record:', '', ...enc.map((l) => `- ${l}`));
  const sc = scaledLines(r);
  if (sc.length) out.push('', 'Behind the collector (records/s into Postgres, first request to last commit):', '', ...sc.map((l) => `- ${l}`));
  // A sweep compares settings; the goals are judged on the full run.
  const g = opts.sinkConfigs.length > 1 ? [] : goals(r);
  if (g.length) out.push('', 'Goals:', '', ...g.map((x) => `- ${x.met ? 'met' : '**missed**'}: ${x.text}`));
  const noise = noiseLines(r);
  if (noise.length) out.push('', 'Noise:', '', ...noise.map((l) => `- ${l}`));
  const w = r.configs[0]?.warmup;
  if (w) {
    out.push('', `Warm-up with the official OTLPLogExporter (serializing in the client): ${fmt(w.stored)} of ${fmt(w.records)} records stored, ` +
      `${fmt(w.rate)} records/s, client ${fmt(w.clientUsPerRecord, 1)} µs/record.`);
  }
  return out.join('\n');
}
