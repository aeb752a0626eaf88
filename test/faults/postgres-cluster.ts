/**
 * Stopping and starting the local PostgreSQL cluster (`pg_ctlcluster`), for
 * the fault tests only: every test on this machine shares that server, so a
 * restart is kept short.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { adminQuery } from '../helpers/pg.js';
import { waitFor } from '../helpers/processes.js';

function postgresCluster(): { version: string; name: string } {
  const version = readdirSync('/etc/postgresql').sort().at(-1);
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql (pg_ctlcluster is needed to restart it)');
  return { version, name: 'main' };
}

export function pgctl(action: 'stop' | 'start'): void {
  const { version, name } = postgresCluster();
  const args = ['--skip-systemctl-redirect', version, name, action];
  if (action === 'stop') args.push('-m', 'fast');
  execFileSync('pg_ctlcluster', args, { stdio: 'inherit' });
}

/** Stop the cluster, start it again after `downMs`, and wait until it answers. */
export async function restartPostgres(downMs = 0): Promise<void> {
  pgctl('stop');
  try {
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
  } finally {
    pgctl('start');
  }
  await waitFor(() => adminQuery('SELECT 1').then(() => true, () => undefined), 30_000, () => 'Postgres did not come back');
}
