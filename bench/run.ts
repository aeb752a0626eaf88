/**
 * Runs the benchmarks: `npm run bench [-- [scenario ...] [options]]`.
 * Each scenario is a script of its own, run in a child process with the
 * options given here; see bench/README.md.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface BenchScenario {
  name: string;
  script: string;
  summary: string;
  /** Options of a run at smoke size: seconds, not minutes; proves the scenario still runs, measures nothing. */
  smoke: readonly string[];
  /** Options the scenario always runs with (a variant of a script shared with another scenario). */
  args?: readonly string[];
}

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

const SCENARIOS: readonly BenchScenario[] = [
  {
    name: 'sdk-overhead',
    script: 'sdk-overhead.ts',
    summary: 'express app under load: no telemetry vs plain OpenTelemetry vs otel-audit, with and without span export (req/s, p99, CPU per request)',
    smoke: ['--duration', '1', '--warmup', '1', '--rounds', '1', '--connections', '5'],
  },
  {
    name: 'sdk-startup',
    script: 'sdk-startup.ts',
    summary: 'time from node start to the first answered request: no telemetry vs plain OpenTelemetry vs otel-audit (express, fastify)',
    smoke: ['--smoke'],
  },
  {
    name: 'sdk-outage',
    script: 'sdk-outage.ts',
    summary: 'collector down at 1,000 records/s: RSS growth over a baseline, every record delivered via the spool',
    smoke: ['--smoke'],
  },
  {
    name: 'sdk-attack',
    script: 'sdk-attack.ts',
    summary: 'hostile requests (ReDoS path, 64 KB path, huge JSON, 150k XFF hops, distinct 40 KB keys): extra ms per request, heap after GC',
    smoke: ['--smoke'],
  },
  {
    name: 'sink-ingest',
    script: 'sink-ingest.ts',
    summary: 'sink into Postgres: records/s against COPY and per-row INSERT, latency at half the maximum, two sinks behind the collector against one, CPU split',
    smoke: [
      '--rounds', '1', '--exports', '4', '--records-per-export', '100', '--warmup', '100', '--insert-rows', '200',
      '--latency-duration', '2', '--copy-procs', '1', '--scaled-records', '1000',
    ],
  },
  {
    name: 'sink-encryption',
    script: 'sink-ingest.ts',
    summary: 'sink-ingest with encryption of the personal fields off and on, in alternating rounds: the sink CPU per record encryption adds',
    args: ['--encryption'],
    smoke: ['--rounds', '1', '--exports', '4', '--records-per-export', '100', '--warmup', '100'],
  },
  {
    name: 'aead-calls',
    script: 'aead-calls.ts',
    summary: "one AES-256-GCM message in Node's crypto API, step by step: the floor under the sink's encryption of personal fields",
    smoke: ['--rounds', '1', '--ms', '20'],
  },
  {
    name: 'otlp-decode',
    script: 'otlp-decode.ts',
    summary: "the sink's OTLP decoders (logs, traces; protobuf, JSON): µs per record against the protobufjs schema path",
    smoke: ['--records-per-export', '50', '--rounds', '1', '--ms', '50'],
  },
  {
    name: 'export',
    script: 'export.ts',
    summary: 'otel-audit export of a large range: rows/s and peak memory against psql \\copy',
    smoke: ['--rows', '2000', '--rounds', '1'],
  },
  {
    name: 'seal',
    script: 'seal.ts',
    summary: 'sealing in the sink and otel-audit verify: records/s and CPU per record',
    smoke: ['--rows', '2000'],
  },
  {
    name: 'outbox',
    script: 'outbox.ts',
    summary: 'transactional outbox: µs added to a business transaction by audit.inTransaction(), relay records/s into a real sink',
    smoke: ['--smoke'],
  },
  {
    name: 'query',
    script: 'query.ts',
    summary: 'otel-audit serve over a large partitioned table: p95 per page for each common filter, 30-day statistics, memory while paging',
    smoke: ['--smoke'],
  },
];

const USAGE = `Usage: node bench/run.ts [scenario ...] [options]

Runs the named benchmark scenarios (default: all) one after the other.
Options are passed to every scenario; \`--help\` with a scenario name prints
that scenario's options. \`--smoke\` runs each at a tiny size instead (seconds
each: proves that the scenarios still run; its figures mean nothing).

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(14)} ${s.summary}`).join('\n')}

Examples:
  npm run bench
  npm run bench -- --smoke
  npm run bench -- sdk-overhead --duration 5 --rounds 1
  npm run bench -- sdk-overhead --help
  npm run bench -- sink-ingest --rounds 1 --latency-duration 10
  npm run bench -- sink-encryption --exports 100 --rounds 5
  npm run bench -- sdk-attack --smoke
`;

function runScenario(s: BenchScenario, args: string[]): Promise<number> {
  return new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, s.script), ...args], { stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`${s.name}: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(argv: string[]): Promise<number> {
  const names = argv.filter((a) => SCENARIOS.some((s) => s.name === a));
  const smoke = argv.includes('--smoke');
  const options = argv.filter((a) => !names.includes(a) && a !== '--smoke');
  if (names.length === 0 && (options.includes('--help') || options.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  const unknown = options.find((a, i) => !a.startsWith('-') && !(options[i - 1] ?? '').startsWith('-'));
  if (unknown !== undefined) {
    console.error(`unknown scenario "${unknown}"\n\n${USAGE}`);
    return 2;
  }
  const selected = names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  let failed = 0;
  for (const s of selected) {
    if (selected.length > 1) console.log(`\n=== ${s.name} ===`);
    const code = await runScenario(s, [...(s.args ?? []), ...(smoke ? s.smoke : []), ...options]);
    if (code !== 0) failed = code;
  }
  return failed;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
