/**
 * The real otel-audit sink (`node dist/cli.js sink`) as a child process of a
 * benchmark, on ephemeral ports that it announces once it listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './pg.ts';
import { awaitLine, childEnv, collectOutput, cpuProfArgs, ROOT, stopChild, track } from './proc.ts';

/** How long the sink may take to migrate and listen. */
const START_TIMEOUT_MS = 60_000;
/** How long the sink may take to stop: longer when it writes a CPU profile on exit. */
const STOP_GRACE_MS = 15_000;
const STOP_GRACE_PROFILING_MS = 60_000;

export interface AuditSink {
  child: ChildProcess;
  grpcPort: number;
  metricsPort: number;
  /** What it logged so far. */
  output: () => string;
  stop(): Promise<void>;
}

export interface AuditSinkOptions {
  /** Flags after the defaults (database, ephemeral ports, log level info), e.g. `--batch-rows 5000`. */
  extra?: string[];
  /** Write a CPU profile here on exit (node --cpu-prof). */
  profile?: string | undefined;
}

/** Starts the sink on `dbUrl` (which it migrates, its default) and resolves once it listens. */
export async function startAuditSink(dbUrl: string, opts: AuditSinkOptions = {}): Promise<AuditSink> {
  const args = [
    ...cpuProfArgs(opts.profile), CLI, 'sink', '--database-url', dbUrl,
    '--grpc-port', '0', '--http-port', '0', '--metrics-port', '0', '--log-level', 'info', ...(opts.extra ?? []),
  ];
  // The database comes from the flag only, not from the calling shell.
  const env = childEnv((k) => k === 'DATABASE_URL' || k.startsWith('PG'));
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const output = collectOutput(child, 512 * 1024);
  const ports = await awaitLine(child, {
    name: 'the sink',
    output,
    timeoutMs: START_TIMEOUT_MS,
    timeoutText: () => `the sink did not start within ${START_TIMEOUT_MS / 1000} s\n${output()}`,
    match: (line) => {
      let msg: { msg?: unknown; grpc?: unknown; metrics?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return undefined;
      }
      if (msg.msg !== 'otel-audit sink listening' || typeof msg.grpc !== 'string' || typeof msg.metrics !== 'string') return undefined;
      return { grpc: Number(msg.grpc.split(':').pop()), metrics: Number(msg.metrics.split(':').pop()) };
    },
  });
  return {
    child,
    grpcPort: ports.grpc,
    metricsPort: ports.metrics,
    output,
    stop: async () => {
      await stopChild(child, opts.profile ? STOP_GRACE_PROFILING_MS : STOP_GRACE_MS);
    },
  };
}
