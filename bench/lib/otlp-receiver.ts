/**
 * The benchmarks' OTLP/gRPC receiver (bench/otlp-sink.ts) as a child
 * process: start it, ask what it counted, wait until the counts settle, stop
 * it.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SinkStats } from '../otlp-sink.ts';
import { BENCH_DIR, collectOutput, listeningPort, ROOT, stopChild, track } from './proc.ts';

const RECEIVER = join(BENCH_DIR, 'otlp-sink.ts');
const STOP_GRACE_MS = 2_000;
/** How often, and how long at most, settle() asks for the counts. */
const SETTLE_POLL_MS = 250;
const SETTLE_MAX_MS = 20_000;
/** Counts unchanged this long: the exporters are done. */
const QUIET_MS = 1_000;
/** Counts unchanged this long although fewer audit records than expected arrived: none are coming. */
const QUIET_SHORT_MS = 3_000;

export type { SinkStats };

export interface OtlpReceiver {
  port: number;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

/** Starts the receiver; `window` is its HTTP/2 flow-control window, bytes (default: its own). */
export async function startReceiver(window: number | undefined): Promise<OtlpReceiver> {
  const child = fork(RECEIVER, window === undefined ? [] : ['--window', String(window)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  track(child);
  const output = collectOutput(child);
  const port = await listeningPort(child, 'OTLP sink', output);
  let queue: Promise<unknown> = Promise.resolve();
  const ask = (): Promise<SinkStats> =>
    new Promise<SinkStats>((resolveStats, reject) => {
      const onMessage = (msg: unknown): void => {
        if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'stats') {
          child.off('exit', onExit);
          child.off('message', onMessage);
          resolveStats((msg as { stats: SinkStats }).stats);
        }
      };
      const onExit = (): void => {
        child.off('message', onMessage);
        reject(new Error(`OTLP sink exited\n${output()}`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type: 'stats' });
    });
  return {
    port,
    stats() {
      // One question at a time: answers carry no id.
      const next = queue.then(ask, ask);
      queue = next.catch(() => undefined);
      return next;
    },
    async stop() {
      await stopChild(child, STOP_GRACE_MS);
    },
  };
}

/**
 * Waits until the receiver's counts stop growing: when audit records are
 * expected, until at least `expectAudit` arrived and nothing changed for 1 s
 * (or nothing changed for 3 s), else 1 s of quiet; at most 20 s.
 */
export async function settle(receiver: OtlpReceiver, expectAudit: number | undefined): Promise<SinkStats> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let last = await receiver.stats();
  let quietSince = Date.now();
  for (;;) {
    await sleep(SETTLE_POLL_MS);
    const s = await receiver.stats();
    if (s.auditRecords !== last.auditRecords || s.spans !== last.spans) quietSince = Date.now();
    last = s;
    const quiet = Date.now() - quietSince;
    if (expectAudit === undefined ? quiet >= QUIET_MS : (s.auditRecords >= expectAudit && quiet >= QUIET_MS) || quiet >= QUIET_SHORT_MS) {
      return s;
    }
    if (Date.now() >= deadline) return s;
  }
}
