import { afterAll, beforeAll } from 'vitest';
import { baseEnv, FIXTURES, startApp, tempDir, type AppProcess } from './app-process.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

/** The ES module and CommonJS apps of one framework, and the receiver they send to. */
export interface FrameworkApps {
  receiver: OtlpReceiver;
  esm: AppProcess;
  cjs: AppProcess;
}

/**
 * Starts `<name>-app.mjs` under `--import` and `<name>-app.cjs` under
 * `--require` (services `<name>-esm`, `<name>-cjs`, with
 * fixtures/audit-config.cjs) before the file's tests, and stops them after.
 */
export function useFrameworkApps(name: string, started: (apps: FrameworkApps) => void): void {
  let receiver: OtlpReceiver | undefined;
  let spool: { path: string; remove: () => void } | undefined;
  let apps: AppProcess[] = [];
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    spool = tempDir(name);
    const env = { ...baseEnv(receiver.endpoint, spool.path), OTEL_AUDIT_CONFIG: `${FIXTURES}audit-config.cjs` };
    apps = await Promise.all([
      startApp(`${name}-app.mjs`, { env: { ...env, OTEL_SERVICE_NAME: `${name}-esm` } }),
      startApp(`${name}-app.cjs`, { loader: 'require', env: { ...env, OTEL_SERVICE_NAME: `${name}-cjs` } }),
    ]);
    started({ receiver, esm: apps[0]!, cjs: apps[1]! });
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await receiver?.stop();
    spool?.remove();
  });
}
