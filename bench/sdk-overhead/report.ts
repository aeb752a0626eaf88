/**
 * The report of bench/sdk-overhead: medians per scenario, the ratios
 * otel-audit ÷ plain OpenTelemetry (with span export, against the goal, and
 * without), the audit records that arrived, noise; as text and as the
 * Markdown of bench/README.md.
 */
import { fmt, machine, mdTable, median, textTable } from '../lib/report.ts';
import type { Options, Scenario, ScenarioId } from './options.ts';
import { AUDIT_MIN_SHARE, type RunResult } from './run.ts';

/** Required ratio otel-audit ÷ plain OpenTelemetry of requests per second. */
export const GOAL = 0.95;
/** Required ratio otel-audit without span export ÷ plain OpenTelemetry (with it): audit without APM is cheaper than tracing. */
export const GOAL_WITHOUT_APM = 1.0;
/** otel-audit ÷ plain OpenTelemetry: at most this app CPU per request, and this p99, at saturation and at a fixed rate. */
const GOAL_CPU = 1.1;
const GOAL_P99 = 1.2;
/** Other processes using more than this share of the machine make a run noisy. */
const NOISE_SHARE = 0.05;

/**
 * The pairs compared: otel-audit and the plain OpenTelemetry set-up that
 * exports the same spans (or none), and otel-audit without span export
 * against tracing with it (the goal of auditing without an APM).
 */
const PAIRS: readonly { plain: ScenarioId; audit: ScenarioId; goal?: number; cpuAndP99?: boolean }[] = [
  { plain: 'plain', audit: 'audit', goal: GOAL, cpuAndP99: true },
  { plain: 'plain', audit: 'audit-no-export', goal: GOAL_WITHOUT_APM },
  { plain: 'plain-no-export', audit: 'audit-no-export' },
];

interface Row {
  scenario: Scenario;
  runs: RunResult[];
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number | undefined;
}

function rows(opts: Options, results: RunResult[]): Row[] {
  return opts.scenarios.map((scenario) => {
    const runs = results.filter((r) => r.scenario === scenario.id);
    const cpu = runs.map((r) => r.cpuUsPerReq).filter((x): x is number => x !== undefined);
    return {
      scenario,
      runs,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      cpuUsPerReq: cpu.length ? median(cpu) : undefined,
    };
  });
}

interface Verdict {
  plain: Row;
  audit: Row;
  goal: number | undefined;
  cpuAndP99: boolean;
  rpsRatio: number;
  p99Ratio: number;
  cpuRatio: number | undefined;
  met: boolean;
}

function verdicts(table: Row[]): Verdict[] {
  const out: Verdict[] = [];
  for (const pair of PAIRS) {
    const plain = table.find((r) => r.scenario.id === pair.plain);
    const audit = table.find((r) => r.scenario.id === pair.audit);
    if (!plain || !audit) continue;
    const rpsRatio = audit.rps / plain.rps;
    const cpuRatio = audit.cpuUsPerReq !== undefined && plain.cpuUsPerReq !== undefined ? audit.cpuUsPerReq / plain.cpuUsPerReq : undefined;
    out.push({ plain, audit, goal: pair.goal, cpuAndP99: pair.cpuAndP99 === true, rpsRatio, p99Ratio: audit.p99 / plain.p99, cpuRatio, met: pair.goal !== undefined && rpsRatio >= pair.goal });
  }
  return out;
}

/** Whether the CPU and p99 ratios meet their goals, for the pair that has them. */
function cpuAndP99Text(v: Verdict): string {
  if (!v.cpuAndP99) return '';
  const judge = (what: string, ratio: number | undefined, goal: number): string =>
    ratio === undefined ? `${what} not measured` : `${what} (≤ ${goal.toFixed(2)}×) ${ratio <= goal ? 'met' : 'missed'}`;
  return `; goals ${judge('CPU', v.cpuRatio, GOAL_CPU)}, ${judge('p99', v.p99Ratio, GOAL_P99)}`;
}

function verdictText(opts: Options, v: Verdict): string {
  const cpu = v.cpuRatio === undefined ? '' : `, app CPU per request ${v.cpuRatio.toFixed(2)}×`;
  const pair = `${v.audit.scenario.label} ÷ ${v.plain.scenario.label}`;
  if (opts.rate !== undefined) return `${pair} at ${fmt(opts.rate)} req/s: p99 latency ${v.p99Ratio.toFixed(2)}×${cpu}${cpuAndP99Text(v)}`;
  const goal = v.goal === undefined ? '' : v.met ? ` — goal (req/s ≥ ${v.goal.toFixed(2)}) met` : ` — goal (req/s ≥ ${v.goal.toFixed(2)}) missed by ${((v.goal - v.rpsRatio) * 100).toFixed(1)} points`;
  return `${pair}: req/s ${v.rpsRatio.toFixed(3)}, p99 latency ${v.p99Ratio.toFixed(2)}×${cpu}${goal}${cpuAndP99Text(v)}`;
}

