/**
 * Starting the viewer: the token roles checked against the database and
 * their tenant grants brought in line, each request's role and timeout, and
 * the `otel-audit serve` command.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { asViewer } from '../../src/serve/access.js';
import { prepareTokenRoles } from '../../src/serve/grants.js';
import { toHttpError } from '../../src/serve/http-error.js';
import { TokenConfigError, tokenHash, type TokenSpec } from '../../src/serve/tokens.js';
import { REPO } from '../helpers/app-process.js';
import { adminQuery, createTestDatabase } from '../helpers/pg.js';

const suffix = randomBytes(4).toString('hex');
const READER = `t_start_reader_${suffix}`;
const AUDITOR = `t_start_auditor_${suffix}`;
const PLAIN = `t_start_plain_${suffix}`;
const LOGIN = `t_start_login_${suffix}`;

let database: { url: string; name: string; drop(): Promise<void> };
let owner: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  owner = await openDatabase({ url: database.url, env: {}, poolSize: 2 });
  await migrate(owner);
  await adminQuery(
    `CREATE ROLE ${READER} IN ROLE audit_reader; CREATE ROLE ${AUDITOR} IN ROLE audit_auditor; CREATE ROLE ${PLAIN};
     CREATE ROLE ${LOGIN} LOGIN; GRANT ${READER} TO ${LOGIN};`,
  );
});

afterAll(async () => {
  await owner?.close();
  await database?.drop();
  await adminQuery(`DROP ROLE IF EXISTS ${LOGIN}; DROP ROLE IF EXISTS ${READER}; DROP ROLE IF EXISTS ${AUDITOR}; DROP ROLE IF EXISTS ${PLAIN};`);
});

const token = (role: string, tenants?: string[]): TokenSpec => ({ name: `n-${role}`, sha256: tokenHash(role), role, ...(tenants ? { tenants } : {}) });

describe('token roles', () => {
  it('grants the listed tenants and revokes the others', async () => {
    await owner.query('SELECT audit.grant_tenant($1, $2)', [READER, 't-old']);
    const lines: string[] = [];
    const access = await prepareTokenRoles(owner, [token(READER, ['t-1', 't-2']), token(AUDITOR)], (l) => lines.push(l));
    expect(access.get(`n-${READER}`)).toEqual({ allTenants: false, tenants: ['t-1', 't-2'] });
    expect(access.get(`n-${AUDITOR}`)).toEqual({ allTenants: true, tenants: [] });
    const { rows } = await owner.query<{ t: string[] }>('SELECT audit.granted_tenants($1::name) AS t', [READER]);
    expect([...(rows[0]?.t ?? [])].sort()).toEqual(['t-1', 't-2']);
    expect(lines.join('\n')).toContain(READER);
  });

  it('refuses roles that are missing, not readers, or read every tenant yet list tenants', async () => {
    const cases: [TokenSpec, RegExp][] = [
      [token(`t_missing_${suffix}`), /does not exist/],
      [token(PLAIN), /neither in audit_reader/],
      [token(AUDITOR, ['t-1']), /reads every tenant/],
    ];
    for (const [t, message] of cases) await expect(prepareTokenRoles(owner, [t], () => undefined)).rejects.toThrow(message);
  });

  it('refuses to start when a login that may not grant finds other grants than the token lists', async () => {
    const login = await openDatabase({ url: database.url.replace('postgres@', `${LOGIN}@`), env: {}, poolSize: 1 });
    try {
      const err = await prepareTokenRoles(login, [token(READER, ['t-1', 't-9'])], () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenConfigError);
      expect((err as Error).message).toMatch(/granted tenants \[t-1, t-2\] but the token lists \[t-1, t-9\]/);
      // A role this login may not act as is refused too.
      await expect(prepareTokenRoles(login, [token(AUDITOR)], () => undefined)).rejects.toThrow(/may not act as it/);
    } finally {
      await login.close();
    }
  });
});

describe('requests', () => {
  it('run as the token role with the statement timeout', async () => {
    const viewer = { token: token(READER, ['t-1']), access: { allTenants: false, tenants: ['t-1'] } };
    const { rows } = await asViewer(owner, viewer, 1234, (tx) => tx.query<{ who: string; timeout: string }>("SELECT current_user AS who, current_setting('statement_timeout') AS timeout"));
    expect(rows[0]).toEqual({ who: READER, timeout: '1234ms' });
    // ... and only for that transaction.
    const after = await owner.query<{ who: string }>('SELECT current_user AS who');
    expect(after.rows[0]?.who).toBe('postgres');
  });

  it('a statement past the timeout is answered 503 with code timeout', async () => {
    const viewer = { token: token(READER, ['t-1']), access: { allTenants: false, tenants: ['t-1'] } };
    const err = await asViewer(owner, viewer, 50, (tx) => tx.query('SELECT pg_sleep(1)')).catch((e: unknown) => e);
    expect(toHttpError(err)).toMatchObject({ status: 503, code: 'timeout' });
  });
});

describe('otel-audit serve', () => {
  const cli = join(REPO, 'dist', 'cli.js');
  const run = (args: string[], env: Record<string, string>): { done: Promise<number>; out: () => string; err: () => string; kill: () => void } => {
    const child = spawn(process.execPath, [cli, 'serve', ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    return { done: new Promise((ok) => child.on('exit', (code) => ok(code ?? -1))), out: () => out, err: () => err, kill: () => child.kill('SIGTERM') };
  };

  it('answers --help and refuses to start without tokens', async () => {
    const help = run(['--help'], {});
    expect(await help.done).toBe(0);
    expect(help.out()).toContain('OTEL_AUDIT_SERVE_TOKENS');
    const none = run(['--database-url', database.url, '--port', '0'], {});
    expect(await none.done).toBe(1);
    expect(none.err()).toContain('no tokens');
    const bad = run(['--port', 'x'], {});
    expect(await bad.done).toBe(2);
    const ttl = run(['--export-ttl', '5m'], { OTEL_AUDIT_SERVE_TOKENS: JSON.stringify([{ name: 'a', token: '0123456789abcdef0123', role: 'audit_auditor' }]) });
    expect(await ttl.done).toBe(2);
    expect(ttl.err()).toContain('--export-ttl "5m" is not a duration like 24h, 7d or 2w');
  });

  it('serves with tokens from the environment until SIGTERM', async () => {
    const secret = `cli-token-${suffix}-0123456789`;
    const tokens = JSON.stringify([{ name: 'cli', token: secret, role: AUDITOR }]);
    const server = run(['--port', '0'], { DATABASE_URL: database.url, OTEL_AUDIT_SERVE_TOKENS: tokens });
    const deadline = Date.now() + 30_000;
    const listening = (): RegExpExecArray | null => /viewer and API at (http:\/\/\S+)\//.exec(server.out());
    while (!listening() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const m = listening();
    expect(m, server.err()).not.toBeNull();
    const url = (m as RegExpExecArray)[1] as string;
    const res = await fetch(`${url}/api/session`, { headers: { Authorization: `Bearer ${secret}` } });
    expect(await res.json()).toMatchObject({ name: 'cli', role: AUDITOR, allTenants: true });
    server.kill();
    expect(await server.done).toBe(0);
  });
});
