/**
 * At start-up, each token's database role is checked: it exists, the
 * viewer's login may act as it, it reads audit.records through one of the
 * roles of migration 000006, and the tenants the database grants it are the
 * ones its token lists. Missing grants are added and extra ones revoked when
 * the login may (owner, audit_admin); otherwise the server refuses to start,
 * naming the difference, rather than show a token more or less than it says.
 */
import type { Queryable } from '../db/database.js';
import type { TokenSpec } from './tokens.js';
import { TokenConfigError } from './tokens.js';

/** What the database says about a token's role. */
export interface RoleAccess {
  /** Reads every tenant (superuser, BYPASSRLS, owner, audit_auditor, audit_admin). */
  allTenants: boolean;
  /** Tenants granted to it (empty when allTenants). */
  tenants: string[];
}

interface RoleRow {
  exists: boolean;
  may_act: boolean | null;
  all_tenants: boolean | null;
  reader: boolean | null;
}

async function roleFacts(db: Queryable, role: string): Promise<RoleRow> {
  const { rows } = await db.query<RoleRow>(
    `SELECT to_regrole($1) IS NOT NULL AS exists,
            CASE WHEN to_regrole($1) IS NOT NULL THEN pg_has_role(session_user, to_regrole($1), 'MEMBER') END AS may_act,
            CASE WHEN to_regrole($1) IS NOT NULL THEN audit.sees_all_tenants($1) END AS all_tenants,
            CASE WHEN to_regrole($1) IS NOT NULL THEN audit.member_of_any($1, ARRAY['audit_reader']) END AS reader`,
    [role],
  );
  return rows[0] as RoleRow;
}

async function grantedTenants(db: Queryable, role: string): Promise<string[]> {
  const { rows } = await db.query<{ t: string[] }>('SELECT audit.granted_tenants($1::name) AS t', [role]);
  return [...(rows[0]?.t ?? [])].sort();
}

/** Check every token's role and bring its tenant grants in line; returns what each role reads. */
export async function prepareTokenRoles(db: Queryable, tokens: readonly TokenSpec[], log: (line: string) => void): Promise<Map<string, RoleAccess>> {
  const access = new Map<string, RoleAccess>();
  for (const t of tokens) {
    const facts = await roleFacts(db, t.role);
    const who = `token "${t.name}": role "${t.role}"`;
    if (!facts.exists) throw new TokenConfigError(`${who} does not exist (create it, e.g. CREATE ROLE ${t.role} IN ROLE audit_reader)`);
    if (!facts.may_act) throw new TokenConfigError(`${who}: this login may not act as it (GRANT ${t.role} TO <the viewer's login>)`);
    if (facts.all_tenants) {
      if (t.tenants !== undefined) throw new TokenConfigError(`${who} reads every tenant: remove "tenants" or use a role in audit_reader`);
      access.set(t.name, { allTenants: true, tenants: [] });
      continue;
    }
    if (!facts.reader) throw new TokenConfigError(`${who} is neither in audit_reader nor reads every tenant (audit_auditor, audit_admin)`);
    const wanted = [...(t.tenants ?? [])].sort();
    let granted = await grantedTenants(db, t.role);
    if (!sameList(granted, wanted)) {
      await syncGrants(db, t.role, granted, wanted).catch((err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code !== '42501') throw err; // insufficient_privilege: reported below
      });
      granted = await grantedTenants(db, t.role);
      if (!sameList(granted, wanted)) {
        throw new TokenConfigError(
          `${who} is granted tenants [${granted.join(', ')}] but the token lists [${wanted.join(', ')}]; ` +
            'run audit.grant_tenant / audit.revoke_tenant as audit_admin (or start the viewer as a login that may)',
        );
      }
      log(`token "${t.name}": granted role ${t.role} tenants [${wanted.join(', ')}]`);
    }
    access.set(t.name, { allTenants: false, tenants: granted });
  }
  return access;
}

async function syncGrants(db: Queryable, role: string, granted: readonly string[], wanted: readonly string[]): Promise<void> {
  for (const tenant of wanted) if (!granted.includes(tenant)) await db.query('SELECT audit.grant_tenant($1, $2)', [role, tenant]);
  for (const tenant of granted) if (!wanted.includes(tenant)) await db.query('SELECT audit.revoke_tenant($1, $2)', [role, tenant]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
