import type { SinkOptions } from './types.js';
import { WRITE_METHODS } from './writer-types.js';

/** Gap checks run at least this far apart when the interval is derived from the window, ms. */
export const GAP_CHECK_MIN_INTERVAL_MS = 250;
/** Gap checks run at most this far apart when the interval is derived from the window, ms. */
export const GAP_CHECK_MAX_INTERVAL_MS = 30_000;

/**
 * The sink's defaults, written once: {@link resolveSinkConfig} fills
 * {@link SinkOptions} from them and the `otel-audit sink --help` text shows
 * them. Options without an entry have no default value (`token`: no
 * authentication, `databaseUrl`: the environment decides, ...), and
 * `gapCheckIntervalMs` is derived from the gap window
 * ({@link defaultGapCheckIntervalMs}).
 */
export const SINK_DEFAULTS = Object.freeze({
  /** Address the listeners bind to (`0.0.0.0` in a container). */
  host: '127.0.0.1',
  /** OTLP/gRPC port. */
  grpcPort: 4317,
  /** OTLP/HTTP port. */
  httpPort: 4318,
  /** Prometheus `/metrics`, `/healthz`, `/readyz` port. */
  metricsPort: 9464,
  /** Largest request accepted, bytes (after decompression): 16 MiB. */
  maxMessageBytes: 16 * 1024 * 1024,
  /** Largest single string value of a record, bytes: 64 KiB. */
  maxValueBytes: 64 * 1024,
  /** Rows per database batch. */
  batchRows: 2000,
  /** How long a lone batch waits for more rows, ms. */
  batchDelayMs: 10,
  /** Rows waiting at most before exports are refused as retryable. */
  maxQueueRows: 100_000,
  /** Database connections. */
  poolSize: 10,
  /** Batches written at once (at most `poolSize`). */
  writers: 2,
  /** How batches reach Postgres: binary COPY into a staging table (`copy`) or array parameters (`unnest`). */
  writeMethod: 'copy',
  /** A sequence gap open longer than this counts as missing records, ms. */
  gapWindowMs: 300_000,
  /** pino level. */
  logLevel: 'info',
  /** Apply migrations on start. */
  migrate: true,
  /** Seal settled records into audit.digests this often, ms (0: never). */
  sealIntervalMs: 60_000,
  /** Seal only records received at least this long ago, ms. */
  sealSettleMs: 30_000,
  /** How long a half of an outbox record waits for its partner before it is written alone, ms. */
  outboxWindowMs: 30_000,
} as const satisfies Partial<SinkOptions>);

/** The least time between two gap checks when none is set: half the window, within 250 ms to 30 s. */
export function defaultGapCheckIntervalMs(gapWindowMs: number): number {
  return Math.max(GAP_CHECK_MIN_INTERVAL_MS, Math.min(GAP_CHECK_MAX_INTERVAL_MS, gapWindowMs / 2));
}

const WINDOW_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** A window such as `30s`, `1500ms` or `2m` (a bare number is seconds), in ms; throws a clear error otherwise. */
export function parseWindow(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 30s, 1500ms or 2m`);
  const ms = Number(m[1]) * (WINDOW_UNITS_MS[m[2] ?? 's'] as number);
  if (ms <= 0) throw new Error('the window must be longer than zero');
  return Math.round(ms);
}

type Filled = keyof typeof SINK_DEFAULTS | 'gapCheckIntervalMs';

/** {@link SinkOptions} with every default filled in. */
export type SinkConfig = Omit<SinkOptions, Filled> & Required<Pick<SinkOptions, Filled>>;

/**
 * Fill the defaults of {@link SinkOptions}. `writers` comes out as the
 * number of batches actually written at once: at least 1, at most `poolSize`.
 */
export function resolveSinkConfig(options: SinkOptions = {}): SinkConfig {
  const filled = withDefaults(options, SINK_DEFAULTS);
  if (!WRITE_METHODS.includes(filled.writeMethod)) {
    throw new Error(`write method ${JSON.stringify(filled.writeMethod)} is not one of ${WRITE_METHODS.join(', ')}`);
  }
  return {
    ...filled,
    writers: Math.max(1, Math.min(filled.writers, filled.poolSize)),
    gapCheckIntervalMs: options.gapCheckIntervalMs ?? defaultGapCheckIntervalMs(filled.gapWindowMs),
  };
}

/** `O` with the keys of `D` defined: each the option's value, else the default. */
type WithDefaults<O, D> = O & { [K in keyof D]-?: Exclude<O[K & keyof O], undefined> | D[K] };

/** `options` with each key of `defaults` that it leaves undefined set to the default. */
export function withDefaults<O extends object, D extends Partial<Record<keyof O, unknown>>>(options: O, defaults: D): WithDefaults<O, D> {
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(options));
  for (const [key, value] of Object.entries(defaults)) out[key] ??= value;
  // Every key of `defaults` is now defined in `out`, which the loop's typing cannot follow.
  return out as WithDefaults<O, D>;
}
