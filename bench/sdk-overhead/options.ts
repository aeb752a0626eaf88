/**
 * The command line of bench/sdk-overhead.ts: its usage text, the scenarios
 * and the options.
 */
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, commonOptions, positive, UsageError, type CommonOptions } from '../lib/args.ts';

export const USAGE = `Usage: node bench/sdk-overhead.ts [options]

Load-tests bench/apps/express-app.mjs under five scenarios and compares them:
  none             no telemetry
  plain            plain OpenTelemetry (bench/plain-otel.mjs: HTTP + express
                   instrumentation, batched OTLP/gRPC span export)
  audit            otel-audit (--import otel-audit/register): the same, plus one
                   audit record per request over OTLP/gRPC
  plain-no-export  plain OpenTelemetry with OTEL_TRACES_EXPORTER=none: the same
                   instrumentation, no span exporter
  audit-no-export  otel-audit with OTEL_TRACES_EXPORTER=none: spans not
                   exported, audit records still delivered

Each run starts an OTLP/gRPC sink child and an app child, warms up, then
runs autocannon (3 GET : 1 POST). Rounds interleave the scenarios; the report
gives the median per scenario and the ratio otel-audit ÷ plain OpenTelemetry,
with and without span export.
Uses dist/ (run \`npm run build\` first).

Options:
  --duration S        measured seconds per run (default 10)
  --warmup S          warm-up seconds per run, not measured (default 3)
  --connections N     concurrent connections (default 50)
  --rate N            send a fixed N req/s instead of as many as the app
                      takes: compares CPU per request and latency below
                      saturation (--write then fills the fixed-rate section)
  --rounds N          rounds over all scenarios (default 3)
  --scenarios LIST    comma-separated subset of none,plain,audit,
                      plain-no-export,audit-no-export (default all)
  --bsp-max-queue N   OTEL_BSP_MAX_QUEUE_SIZE for the OpenTelemetry scenarios
                      (default: the SDK's 2048)
  --sink-window B     HTTP/2 flow-control window of the OTLP sink, bytes (default
                      16 MiB, what a gRPC server with BDP estimation grows to;
                      65535 mimics a receiver with fixed windows)
  --env KEY=VALUE     extra environment for the OpenTelemetry scenarios, e.g.
                      --env OTEL_AUDIT_BATCH_SIZE=64 (repeatable)
  --cpu-prof          profile the app child (node --cpu-prof) and print the
                      functions and packages with the most self time
  --cpu-prof-dir DIR  where profiles go (default: a new temp directory)
  --top N             rows of the profile summary (default 20)
  --write             replace the results section of bench/README.md
  --verbose           print what the app wrote after each run
  --help              print this text
`;

export type ScenarioId = 'none' | 'plain' | 'audit' | 'plain-no-export' | 'audit-no-export';

export interface Scenario {
  id: ScenarioId;
  label: string;
  /** Node options placed before the app's path. */
  nodeArgs: string[];
  /** OpenTelemetry runs in the app: it gets the OTLP endpoint and the OTEL_* settings. */
  telemetry: boolean;
  /** One audit record per request is expected at the OTLP sink. */
  audit: boolean;
  /** Environment of this scenario, after the shared settings (--env cannot override it). */
  env: Record<string, string>;
}

const PLAIN = ['--import', './bench/plain-otel.mjs'];
const AUDIT = ['--import', 'otel-audit/register'];
const NO_TRACES = { OTEL_TRACES_EXPORTER: 'none' };

/** In the order of the report's table: the three original rows, then the two without span export. */
export const SCENARIOS: readonly Scenario[] = [
  { id: 'none', label: 'no telemetry', nodeArgs: [], telemetry: false, audit: false, env: {} },
  { id: 'plain', label: 'plain OpenTelemetry', nodeArgs: PLAIN, telemetry: true, audit: false, env: {} },
  { id: 'audit', label: 'otel-audit', nodeArgs: AUDIT, telemetry: true, audit: true, env: {} },
  { id: 'plain-no-export', label: 'plain OpenTelemetry, no exporter', nodeArgs: PLAIN, telemetry: true, audit: false, env: NO_TRACES },
  { id: 'audit-no-export', label: 'otel-audit, traces not exported', nodeArgs: AUDIT, telemetry: true, audit: true, env: NO_TRACES },
];

export interface Options extends CommonOptions {
  duration: number;
  warmup: number;
  connections: number;
  rounds: number;
  scenarios: Scenario[];
  bspMaxQueue: number | undefined;
  rate: number | undefined;
  sinkWindow: number | undefined;
  env: Record<string, string>;
}

export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rounds: { type: 'string' },
      scenarios: { type: 'string' },
      'bsp-max-queue': { type: 'string' },
      rate: { type: 'string' },
      'sink-window': { type: 'string' },
      env: { type: 'string', multiple: true },
      ...COMMON_OPTIONS,
    },
    strict: true,
  });
  if (values.help) return undefined;
  const ids = (values.scenarios ?? SCENARIOS.map((s) => s.id).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios: Scenario[] = [];
  for (const id of ids) {
    const s = SCENARIOS.find((x) => x.id === id);
    if (!s) throw new UsageError(`--scenarios: unknown scenario "${id}" (${SCENARIOS.map((x) => x.id).join(', ')})`);
    if (!scenarios.includes(s)) scenarios.push(s);
  }
  if (scenarios.length === 0) throw new UsageError('--scenarios: none given');
  const env: Record<string, string> = {};
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    duration: positive('duration', values.duration, 10, false),
    warmup: positive('warmup', values.warmup, 3, false),
    connections: positive('connections', values.connections, 50, true),
    rounds: positive('rounds', values.rounds, 3, true),
    scenarios,
    bspMaxQueue: values['bsp-max-queue'] === undefined ? undefined : positive('bsp-max-queue', values['bsp-max-queue'], 0, true),
    rate: values.rate === undefined ? undefined : positive('rate', values.rate, 0, true),
    sinkWindow: values['sink-window'] === undefined ? undefined : positive('sink-window', values['sink-window'], 0, true),
    env,
    ...commonOptions(values),
  };
}
