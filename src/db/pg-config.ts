/**
 * Postgres connection settings from the environment, as libpq reads them
 * (`PG*` variables and the connection service file), and descriptions of a
 * connection for logs that never show a password.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';

/** The variables whose presence selects a Postgres server over the embedded database. */
export const PG_SELECTORS = ['PGHOST', 'PGDATABASE', 'PGUSER', 'PGPORT', 'PGSERVICE'] as const;

const DEFAULT_HOST = 'localhost';
const DEFAULT_PORT = 5432;

/** An environment value, with the empty string read as unset. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Postgres connection settings from libpq's variables (and `PGSERVICE`'s service file). */
export function pgConfigFromEnv(env: Record<string, string | undefined>): pg.PoolConfig {
  const service = nonEmpty(env.PGSERVICE);
  const fromService = service === undefined ? {} : readServiceFile(service, env);
  // libpq: service file entries win over the environment.
  const get = (key: string, variable: string): string | undefined => fromService[key] ?? nonEmpty(env[variable]);
  const config: pg.PoolConfig = {};
  const host = get('host', 'PGHOST') ?? fromService.hostaddr ?? nonEmpty(env.PGHOSTADDR);
  if (host !== undefined) config.host = host;
  const port = get('port', 'PGPORT');
  if (port !== undefined) config.port = Number(port);
  const user = get('user', 'PGUSER');
  if (user !== undefined) config.user = user;
  const password = get('password', 'PGPASSWORD');
  if (password !== undefined) config.password = password;
  const database = get('dbname', 'PGDATABASE');
  if (database !== undefined) config.database = database;
  const appName = get('application_name', 'PGAPPNAME');
  if (appName !== undefined) config.application_name = appName;
  const pgOptions = get('options', 'PGOPTIONS');
  if (pgOptions !== undefined) config.options = pgOptions;
  const sslmode = get('sslmode', 'PGSSLMODE');
  if (sslmode !== undefined) {
    // As pg reads PGSSLMODE: verification happens for every mode that asks for TLS.
    config.ssl = sslmode === 'disable' || sslmode === 'allow' ? false : sslmode === 'no-verify' ? { rejectUnauthorized: false } : true;
  }
  return config;
}

/**
 * The `[service]` section of the connection service file: `PGSERVICEFILE`,
 * else `~/.pg_service.conf`, else `$PGSYSCONFDIR/pg_service.conf` (libpq's
 * search order). pg itself does not read service files.
 */
function readServiceFile(service: string, env: Record<string, string | undefined>): Record<string, string> {
  const candidates = [
    nonEmpty(env.PGSERVICEFILE),
    join(nonEmpty(env.HOME) ?? homedir(), '.pg_service.conf'),
    nonEmpty(env.PGSYSCONFDIR) === undefined ? undefined : join(env.PGSYSCONFDIR ?? '', 'pg_service.conf'),
  ];
  for (const file of candidates) {
    if (file === undefined) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const section = parseServiceSection(text, service);
    if (section !== undefined) return section;
  }
  throw new Error(`otel-audit: PGSERVICE=${service}: no such service in ${candidates.filter(Boolean).join(', ')}`);
}

function parseServiceSection(text: string, service: string): Record<string, string> | undefined {
  let current: string | undefined;
  let found: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1];
      if (current === service) found ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (current === service && found && eq > 0) {
      found[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
  }
  return found;
}

/** `postgres://user@host:port/db`: the URL without password or query string. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    const socketHost = u.searchParams.get('host');
    const host = u.host || (socketHost ?? '');
    return `${u.protocol}//${user}${host}${u.pathname}`;
  } catch {
    return 'postgres (connection URL not shown)';
  }
}

export function describeConfig(config: pg.PoolConfig): string {
  const user = config.user ?? process.env.USER ?? '';
  const host = config.host ?? DEFAULT_HOST;
  const port = config.port ?? DEFAULT_PORT;
  const database = config.database ?? user;
  return `postgres://${user ? `${user}@` : ''}${host}:${port}/${database} (from PG* variables)`;
}
