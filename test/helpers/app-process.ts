import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

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

/** Start a fixture app under the register hook and wait until it listens. */
export function startApp(fixture: string, options: StartAppOptions = {}): Promise<AppProcess> {
  const loader = options.loader ?? 'import';
  const args = loader === 'none' ? [] : [loader === 'import' ? '--import' : '--require', 'otel-audit/register'];
  args.push(join(FIXTURES, fixture));
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return new Promise<AppProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${fixture} did not start:\n${out}`));
    }, options.timeoutMs ?? 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          child,
          port,
          url: `http://127.0.0.1:${port}`,
          output: () => out,
          exited,
          stop: (signal: NodeJS.Signals = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${fixture} exited (${code}) before listening:\n${out}`));
    });
  });
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
