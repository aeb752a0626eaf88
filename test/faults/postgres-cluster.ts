/**
 * Stopping and starting the local PostgreSQL cluster (`pg_ctlcluster`), for
 * the fault tests only: every test on this machine shares that server, so a
 * restart is kept short.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync } from 'node:fs';
import { adminQuery } from '../helpers/pg.js';
import { waitFor } from '../helpers/processes.js';

function postgresCluster(): { version: string; name: string } {
  const version = readdirSync('/etc/postgresql').sort().at(-1);
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql (pg_ctlcluster is needed to restart it)');
  return { version, name: 'main' };
}

/** Stop or start the cluster; asynchronous, so that the load and the processes of a test keep running meanwhile. */
export async function pgctl(action: 'stop' | 'start'): Promise<void> {
  const { version, name } = postgresCluster();
  const args = ['--skip-systemctl-redirect', version, name, action];
  if (action === 'stop') args.push('-m', 'fast');
  const { stdout, stderr } = await promisify(execFile)('pg_ctlcluster', args);
  process.stdout.write(stdout + stderr);
}

/** Stop the cluster, start it again after `downMs`, and wait until it answers. */
export async function restartPostgres(downMs = 0): Promise<void> {
  await pgctl('stop');
  try {
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
  } finally {
    await pgctl('start');
  }
  await waitFor(() => adminQuery('SELECT 1').then(() => true, () => undefined), 30_000, () => 'Postgres did not come back');
}