/** Whether enough audit records arrived for the requests of a run. */
export function auditDelivered(r: RunResult): boolean {
  return r.settled.auditRecords >= r.requestsAll * AUDIT_MIN_SHARE;
}

function auditLines(opts: Options, results: RunResult[]): string[] {
  const audited = opts.scenarios.filter((s) => s.audit);
  return results
    .filter((r) => audited.some((s) => s.id === r.scenario))
    .map((r) => {
      // The original otel-audit row keeps its plain "round N"; the others name their scenario.
      const label = r.scenario === 'audit' ? '' : `${audited.find((s) => s.id === r.scenario)?.label ?? r.scenario}, `;
      return `${label}round ${r.round}: ${fmt(r.settled.auditRecords)} audit records for ${fmt(r.requestsAll)} requests ` +
        `(${((100 * r.settled.auditRecords) / Math.max(1, r.requestsAll)).toFixed(2)} %) ${auditDelivered(r) ? 'ok' : 'TOO FEW'}` +
        (r.deliveryLine ? `; SDK at exit: ${r.deliveryLine.replace(/^.*delivery closed: /, '')}` : '');
    });
}

const HEADER = ['Scenario', 'req/s', 'p50 ms', 'p99 ms', 'app CPU µs/req', 'req/s vs none', 'spans/req', 'req/s per round'];

function tableCells(table: Row[]): string[][] {
  const none = table.find((r) => r.scenario.id === 'none');
  return table.map((r) => {
    const spans = r.runs.map((x) => x.final.spans / Math.max(1, x.requestsAll));
    return [
      r.scenario.label,
      fmt(r.rps),
      fmt(r.p50, 1),
      fmt(r.p99, 1),
      r.cpuUsPerReq === undefined ? '-' : fmt(r.cpuUsPerReq),
      none ? (r.rps / none.rps).toFixed(3) : '-',
      r.scenario.telemetry ? median(spans).toFixed(2) : '-',
      r.runs.map((x) => fmt(x.rps)).join(' / '),
    ];
  });
}

function setupLine(opts: Options): string {
  const load = opts.rate !== undefined ? `a fixed ${fmt(opts.rate)} req/s over ${opts.connections} connections` : `${opts.connections} connections`;
  const extra = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
  if (opts.bspMaxQueue !== undefined) extra.unshift(`OTEL_BSP_MAX_QUEUE_SIZE=${opts.bspMaxQueue}`);
  if (opts.sinkWindow !== undefined) extra.unshift(`sink window ${opts.sinkWindow} B`);
  return `${opts.rounds} round(s) × ${opts.duration} s per scenario (after ${opts.warmup} s warm-up), ${load}, ` +
    `3 GET : 1 POST${extra.length ? `, ${extra.join(' ')}` : ''}; medians over the rounds.`;
}

function noiseLines(results: RunResult[]): string[] {
  return results
    .filter((r) => (r.otherCpuShare ?? 0) > NOISE_SHARE)
    .map((r) => `${r.scenario} round ${r.round}: other processes used ${(100 * (r.otherCpuShare ?? 0)).toFixed(0)} % of the machine; the numbers are noisy`);
}

export function printReport(opts: Options, results: RunResult[]): void {
  const table = rows(opts, results);
  console.log(`\n${setupLine(opts)}`);
  console.log(`Machine: ${machine()}\n`);
  for (const l of textTable(HEADER, tableCells(table))) console.log(l);
  const v = verdicts(table);
  if (v.length) console.log('');
  for (const x of v) console.log(verdictText(opts, x));
  const audits = auditLines(opts, results);
  if (audits.length) {
    console.log('\nAudit records received by the sink (warm-up included):');
    for (const l of audits) console.log(`  ${l}`);
  }
  for (const l of noiseLines(results)) console.log(`warning: ${l}`);
  for (const r of results.filter((x) => x.errors > 0 || x.non2xx > 0)) {
    console.log(`warning: ${r.scenario} round ${r.round}: ${r.errors} connection errors, ${r.non2xx} non-2xx responses`);
  }
}

export function markdown(opts: Options, results: RunResult[]): string {
  const table = rows(opts, results);
  const out: string[] = [];
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine()}.`);
  out.push(setupLine(opts));
  out.push('');
  out.push(...mdTable(HEADER, tableCells(table)));
  const v = verdicts(table);
  for (const x of v) out.push('', `**${verdictText(opts, x)}.**`);
  const audits = auditLines(opts, results);
  if (audits.length) {
    out.push('', 'Audit records received by the sink (warm-up included):', '');
    for (const l of audits) out.push(`- ${l}`);
  }
  const noise = noiseLines(results);
  if (noise.length) {
    out.push('', 'Noise:', '');
    for (const l of noise) out.push(`- ${l}`);
  }
  return out.join('\n');
}
