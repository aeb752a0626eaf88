/**
 * A benchmark app (bench/apps/) as a child process: node with the options
 * of a scenario (what it preloads with --import), on the port it announces.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type autocannon from 'autocannon';
import { collectOutput, cpuProfArgs, listeningPort, ROOT, track } from './proc.ts';

/** What the load sends to bench/apps/express-app.mjs, each connection in turn: 3 GET : 1 POST. */
export const EXPRESS_APP_REQUESTS: autocannon.Request[] = [
  { method: 'GET', path: '/users/7' },
  { method: 'GET', path: '/users/42' },
  { method: 'POST', path: '/users', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench user', role: 'user' }) },
  { method: 'GET', path: '/users/99' },
];

export interface AppProcess {
  child: ChildProcess;
  port: number;
  /** What it printed so far (stdout and stderr). */
  output: () => string;
}

export interface AppSpec {
  /** What errors call it. */
  label: string;
  /** The app's script. */
  script: string;
  /** Node options before the script, e.g. `--import otel-audit/register`. */
  nodeArgs: string[];
  /** Its whole environment (PORT=0 among it: it listens on an ephemeral port). */
  env: NodeJS.ProcessEnv;
  /** Write a CPU profile here on exit (node --cpu-prof). */
  profile?: string | undefined;
}

/** Starts the app from the repository's root and resolves once it prints `LISTENING <port>`. */
export async function startApp(spec: AppSpec): Promise<AppProcess> {
  const child = spawn(process.execPath, [...cpuProfArgs(spec.profile), ...spec.nodeArgs, spec.script], {
    cwd: ROOT,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const output = collectOutput(child);
  const port = await listeningPort(child, spec.label, output);
  return { child, port, output };
}
