/**
 * A Postgres cluster of a test's own, in a temporary directory on a free
 * port, that the test may stop and start (a business database restart)
 * without touching the server on 5432 that every other test shares.
 * initdb refuses to run as root: as root the cluster runs as `postgres`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, waitFor } from './processes.js';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** Connection URL of its `postgres` database (user postgres, trust auth). */
  readonly url: string;
  readonly port: number;
  /** Stop the server (`fast`: connections are terminated). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Start it again on the same port and wait until it answers. */
  start(): Promise<void>;
  /** Stop it and remove its directory. */
  destroy(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const asRoot = userInfo().uid === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  try {
    const { stdout, stderr } = await promisify(execFile)(file, argv, { timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

async function answers(url: string): Promise<true | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync('/tmp/otel-audit-pg-');
  if (userInfo().uid === 0) {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await run(join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async (): Promise<void> => {
    await run(join(BIN, 'pg_ctl'), [
      '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      'start',
    ]);
    await waitFor(() => answers(url), 30_000, () => `private Postgres on ${port} did not answer`);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await run(join(BIN, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
  };
  await start();
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
