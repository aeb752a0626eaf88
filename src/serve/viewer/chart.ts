/**
 * The statistics chart: records per time bucket as stacked bars, one
 * colour per outcome, module or action, drawn as SVG with no library.
 * Times read in the viewer's zone, UTC on hover (as in the table). With
 * the keyboard: focus the chart, then ← → (Home, End) move between buckets,
 * and the line under it reads the bucket out.
 */

export interface StatsRow {
  bucket: string;
  module: string | null;
  action: string;
  outcome: string;
  count: number;
}
export interface StatsAnswer {
  bucket: 'minute' | 'hour' | 'day';
  from: string;
  to: string;
  rolledUp: boolean;
  rows: StatsRow[];
}
export type GroupBy = 'outcome' | 'module' | 'action';

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
/** Series drawn at most; the rest are summed as "other". */
const MAX_SERIES = 8;
const OUTCOME_COLOURS: Record<string, string> = { success: '#2e8b57', failure: '#b00020', denied: '#d9822b' };
const PALETTE = ['#0b5cad', '#d9822b', '#1b9e77', '#7570b3', '#e7298a', '#66a61e', '#a6761d', '#8c8c8c'];
const OTHER = '(other)';
const NONE = '(none)';
const W = 900;
const H = 240;
const PAD = { left: 48, right: 8, top: 10, bottom: 28 };
const SVG = 'http://www.w3.org/2000/svg';

interface Series {
  name: string;
  colour: string;
  total: number;
}
interface Column {
  at: number;
  total: number;
  /** Count per series, in the order of the series. */
  counts: number[];
}

const n = (v: number): string => v.toLocaleString();
/** As the table's hover text. */
const utc = (ms: number): string => `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')} UTC`;

function local(ms: number, bucket: StatsAnswer['bucket']): string {
  const d = new Date(ms);
  return bucket === 'day'
    ? d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function svg<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The series of a grouping, largest first, with colours. */
function seriesOf(rows: StatsRow[], groupBy: GroupBy): { series: Series[]; index: (row: StatsRow) => number } {
  const totals = new Map<string, number>();
  for (const r of rows) {
    const key = r[groupBy] ?? NONE;
    totals.set(key, (totals.get(key) ?? 0) + r.count);
  }
  const ranked = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const kept = ranked.length > MAX_SERIES ? ranked.slice(0, MAX_SERIES - 1) : ranked;
  const series: Series[] = kept.map(([name, total], i) => ({ name, total, colour: (groupBy === 'outcome' ? OUTCOME_COLOURS[name] : undefined) ?? PALETTE[i % PALETTE.length] ?? '#888' }));
  if (kept.length < ranked.length) {
    series.push({ name: OTHER, total: ranked.slice(kept.length).reduce((s, [, t]) => s + t, 0), colour: PALETTE[PALETTE.length - 1] ?? '#888' });
  }
  const at = new Map(series.map((s, i) => [s.name, i]));
  return { series, index: (row) => at.get(row[groupBy] ?? NONE) ?? series.length - 1 };
}

/** Every bucket of the range, empty ones too, from the start of the first (UTC). */
function columnsOf(stats: StatsAnswer, series: Series[], index: (row: StatsRow) => number): Column[] {
  const ms = BUCKET_MS[stats.bucket];
  const start = Math.floor(Date.parse(stats.from) / ms) * ms;
  const count = Math.max(1, Math.ceil((Date.parse(stats.to) - start) / ms));
  const columns: Column[] = Array.from({ length: count }, (_, i) => ({ at: start + i * ms, total: 0, counts: series.map(() => 0) }));
  for (const r of stats.rows) {
    const column = columns[Math.floor((Date.parse(r.bucket) - start) / ms)];
    if (!column) continue;
    const i = index(r);
    column.counts[i] = (column.counts[i] ?? 0) + r.count;
    column.total += r.count;
  }
  return columns;
}

/** A round top for the scale: 1, 2 or 5 times a power of ten. */
function niceMax(max: number): number {
  if (max <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].map((m) => m * p).find((v) => v >= max) ?? 10 * p);
}

function describe(column: Column, series: Series[], bucket: StatsAnswer['bucket']): string {
  const parts = series.map((s, i) => [s.name, column.counts[i] ?? 0] as const).filter(([, c]) => c > 0);
  const by = parts.length > 0 ? `: ${parts.map(([name, c]) => `${name} ${n(c)}`).join(', ')}` : '';
  return `${local(column.at, bucket)} (${utc(column.at)}), ${n(column.total)} record${column.total === 1 ? '' : 's'}${by}`;
}

