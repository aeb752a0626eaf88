import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Database } from '../db/database.js';
import { schemaStatus } from '../db/migrate.js';
import { bearerMatches } from './auth.js';
import { listen, type Listening } from './listen.js';
import type { SinkMetrics } from './metrics.js';

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Required bearer token on `/metrics`, if any (`/healthz` and `/readyz` stay open). */
  metricsToken: string | undefined;
  metrics: SinkMetrics;
  /** `/readyz` answers ready when this database has no migration pending. */
  db: Database;
  /** Called on each authorised `/metrics` scrape before the figures are read; must not wait. */
  onScrape: () => void;
}

/** The running `/metrics`, `/healthz`, `/readyz` server; closing it drops open connections. */
export type HealthServer = Listening;

/** Serve Prometheus `/metrics`, liveness `/healthz` and readiness `/readyz` over plain HTTP. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { metrics, db, metricsToken } = options;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      if (metricsToken !== undefined && !bearerMatches(req.headers.authorization, metricsToken)) {
        res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
        res.end('missing or wrong bearer token\n');
        return;
      }
      options.onScrape();
      metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics failed: ${(err as Error).message}\n`);
        });
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    } else if (path === '/readyz') {
      schemaStatus(db)
        .then((s) => {
          const ready = s.pending === 0;
          res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
          res.end(ready ? 'ready\n' : `migrations pending: ${s.pending}\n`);
        })
        .catch((err: unknown) => {
          res.writeHead(503, { 'content-type': 'text/plain' });
          res.end(`database unreachable: ${(err as Error).message}\n`);
        });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: try /metrics, /healthz, /readyz\n');
    }
  });
  return listen(server, options.port, options.host, 'all');
}
