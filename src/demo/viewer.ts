/**
 * The end of `otel-audit demo --serve`: the audit viewer on the demo's
 * database, with a token made for this run (role audit_auditor: every
 * tenant), until the demo is stopped.
 */
import type { Database } from '../db/database.js';
import { makeRunToken } from '../serve/run-token.js';
import { startServe } from '../serve/server.js';

/** Serve the viewer until signal aborts; says where to open it. */
export async function serveDemoViewer(db: Database, say: (line: string) => void, signal: AbortSignal | undefined): Promise<void> {
  const { token, spec } = makeRunToken('demo');
  const server = await startServe({
    db,
    host: '127.0.0.1',
    port: 0,
    tokens: [spec],
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
