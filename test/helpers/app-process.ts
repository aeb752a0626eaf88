import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService } from './processes.js';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export { REPO } from './processes.js';

export interface AppProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly url: string;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface StartAppOptions {
  /** How the register hook is loaded. Default `import`. */
  loader?: 'import' | 'require' | 'none';
  env?: Record<string, string>;
  /** Give up waiting for `LISTENING <port>` after this long. */
  timeoutMs?: number;
}

/** Environment every fixture gets: fast export, nothing reaching out beyond the test's receiver. */
export function baseEnv(endpoint: string, spoolDir: string): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'fixture-service',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_AUDIT_EXPORT_DELAY_MS: '20',
    OTEL_AUDIT_GRACE_MS: '100',
    OTEL_AUDIT_RETRY_INITIAL_MS: '100',
    OTEL_AUDIT_RETRY_MAX_MS: '500',
    OTEL_AUDIT_SPOOL_DIR: spoolDir,
    OTEL_LOG_LEVEL: 'warn',
  };
}

/** A temporary directory removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `otel-audit-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Start a fixture app under the register hook and wait until it prints `LISTENING <port>`. */
export async function startApp(fixture: string, options: StartAppOptions = {}): Promise<AppProcess> {
  const loader = options.loader ?? 'import';
  const args = loader === 'none' ? [] : [loader === 'import' ? '--import' : '--require', 'otel-audit/register'];
  args.push(join(FIXTURES, fixture));
  const listening = (out: string): number | undefined => {
    const m = /LISTENING (\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  const service = await spawnService(fixture, process.execPath, args, {
    env: { PORT: '0', ...options.env },
    ready: (out) => listening(out) !== undefined,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const port = listening(service.output()) as number;
  return {
    child: service.child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: service.output,
    exited: service.exited,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => service.stop(signal),
  };
}

/** JSON request helper. */
export async function request(
  base: string,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** A JWT-shaped bearer token (unsigned: the SDK decodes, the app verifies). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.sig`;
}
