/**
 * The end of `otel-audit demo --serve`: the audit viewer on the demo's
 * database, with a token made for this run (role audit_auditor: every
 * tenant), until the demo is stopped.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { startServe } from '../serve/server.js';
import { tokenHash } from '../serve/tokens.js';

/** The role of the demo's token: it reads every tenant. */
export const DEMO_VIEWER_ROLE = 'audit_auditor';

/** Serve the viewer until signal aborts; says where to open it. */
export async function serveDemoViewer(db: Database, say: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  const server = await startServe({
    db,
    host: '127.0.0.1',
    port: 0,
    tokens: [{ name: 'demo', sha256: tokenHash(token), role: DEMO_VIEWER_ROLE }],
    log: (line) => say(`  viewer: ${line}`),
  });
  try {
    say(`Audit viewer: open ${server.url}/#token=${token}`);
    say('  (every search and view there is itself audited; Ctrl-C stops the viewer and the demo)');
    if (!signal) return;
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    await server.close();
  }
}
