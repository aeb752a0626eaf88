/**
 * The report of bench/export.ts: rows/s, peak RSS and CPU per row of each
 * way to produce the rows, the goals, and each format against psql's \copy.
 */
import * as os from 'node:os';
import { fmt, machine, mdTable, median } from '../lib/report.ts';
import type { Options } from './options.ts';
import type { Range, Run } from './runs.ts';

/** Goals of the export. */
const GOAL_ROWS_PER_S = 200_000;
const GOAL_PEAK_RSS_MB = 200;

export interface Summary {
  label: string;
  runs: Run[];
}

export function report(opts: Options, range: Range, summaries: Summary[], serverVersion: string, loadNote: string): string[] {
  const header = ['Run', 'rows/s', 'wall s', 'peak RSS MB', 'exporter CPU µs/row', 'Postgres CPU µs/row', 'other processes µs/row', 'rows/s per round'];
  const lines = summaries.map((s) => {
    const med = (f: (r: Run) => number | undefined): number | undefined => {
      const v = s.runs.map(f).filter((x): x is number => x !== undefined);
      return v.length ? median(v) : undefined;
    };
    const perRow = (f: (r: Run) => number | undefined): string => {
      const v = med((r) => {
        const ms = f(r);
        return ms === undefined ? undefined : (1000 * ms) / r.rows;
      });
      return v === undefined ? '-' : fmt(v, 1);
    };
    const rss = med((r) => r.peakRssMb);
    return [
      s.label,
      fmt(med((r) => r.rate) ?? 0),
      fmt((med((r) => r.wallMs) ?? 0) / 1000, 1),
      rss === undefined ? '-' : fmt(rss),
      perRow((r) => r.clientMs),
      perRow((r) => r.pgMs),
      perRow((r) => r.otherMs),
      s.runs.map((r) => fmt(r.rate)).join(' / '),
    ];
  });
  const exports = summaries.filter((s) => s.runs[0]?.format !== 'copy');
  const verdicts = exports.map((s) => {
    const rate = median(s.runs.map((r) => r.rate));
    const rss = Math.max(...s.runs.map((r) => r.peakRssMb ?? 0));
    const rateOk = rate >= GOAL_ROWS_PER_S;
    const rssOk = rss <= GOAL_PEAK_RSS_MB;
    return `- ${s.label}: **${fmt(rate)} rows/s** (goal ≥ ${fmt(GOAL_ROWS_PER_S)}: ${rateOk ? 'met' : `missed, ${fmt((100 * rate) / GOAL_ROWS_PER_S)} % of it`}), ` +
      `**peak RSS ${fmt(rss)} MB** at most (goal ≤ ${GOAL_PEAK_RSS_MB} MB: ${rssOk ? 'met' : 'missed'})`;
  });
  const copy = summaries.find((s) => s.runs[0]?.format === 'copy');
  const ceiling = copy ? median(copy.runs.map((r) => r.rate)) : undefined;
  const date = new Date().toISOString().slice(0, 10);
  return [
    `Measured ${date} on ${machine()}, PostgreSQL ${serverVersion} on the same machine.`,
    `${fmt(range.rows)} records (${loadNote}), exported whole ([${range.from}, ${range.to})), ` +
      `${opts.rounds} round(s) per format, interleaved; medians. Output written to ${os.tmpdir()} (page cache).`,
    '',
    ...mdTable(header, lines),
    '',
    ...verdicts,
    ...(ceiling !== undefined
      ? exports.map((s) => `- ${s.label} ÷ psql \\copy of the same rows: ${fmt(median(s.runs.map((r) => r.rate)) / ceiling, 2)}`)
      : []),
  ];
}
