/**
 * `otel-audit serve`: one HTTP server with the JSON API (api.ts) and the
 * viewer's page, on a database connection pool of its own. Every `/api/`
 * request needs a bearer token; the page itself holds no data.
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { packagePath } from '../assets.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { checkKek } from '../crypto/subject-keys.js';
import type { Viewer } from './access.js';
import { createExport, listRecords, session, showRecord, stats, type ApiContext } from './api.js';
import { ExportFiles } from './export-files.js';
import { prepareTokenRoles } from './grants.js';
import { HttpError, toHttpError } from './http-error.js';
import { startRollUp } from './roll-up.js';
import { authenticate, TokenConfigError } from './tokens.js';
import { checkTraceTemplate } from './trace-link.js';
import { SERVE_DEFAULTS, type ServeOptions } from './types.js';

export interface ServeServer {
  /** The port it listens on (the one picked when asked for 0). */
  port: number;
  /** `http://host:port`. */
  url: string;
  exportDir: string;
  db: Database;
  close(): Promise<void>;
}

/** The viewer's files and their content types. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/viewer.js': { file: 'viewer.js', type: 'text/javascript; charset=utf-8' },
  '/viewer.css': { file: 'viewer.css', type: 'text/css; charset=utf-8' },
};

/** Same origin only; no inline script, no framing; links to the APM leave no referrer. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

export async function startServe(options: ServeOptions): Promise<ServeServer> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`otel-audit serve: ${line}\n`));
  if (options.tokens.length === 0) throw new TokenConfigError('no tokens: give --tokens FILE or OTEL_AUDIT_SERVE_TOKENS (see --help)');
  if (options.traceUrl !== undefined) checkTraceTemplate(options.traceUrl);
  const ownDb = options.db === undefined;
  const db =
    options.db ??
    (await openDatabase({
      ...(options.databaseUrl !== undefined ? { url: options.databaseUrl } : {}),
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.env ? { env: options.env } : {}),
      poolSize: options.poolSize ?? SERVE_DEFAULTS.poolSize,
      holder: { name: 'otel-audit serve', hint: 'it serves the query API and the viewer on it: read the rows there' },
      onError: (err) => log(`database connection error: ${err.message}`),
    }));
  try {
    if (options.migrate !== false) await migrate(db);
    const access = await prepareTokenRoles(db, options.tokens, log);
    // A key that does not unwrap the stored keys is refused at start, as by the sink.
    if (options.kek) await checkKek(db, options.kek);
    const decrypting = options.tokens.filter((t) => t.decrypt === true).map((t) => t.name);
    if (decrypting.length > 0 && !options.kek) log(`tokens with "decrypt" (${decrypting.join(', ')}) see encrypted fields as encrypted: no --encryption-key-file given`);
    // A temporary export directory is the server's own: removed when it stops (the files were downloaded).
    const tempExports = options.exportDir === undefined;
    const exportDir = tempExports ? await mkdtemp(join(tmpdir(), 'otel-audit-exports-')) : resolve(options.exportDir as string);
    await mkdir(exportDir, { recursive: true, mode: 0o700 });
    const ctx: ApiContext = {
      db,
      statementTimeoutMs: options.statementTimeoutMs ?? SERVE_DEFAULTS.statementTimeoutMs,
      exportStatementTimeoutMs: options.exportStatementTimeoutMs ?? SERVE_DEFAULTS.exportStatementTimeoutMs,
      traceUrl: options.traceUrl,
      exportDir,
      kek: options.kek,
    };
    const assetsDir = options.assetsDir ?? packagePath('dist', 'viewer');
    const exportFiles = new ExportFiles(exportDir, options.exportTtlMs ?? SERVE_DEFAULTS.exportTtlMs, log);

    const viewerOf = (req: IncomingMessage): Viewer => {
      const token = authenticate(req.headers.authorization, options.tokens);
      if (!token) throw new HttpError(401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
      return { token, access: access.get(token.name) ?? { allTenants: false, tenants: [] } };
    };

    const api = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
      const viewer = viewerOf(req);
      const path = url.pathname;
      const params = url.searchParams;
      const get = req.method === 'GET' || req.method === 'HEAD';
      if (path === '/api/session' && get) return sendJson(res, 200, await session(ctx, viewer));
      if (path === '/api/records' && get) return sendJson(res, 200, await listRecords(ctx, viewer, params));
      if (path === '/api/stats' && get) return sendJson(res, 200, await stats(ctx, viewer, params));
      const record = /^\/api\/records\/([^/]+)$/.exec(path);
      if (record && get) return sendJson(res, 200, await showRecord(ctx, viewer, record[1] as string));
      if (path === '/api/exports' && req.method === 'POST') {
        const made = await createExport(ctx, viewer, params);
        exportFiles.add([made.file, made.manifestFile], viewer.token.name);
        return sendJson(res, 201, { ...made, download: `/api/exports/${made.file}`, manifestDownload: `/api/exports/${made.manifestFile}` });
      }
      const file = /^\/api\/exports\/([^/]+)$/.exec(path);
      if (file && get) {
        const name = file[1] as string;
        if (!exportFiles.ownedBy(name, viewer.token.name)) throw new HttpError(404, 'not_found', 'no such export (or expired)');
        return sendFile(res, join(exportDir, name), name.endsWith('.json') ? 'application/json' : 'application/octet-stream', name);
      }
      throw new HttpError(404, 'not_found', `no route ${req.method ?? ''} ${path}`);
    };

    const server = createServer((req, res) => {
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      const url = new URL(req.url ?? '/', 'http://viewer');
      const handle = async (): Promise<void> => {
        if (url.pathname.startsWith('/api/')) {
          res.setHeader('Cache-Control', 'no-store');
          return api(req, res, url);
        }
        const asset = ASSETS[url.pathname];
        if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) throw new HttpError(404, 'not_found', 'not found');
        return sendFile(res, join(assetsDir, asset.file), asset.type);
      };
      handle().catch((err: unknown) => {
        const e = toHttpError(err);
        if (e.status >= 500 && !(err instanceof HttpError)) log(`${req.method ?? ''} ${url.pathname}: ${(err as Error).message}`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      });
    });
    // A client that stops reading half-way must not keep a handler and its transaction alive.
    server.requestTimeout = 120_000;
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? SERVE_DEFAULTS.port, options.host ?? SERVE_DEFAULTS.host, () => {
        server.removeListener('error', fail);
        ok();
      });
    });
    const rollUp = startRollUp(db, log);
    exportFiles.start();
    const { port, address } = server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    let closing: Promise<void> | undefined;
    return {
      port,
      url: `http://${host}:${port}`,
      exportDir,
      db,
      close() {
        closing ??= new Promise<void>((ok) => {
          server.close(() => ok());
          server.closeAllConnections();
        })
          .then(() => {
            exportFiles.stop();
            return rollUp.stop();
          })
          .then(() => (tempExports ? rm(exportDir, { recursive: true, force: true }) : undefined))
          .then(() => (ownDb ? db.close() : undefined));
        return closing;
      },
    };
  } catch (err) {
    if (ownDb) await db.close().catch(() => undefined);
    throw err;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function sendFile(res: ServerResponse, path: string, type: string, downloadName?: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    // The page's files are built by `npm run build`: say so instead of a bare 404.
    const built = path.includes(join('dist', 'viewer')) ? ' (run "npm run build": the viewer is built into dist/viewer)' : '';
    throw new HttpError(404, 'not_found', `not found${built}`);
  }
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': info.size,
    ...(downloadName ? { 'Content-Disposition': `attachment; filename="${downloadName}"` } : {}),
  });
  await new Promise<void>((ok, fail) => {
    createReadStream(path).on('error', fail).pipe(res).on('finish', ok).on('error', fail);
  });
}
