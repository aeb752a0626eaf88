/**
 * SDK overhead: the same express app under load with no telemetry, with
 * plain OpenTelemetry, and with otel-audit, each with and without span
 * export. See bench/README.md.
 *
 *   node bench/sdk-overhead.ts [--duration 10] [--connections 50] [--rounds 3] ...
 *
 * Every run starts a fresh OTLP sink (bench/otlp-sink.ts) and a fresh app
 * child, warms up, then measures with autocannon (bench/sdk-overhead/run.ts).
 * Rounds interleave the scenarios (in a rotating order) and the report
 * (bench/sdk-overhead/report.ts) gives the median per scenario.
 */
import { join } from 'node:path';
import { commandLine } from './lib/args.ts';
import { checkBuild, ROOT, runMain } from './lib/proc.ts';
import { printProfileSummary, summarizeProfile } from './lib/profile.ts';
import { fmt, writeReadme } from './lib/report.ts';
import { parseOptions, SCENARIOS, USAGE } from './sdk-overhead/options.ts';
import { auditDelivered, markdown, printReport } from './sdk-overhead/report.ts';
import { runOnce, type RunResult } from './sdk-overhead/run.ts';

/** Seconds a run takes besides warm-up and measurement (starting and stopping the children, settling). */
const RUN_OVERHEAD_S = 4;
/** Width of the scenario column of the progress lines. */
const LABEL_WIDTH = Math.max(...SCENARIOS.map((s) => s.label.length));

/** Where the app's time went, per request (the profile also covers start-up and the idle tail, which adds a little). */
function printAppProfile(label: string, file: string, top: number, requests: number): void {
  // Who a script belongs to: an npm package, node's internals, otel-audit's dist, the app.
  const summary = summarizeProfile(file, (rel) => (rel.startsWith('dist/') ? 'otel-audit (dist)' : rel.startsWith('bench/') ? 'bench app' : rel));
  console.log(`\nProfile of the app, ${label} (${file})`);
  console.log(`  busy ${(summary.busyUs / 1e6).toFixed(1)} s for ${fmt(requests)} requests, start-up included`);
  printProfileSummary(summary, { top, count: requests, unit: 'req', digits: 1, ownersHeading: 'self time by package:', withInclusive: false });
}

function runLine(r: RunResult, label: string, telemetry: boolean, audit: boolean): string {
  const parts = [
    `${label.padEnd(LABEL_WIDTH)} ${fmt(r.rps).padStart(7)} req/s (${fmt(r.requestsAll)} requests with warm-up)`,
    `p50 ${fmt(r.p50, 1).padStart(5)} ms`,
    `p99 ${fmt(r.p99, 1).padStart(6)} ms`,
  ];
  if (r.cpuUsPerReq !== undefined) parts.push(`app CPU ${fmt(r.cpuUsPerReq)} µs/req`);
  if (telemetry) parts.push(`spans ${fmt(r.final.spans)} (≥ ${fmt(r.droppedSpans)} dropped)`);
  if (audit) parts.push(`audit ${fmt(r.settled.auditRecords)}/${fmt(r.requestsAll)}`);
  if (r.appCpuShare !== undefined) parts.push(`app ${fmt(100 * r.appCpuShare)} % of a core`);
  if (r.otherCpuShare !== undefined) parts.push(`other processes ${(100 * r.otherCpuShare).toFixed(1)} % of the machine`);
  parts.push(`exit ${fmt(r.exitMs)} ms`);
  return parts.join(', ');
}

async function main(): Promise<number> {
  const opts = commandLine(parseOptions, USAGE);
  if (typeof opts === 'number') return opts;
  checkBuild(join(ROOT, 'dist', 'register.js'));
  const perRun = opts.warmup + opts.duration + RUN_OVERHEAD_S;
  console.log(`sdk-overhead: ${opts.rounds} round(s) × ${opts.scenarios.length} scenario(s), ` +
    `~${Math.ceil((perRun * opts.rounds * opts.scenarios.length) / 60)} min`);
  if (opts.cpuProfDir) console.log(`CPU profiles of the app go to ${opts.cpuProfDir} (profiling slows the app)`);

  const results: RunResult[] = [];
  let failed = false;
  for (let round = 1; round <= opts.rounds; round++) {
    // Rotate the order so that no scenario always runs first or last.
    const shift = (round - 1) % opts.scenarios.length;
    const order = [...opts.scenarios.slice(shift), ...opts.scenarios.slice(0, shift)];
    for (const scenario of order) {
      const r = await runOnce(scenario, round, opts);
      results.push(r);
      console.log(`round ${round}/${opts.rounds}  ${runLine(r, scenario.label, scenario.telemetry, scenario.audit)}`);
      if (r.deliveryLine) console.log(`  ${r.deliveryLine}`);
      if (scenario.audit && !auditDelivered(r)) {
        console.error(`  error: only ${r.settled.auditRecords} audit records for ${r.requestsAll} requests (${scenario.label})`);
        failed = true;
      }
    }
  }

  printReport(opts, results);
  if (opts.cpuProfDir) {
    for (const scenario of opts.scenarios) {
      const last = results.filter((r) => r.scenario === scenario.id && r.profile).at(-1);
      if (last?.profile) printAppProfile(`${scenario.label}, round ${last.round}`, last.profile, opts.top, last.requestsAll);
    }
  }
  if (opts.write) writeReadme(markdown(opts, results), opts.rate !== undefined ? 'sdk-overhead:fixed-rate' : 'sdk-overhead:results');
  return failed ? 1 : 0;
}

runMain(main);