/** Draw the chart of `stats` into `box`, replacing what was there. */
export function drawChart(box: HTMLElement, stats: StatsAnswer, groupBy: GroupBy): void {
  const { series, index } = seriesOf(stats.rows, groupBy);
  const columns = columnsOf(stats, series, index);
  const total = series.reduce((s, x) => s + x.total, 0);
  const summary = document.createElement('p');
  summary.className = 'chart-total';
  summary.id = 'chart-total';
  summary.dataset.total = String(total);
  const range = `${local(Date.parse(stats.from), 'minute')} to ${local(Date.parse(stats.to), 'minute')}`;
  summary.textContent = `${n(total)} record${total === 1 ? '' : 's'} from ${range}, per ${stats.bucket}`;
  summary.title = `${utc(Date.parse(stats.from))} to ${utc(Date.parse(stats.to))}`;

  const legend = document.createElement('ul');
  legend.className = 'chart-legend';
  legend.id = 'chart-legend';
  for (const s of series) {
    const li = document.createElement('li');
    li.dataset.series = s.name;
    li.dataset.count = String(s.total);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.backgroundColor = s.colour;
    li.append(swatch, `${s.name} ${n(s.total)}`);
    legend.append(li);
  }

  const readout = document.createElement('p');
  readout.className = 'chart-readout';
  readout.id = 'chart-readout';
  readout.setAttribute('aria-live', 'polite');

  if (total === 0) {
    summary.textContent = `No records from ${range}.`;
    box.replaceChildren(summary);
    return;
  }

  const top = niceMax(Math.max(...columns.map((c) => c.total)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / columns.length;
  const y = (v: number): number => PAD.top + plotH - (v / top) * plotH;
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', id: 'chart-svg', tabindex: 0, role: 'group' });
  chart.setAttribute('aria-label', `Records per ${stats.bucket}, ${range}. Arrow keys move between ${stats.bucket}s.`);
  chart.setAttribute('aria-describedby', 'chart-readout');
  for (const v of [0, top / 2, top]) {
    chart.append(
      svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, n(v)),
    );
  }
  const bars: SVGGElement[] = [];
  for (const [i, column] of columns.entries()) {
    const g = svg('g', { class: 'bar', 'data-index': i, 'data-at': new Date(column.at).toISOString() });
    g.append(svg('title', {}, describe(column, series, stats.bucket)));
    g.append(svg('rect', { x: PAD.left + i * bw, y: PAD.top, width: bw, height: plotH, class: 'hit' }));
    let base = 0;
    for (const [k, s] of series.entries()) {
      const c = column.counts[k] ?? 0;
      if (c === 0) continue;
      g.append(svg('rect', { x: PAD.left + i * bw + (bw > 3 ? 0.5 : 0), y: y(base + c), width: Math.max(bw - (bw > 3 ? 1 : 0), 0.5), height: y(base) - y(base + c), fill: s.colour }));
      base += c;
    }
    bars.push(g);
    chart.append(g);
  }
  // About six time labels along the bottom.
  const every = Math.max(1, Math.ceil(columns.length / 6));
  for (let i = 0; i < columns.length; i += every) {
    const at = (columns[i] as Column).at;
    const label = svg('text', { x: PAD.left + i * bw, y: H - 8, class: 'axis' }, local(at, stats.bucket));
    label.append(svg('title', {}, utc(at)));
    chart.append(label);
  }

  let current = -1;
  const show = (i: number): void => {
    bars[current]?.classList.remove('current');
    current = Math.max(0, Math.min(columns.length - 1, i));
    bars[current]?.classList.add('current');
    readout.textContent = describe(columns[current] as Column, series, stats.bucket);
  };
  chart.addEventListener('keydown', (e) => {
    const to = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: columns.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    show(to);
  });
  chart.addEventListener('focus', () => {
    if (current < 0) show(columns.findIndex((c) => c.total > 0));
  });
  chart.addEventListener('mouseover', (e) => {
    const g = (e.target as Element).closest('g.bar');
    if (g) show(Number(g.getAttribute('data-index')));
  });
  readout.textContent = 'Point at a bar, or focus the chart and use the arrow keys.';
  box.replaceChildren(summary, chart, legend, readout);
}
