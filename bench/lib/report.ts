/**
 * Results of the benchmarks: number formatting, medians and percentiles,
 * the machine, text and Markdown tables, and the sections of bench/README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, relative } from 'node:path';
import { BENCH_DIR } from './proc.ts';

const README = join(BENCH_DIR, 'README.md');

/** A number with thousands separators and `digits` decimals. */
export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The median; the mean of the two middle values for an even count. */
export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** The item whose `key` is the median (the lower middle one for an even count): a run that did happen. */
export function medianBy<T>(items: T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)] as T;
}

/** The `p`th percentile (nearest rank) of ascending values; 0 for none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** CPU, cores, memory, OS and Node of this machine. */
export function machine(): string {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: os.cpus() has it
  }
  const gib = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${cpu}, ${os.availableParallelism()} cores, ${gib} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}`;
}

/** A table as aligned text lines: the first and last columns to the left, the others (numbers) to the right. */
export function textTable(header: string[], lines: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [row(header), ...lines.map(row)];
}

/** The same table in Markdown. */
export function mdTable(header: string[], lines: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 || i === header.length - 1 ? '---' : '---:')).join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ];
}

/** Replaces what stands between `<!-- <section>:start -->` and `<!-- <section>:end -->` in bench/README.md. */
export function writeReadme(text: string, section: string): void {
  const readme = readFileSync(README, 'utf8');
  const [open, close] = [`<!-- ${section}:start -->`, `<!-- ${section}:end -->`];
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  if (start < 0 || end < start) throw new Error(`${README} has no ${open} … ${close} section`);
  writeFileSync(README, `${readme.slice(0, start + open.length)}\n${text}\n${readme.slice(end)}`);
  console.log(`\nUpdated ${relative(process.cwd(), README) || README}`);
}
