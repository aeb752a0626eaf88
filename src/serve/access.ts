/**
 * Every request of the viewer runs in a transaction of its own, as the
 * database role of its token (`SET LOCAL ROLE`): row-level security on
 * audit.records decides which tenants it sees. Statements are bounded by
 * statement_timeout, so the viewer's reads cannot hold the database for long.
 * Each search, view and export writes its `audit.view` (or `audit.export`)
 * record in the same transaction: a read whose record cannot be written is
 * not answered.
 */
import type { Database, Transaction } from '../db/database.js';
import type { RoleAccess } from './grants.js';
import type { TokenSpec } from './tokens.js';

/** Who is asking: the token and what its role reads. */
export interface Viewer {
  token: TokenSpec;
  access: RoleAccess;
}

/** A role name as an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Start a transaction as the viewer's role. SET statements (not
 * set_config in a SELECT): they take no snapshot, so a caller may still set
 * the isolation level afterwards, as the export does.
 */
async function enter(tx: Transaction, role: string, timeoutMs: number): Promise<void> {
  await tx.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
  await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
}

/** Run fn in one transaction as the viewer's role. */
export function asViewer<T>(db: Database, viewer: Viewer, timeoutMs: number, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await enter(tx, viewer.token.role, timeoutMs);
    return fn(tx);
  });
}

/**
 * The database as the viewer's role, for code written against a Database
 * (the export): each query and transaction runs as that role.
 */
export function viewerDatabase(db: Database, viewer: Viewer, timeoutMs: number): Database {
  return {
    kind: db.kind,
    description: db.description,
    query: (sql, params) => asViewer(db, viewer, timeoutMs, (tx) => tx.query(sql, params)),
    exec: (sql) => asViewer(db, viewer, timeoutMs, (tx) => tx.exec(sql)),
    transaction: (fn) => asViewer(db, viewer, timeoutMs, fn),
    // The viewer's database belongs to the server, which closes it.
    close: () => Promise.resolve(),
  };
}

export interface ViewRecord {
  /** What was looked at: `records` (a search), `record` (one record), `stats`. */
  resourceType: string;
  resourceId?: string | null;
  outcome?: 'success' | 'failure' | 'denied';
  /** What was asked for (filters included) and what came back. */
  attributes: Record<string, unknown>;
}

/** Write the `audit.view` record of a read, as the viewer, naming the token as actor. */
export async function recordView(tx: Transaction, viewer: Viewer, view: ViewRecord): Promise<void> {
  await tx.query("SELECT audit.log_operation('audit.view', $1, $2, $3, $4, $5::jsonb)", [
    viewer.token.name,
    view.resourceType,
    view.resourceId ?? null,
    view.outcome ?? 'success',
    JSON.stringify({ ...view.attributes, 'viewer.role': viewer.token.role }),
  ]);
}
