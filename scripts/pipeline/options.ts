/**
 * Flags of `npm run pipeline` (scripts/pipeline.ts): where things listen
 * and which database the sink writes to. It reads no variable: a shell's
 * DATABASE_URL, PG* or OTEL_* settings never change what it starts.
 */
import { parseArgs } from 'node:util';

export interface PipelineOptions {
  /** Postgres for the sink; undefined: the embedded database in `dataDir`. */
  databaseUrl: string | undefined;
  /** The embedded database, the collector's queue, the service's spool and the logs. */
  dataDir: string;
  /** Start the example service (examples/express-app) under the register hook. */
  example: boolean;
  ports: PipelinePorts;
}

export interface PipelinePorts {
  otlpGrpc: number;
  otlpHttp: number;
  sinkGrpc: number;
  sinkHttp: number;
  sinkMetrics: number;
  viewer: number;
  jaegerUi: number;
  jaegerGrpc: number;
  jaegerOtlp: number;
  collectorMetrics: number;
  example: number;
}

/** Each port: its flag, what listens there and its default. */
export const PORT_FLAGS: Record<keyof PipelinePorts, { flag: string; what: string; default: number }> = {
  otlpGrpc: { flag: 'otlp-grpc-port', what: 'collector OTLP/gRPC', default: 4317 },
  otlpHttp: { flag: 'otlp-http-port', what: 'collector OTLP/HTTP', default: 4318 },
  sinkGrpc: { flag: 'sink-grpc-port', what: 'sink OTLP/gRPC', default: 4417 },
  sinkHttp: { flag: 'sink-http-port', what: 'sink OTLP/HTTP', default: 4418 },
  sinkMetrics: { flag: 'sink-metrics-port', what: 'sink /metrics, /healthz, /readyz', default: 9464 },
  viewer: { flag: 'viewer-port', what: 'query API and viewer (served by the sink)', default: 8080 },
  jaegerUi: { flag: 'jaeger-ui-port', what: 'Jaeger UI and query API', default: 16686 },
  jaegerGrpc: { flag: 'jaeger-grpc-port', what: 'Jaeger gRPC query API', default: 16685 },
  jaegerOtlp: { flag: 'jaeger-otlp-port', what: 'Jaeger OTLP/gRPC (from the collector)', default: 14317 },
  collectorMetrics: { flag: 'collector-metrics-port', what: "collector's own metrics", default: 8888 },
  example: { flag: 'example-port', what: 'example service', default: 3000 },
};

export const DEFAULT_DATA_DIR = './.otel-audit';

export const PIPELINE_USAGE = `Usage: npm run pipeline [-- options]      (node scripts/pipeline.ts [options])

The whole pipeline on this machine, every part its own process, until Ctrl-C:

  example service ──OTLP──▶ collector ─┬─ traces ─────────▶ Jaeger (UI)
  (or your own)     :4317     (otelcol.yaml + otelcol-local.yaml)
                    :4318              └─ audit records ──▶ otel-audit sink --serve ──▶ embedded Postgres
                                                             (query API and viewer)     or --database-url

Services send OTLP to the usual ports, so a service of your own needs no
setting beyond the register hook:
  node --import otel-audit/register app.js
The collector and Jaeger come from the cache of "npm run collector:build"
(the pipeline never builds them). The sink serves the query API and the
viewer from its own process, so the rows of the embedded database can be
read while it runs; the pipeline prints the addresses and a token made for
this run. Ctrl-C (SIGINT) or SIGTERM stops everything it started.

Options:
  --database-url URL        the sink writes to this Postgres (default: the embedded database in --data-dir)
  --data-dir DIR            the embedded database, the collector's queue, the service's spool and the logs (default: ${DEFAULT_DATA_DIR})
  --no-example              do not start the example service (examples/express-app)
${Object.values(PORT_FLAGS)
  .map((p) => `  ${`--${p.flag} N`.padEnd(25)} ${p.what} (default: ${p.default})`)
  .join('\n')}
  -h, --help                show this help

Exit status: 0 after Ctrl-C, 1 when something could not start or stopped on
its own, 2 on bad usage.
`;

/** The options, or a usage error (one line) / "help". */
export function parsePipelineArgs(argv: readonly string[]): PipelineOptions | { error: string } | 'help' {
  const portOptions = Object.fromEntries(Object.values(PORT_FLAGS).map((p) => [p.flag, { type: 'string' as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'database-url': { type: 'string' },
        'data-dir': { type: 'string' },
        example: { type: 'boolean', default: true },
        help: { type: 'boolean', short: 'h' },
        ...portOptions,
      },
      strict: true,
      allowPositionals: false,
      allowNegative: true,
    }));
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (values['help'] === true) return 'help';
  const ports = {} as PipelinePorts;
  for (const [key, p] of Object.entries(PORT_FLAGS) as [keyof PipelinePorts, (typeof PORT_FLAGS)[keyof PipelinePorts]][]) {
    const raw = values[p.flag];
    if (raw === undefined) {
      ports[key] = p.default;
      continue;
    }
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < 1 || n > 65535) return { error: `--${p.flag} needs a port from 1 to 65535, got "${String(raw)}"` };
    ports[key] = n;
  }
  const databaseUrl = values['database-url'] as string | undefined;
  const dataDir = (values['data-dir'] as string | undefined) ?? DEFAULT_DATA_DIR;
  if (databaseUrl === '' || dataDir === '') return { error: '--database-url and --data-dir need a value' };
  return { databaseUrl, dataDir, example: values['example'] !== false, ports };
}
