import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A port nobody listens on right now (the OS picks it; closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** A long-running child process whose output is kept for error messages. */
export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | string>;
  /** Signal (default SIGTERM) and wait until it is gone; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Resolves once the process is ready to serve (polled until `timeoutMs`). */
  ready: (output: string) => boolean | Promise<boolean>;
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawn a service and wait until `ready` says so; the error carries its output. */
export async function spawnService(name: string, cmd: string, args: string[], options: SpawnOptions): Promise<Service> {
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? REPO,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const service: Service = {
    name,
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (gone) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (gone) throw new Error(`${name} exited before it was ready:\n${out}`);
    if (await options.ready(out)) return service;
    if (Date.now() > deadline) {
      await service.stop('SIGKILL');
      throw new Error(`${name} was not ready in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True once an HTTP GET of `url` answers 200. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export interface SinkProcessOptions {
  databaseUrl: string;
  grpcPort: number;
  httpPort: number;
  metricsPort: number;
  env?: Record<string, string>;
}

/** `otel-audit sink` as its own process (the built CLI), ready once /readyz answers. */
export function startSinkProcess(name: string, o: SinkProcessOptions): Promise<Service> {
  return spawnService(
    name,
    process.execPath,
    [
      join(REPO, 'dist', 'cli.js'),
      'sink',
      '--grpc-port',
      String(o.grpcPort),
      '--http-port',
      String(o.httpPort),
      '--metrics-port',
      String(o.metricsPort),
      '--log-level',
      'warn',
    ],
    {
      env: { DATABASE_URL: o.databaseUrl, ...o.env },
      ready: () => httpOk(`http://127.0.0.1:${o.metricsPort}/readyz`),
    },
  );
}

/** Poll `check` until it returns a value other than undefined, or fail with `describe()`'s text. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, describe: () => string | Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
